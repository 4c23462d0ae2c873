"""Running the suite: the run folder (context), the notebook registry, the runner and the command line (cli; init_config drafts a config for ``ecrm init``)."""
