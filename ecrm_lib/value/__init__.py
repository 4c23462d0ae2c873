"""Pillar 2, customer value: per-customer summaries, purchase and spend models, CLV, churn."""
