"""Seeded generator of the embedded default data: a Korean multichannel retailer.

:func:`generate` writes, into one folder, source files in the shape of the
canonical tables of :mod:`ecrm_lib.core.schema` (``accounts``, ``transactions``,
``contacts``, ``channel_costs``, ``feedback``, ``campaigns``), a
``config.yaml`` mapping them, and the truth the suite's methods are later
tested against (``truth/``).

The generative story, one person at a time (all draws vectorised):

- **Who.** A person has a Korean name (family name and given name drawn from
  realistic frequency lists), a mobile number, one or two e-mail addresses and
  a 5-digit postcode, and holds 1-4 accounts in distinct channels (store,
  phone = call centre, mail = catalogue, email, web, app). Each channel writes
  the identifiers its own way (case and spaces of e-mails, phone formats,
  names with a space, in Unicode NFD, romanised on the web) or not at all.
  Every non-primary account shares a strong identifier (e-mail or mobile after
  normalisation) with the person's primary account, or else name and postcode,
  except a few offline accounts that carry only the name (unlinkable).
  Traps at small rates: placeholder e-mails, the store's and the call centre's
  own numbers typed into unrelated accounts, two-person households sharing a
  landline, family name and postcode, accounts without identifiers, names in
  mixed scripts, postcodes that lost their leading zero, old addresses.
- **Buying.** BG/NBD per person in continuous time, unit **weeks**: the first
  purchase falls uniformly in the first part of the window; repeat purchases
  follow a Poisson process of rate ``lambda ~ Gamma(shape r, rate alpha)``;
  after each repeat purchase the person drops out with probability
  ``p ~ Beta(a, b)``. Spend per purchase follows Gamma-Gamma:
  ``nu ~ Gamma(shape q, rate gamma)``, ``z ~ Gamma(shape p, rate nu)`` in KRW,
  so a person's mean spend is ``p / nu`` and its population mean
  ``p * gamma / (q - 1)``. Amounts are rounded to 10 KRW; each purchase is
  written to one of the person's accounts at a local hour typical of that
  channel. Refunds (negative rows) and exact duplicate rows are added on top
  and counted; they are not part of the BG/NBD process.
- **Contacts.** Inbound service contacts at a rate that grows with the
  person's purchase rate, follow-ups after purchases, outbound marketing;
  purposes depend on a latent satisfaction (complaints); a segment of night
  owls uses only internet channels, mostly at night; some same-purpose
  contacts through two channels within two days (channel conflicts).
- **Feedback.** NPS answers (0-10) from the latent satisfaction and the
  person's complaints, with short Korean (some English) texts from templates
  by topic and sentiment.
- **Campaign.** One randomised coupon campaign on eligible persons' primary
  accounts, 50/50 treatment/control, with a heterogeneous true effect that is
  larger for recent and frequent buyers; the truth holds the sample and
  population average effects, and every row's true effect
  (``truth/campaign_effects.csv``). An earlier run of the same coupon (300
  days before the end, on its own random stream) gives a run at the config's
  ``history_as_of`` a campaign history of its own.

Timestamps are naive local times (Asia/Seoul) written ``YYYY-MM-DD HH:MM:SS`` (Parquet: naive timestamps).
Only generators spawned from ``numpy.random.SeedSequence(seed)`` are used,
rows are sorted on integer keys and floats are written with fixed formats, so
the same arguments give byte-identical files.

**At scale.** Persons are drawn and written in chunks (250,000 persons by
default, ``chunk_persons``), each from its own streams derived from the seed
and the chunk's index, so memory stays bounded (about 1 GB per chunk) and ten
million persons fit in a few GB. A generation within one chunk, such as the
default data, is written exactly as before chunks existed.

Modules
-------
- :mod:`~ecrm_lib.data.synth.chunks`: :func:`generate` and the chunk loop.
- :mod:`~ecrm_lib.data.synth.params`: :class:`SynthParams`.
- :mod:`~ecrm_lib.data.synth.reference`: channels, names, regions, formats, hours, purposes, costs.
- :mod:`~ecrm_lib.data.synth.arrays`: small vectorised helpers and the observation window.
- :mod:`~ecrm_lib.data.synth.persons`: persons, their identifiers and BG/NBD process.
- :mod:`~ecrm_lib.data.synth.accounts`: accounts, identifiers per channel, traps, ids.
- :mod:`~ecrm_lib.data.synth.activity`: transactions and contacts.
- :mod:`~ecrm_lib.data.synth.feedback`: NPS answers and texts.
- :mod:`~ecrm_lib.data.synth.campaign`: the randomised campaign and its true effect.
- :mod:`~ecrm_lib.data.synth.output`: table writers (CSV, Parquet), config.yaml.
- :mod:`~ecrm_lib.data.synth.truth`: ``truth/truth.json`` and :func:`read_truth`.

Examples
--------
>>> import tempfile
>>> from ecrm_lib.data.synth import generate
>>> with tempfile.TemporaryDirectory() as folder:
...     info = generate(folder, n_persons=200, seed=1)
>>> info["rows"]["accounts"] == info["truth"]["counts"]["accounts"]
True
>>> info["truth"]["btyd"]["time_unit"]
'weeks'
"""

from ecrm_lib.data.synth.chunks import DEFAULT_CHUNK_PERSONS, DEFAULT_DATA_LANGUAGES, generate
from ecrm_lib.data.synth.feedback import SENTIMENTS, TOPICS
from ecrm_lib.data.synth.params import SynthParams
from ecrm_lib.data.synth.reference import (
    CALL_CENTRE_PHONE,
    CHANNELS,
    PLACEHOLDER_EMAILS,
    PURPOSES,
    STORE_PHONE,
    TRUTH_DIR,
)
from ecrm_lib.data.synth.truth import read_truth

__all__ = [
    "SynthParams",
    "generate",
    "read_truth",
    "DEFAULT_CHUNK_PERSONS",
    "DEFAULT_DATA_LANGUAGES",
    "CHANNELS",
    "PURPOSES",
    "TOPICS",
    "SENTIMENTS",
    "PLACEHOLDER_EMAILS",
    "STORE_PHONE",
    "CALL_CENTRE_PHONE",
    "TRUTH_DIR",
]
