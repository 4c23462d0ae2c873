"""Pillar 1, channel integration: one customer across channel accounts, channel mix, cost, reach, conflicts."""
