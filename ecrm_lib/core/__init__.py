"""Foundations every other part builds on: errors, paths, the data model (schema), the config."""
