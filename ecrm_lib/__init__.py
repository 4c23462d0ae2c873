"""ecrm_lib: the helper library behind the eCRM notebook suite.

Modules, imports flowing one way:
``paths, errors -> schema -> config -> sources (reading, mapping, validation)
-> context (what a notebook sees of a run) -> overview / (identity, features,
models, seef: later) -> report, plots -> registry, runner, cli``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
