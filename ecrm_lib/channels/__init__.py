"""Pillar 1, channel integration: one customer across channel accounts, and what each channel carries, costs and reaches.

- :mod:`~ecrm_lib.channels.normalize`, :mod:`~ecrm_lib.channels.identity`:
  accounts joined into pseudonymous customers (the ``account_map``);
- :mod:`~ecrm_lib.channels.customers`: tables re-keyed from accounts to customers;
- :mod:`~ecrm_lib.channels.common`: channel groups, the analysis window,
  each row's customer and channel, the channels a customer is known in;
- :mod:`~ecrm_lib.channels.integration`: what integration changes (accounts
  versus customers, purchases per account and per customer, accuracy);
- :mod:`~ecrm_lib.channels.mix`: channel mix and migration online;
- :mod:`~ecrm_lib.channels.cost`: cost to serve and the cheaper-channel what-if;
- :mod:`~ecrm_lib.channels.reach`: off-hours and internet-only reach;
- :mod:`~ecrm_lib.channels.conflicts`: one matter through two channels,
  channels that disagree on contact details;
- :mod:`~ecrm_lib.channels.profile`: the per-customer ``customer_channels`` product;
- :mod:`~ecrm_lib.channels.datasets`: adapters for the iFood and Olist data.

Every function takes canonical tables as Ibis tables on the run's engine (or
DataFrames) and brings only aggregates or per-customer results into pandas.
"""
