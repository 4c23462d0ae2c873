"""Pillar 3, the SEEF process: segments, selection, evaluation, expansion, feedback and the loop across runs."""
