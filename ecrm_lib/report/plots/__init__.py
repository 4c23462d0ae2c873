"""Figures of every report, one module per area over a shared base (theme, axes, labels)."""
