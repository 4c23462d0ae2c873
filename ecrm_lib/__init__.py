"""ecrm_lib: the helper library behind the eCRM notebook suite.

The house, one sub-package per concern; imports flow one way, from the ground up::

    core      errors, paths, dates, intervals, YAML, schema, config, formatting, languages and
              messages, privacy rules, progress               (imports nothing of the suite)
    data      the engine (DuckDB / Spark), reading, mapping, converting and validating sources
              into canonical tables, the data overview, the generator        (-> core)
    channels  pillar 1: identity resolution, channel mix, cost to serve, reach, conflicts
    value     pillar 2: per-customer summaries, purchase and spend models, CLV, churn
    seef      pillar 3: segments, selection, evaluation, expansion, campaigns, feedback, the loop
              (channels -> value -> seef, each -> data, core)
    report    what a reader sees: safe display, figures (report.plots), pages, glossary, the
              executive summary's headlines, trends and actions              (-> pillars)
    run       the run folder (RunContext), the notebook registry, executing and publishing, the
              run's Spark Connect server (run.spark_server), the CLI

Notebooks (``notebooks/``) sit on top and call down. Only ``run`` knows the run
folder: library functions take tables (Ibis or pandas) and plain parameters.

Where to change what:

==========================  ==========================================================================
a new notebook              ``notebooks/NN_name.ipynb`` (parameters cell tagged ``parameters``, then one
                            step per cell) and its entry in ``notebooks/registry.yaml``
a new metric                its key, meaning and unit under the notebook's ``metrics:`` in the registry
                            (the one catalogue), then ``ctx.record_metric(key, value)``
a new source format         ``data/read.py`` (reading into the engine), ``core/config.py`` (its keys)
a new model                 the pillar's module (e.g. ``value/btyd.py`` for a purchase model), its figure
                            in ``report/plots/<area>.py``, a test against published values
a sentence on a page        its key in ``ecrm_lib/messages/en.yaml`` and ``ko.yaml`` (or an area's own file,
                            ``messages/en/<area>.yaml`` and ``messages/ko/<area>.yaml``)
==========================  ==========================================================================
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
