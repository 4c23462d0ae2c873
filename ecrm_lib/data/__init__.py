"""Reading sources into validated canonical tables; the data overview; the default-data generator."""
