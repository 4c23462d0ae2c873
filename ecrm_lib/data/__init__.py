"""Reading sources into validated canonical tables; the engine and table helpers (engine, tables); the data overview; the default-data generator; sniffing a user's file (sniff, for ``ecrm init``)."""
