"""Pillar 3, the SEEF process: Selection, Evaluation, Expansion and Feedback, and the loop across runs.

Where what lives:

=================  ==========================================================================
the steps          ``selection`` (the notebook's steps: feedback weights applied, targets, products)
                   over ``rule`` (a rule's targets and their reasons),
                   ``evaluation`` (value share, concentration, profitability, profile, changes),
                   ``expansion`` (look-alike model, ranked list, value of adding them)
shared by them     ``customers`` (the per-customer table), ``contact`` (channel costs,
                   cheapest channel, value bar), ``rfm`` (RFM scores and named segments),
                   ``clusters`` (k-means, k chosen, profiled and named), ``weights``
                   (feedback weights), ``scale`` (fit samples, batches, threads)
Feedback           ``campaigns`` (campaign rows and attributes, from the engine), ``uplift``
                   (uplift, sample-ratio check, by segment), ``uplift_models`` (models, Qini),
                   ``satisfaction`` (NPS, CSAT, changes), ``text`` (texts analysed, report
                   tables) over ``tokens``, ``tone`` and ``topics``
by profit          ``profit`` (cross-fitted uplift of response and revenue, value, profit per
                   customer and channel, targets under a budget), ``profit_eval`` (held-out
                   gain in money, uplift curves, cut-off, split evaluation), ``profit_select``
                   (the run's campaign -> every customer scored -> targets, compared)
the loop           ``loop`` (earlier targets followed up, campaign response by earlier
                   segment), ``matching`` (comparable non-targets, outcome differences)
engine plumbing    ``tables``
=================  ==========================================================================

Functions take tables (Ibis tables for transaction-, contact-, campaign- and
feedback-level data, DataFrames for per-customer products) and plain
parameters; they never read the run folder (the notebooks do, through
:class:`ecrm_lib.run.context.RunContext`).
"""
