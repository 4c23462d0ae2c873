"""Running the suite: the run folder (context), the notebook registry, the runner and the command line."""
