"""The market domain: pure Python, no I/O, no clock reads; imports nothing of tickerplant
outside ``market/``.

The modules here are the vocabulary every subpackage shares: ``units`` (exact decimals and
milliseconds), ``instruments`` (the catalogue), ``updates`` (what a source tells the plant),
``messages`` (what the plant hands on) and ``demand`` (which streams somebody takes).

The subpackages, innermost first; each imports only these modules and the ones before it
(``tests/test_layering.py``):

- ``trades/``: the rolling 24 h statistics and the recent-trade ring;
- ``payloads/``: one struct per wire payload, templates and the functions that build them,
  the exchangeInfo body both ways;
- ``book/``: the price-level book, its wire text, the depth streams' chains, the local-book
  procedure and books followed from someone else's stream;
- ``klines/``: candles, their streams, warm start, templates and the price klines;
- ``derivatives/``: mark price, index and funding, open interest, liquidations;
- ``history/``: the simulated past from each listing date, a pure function of the seed;
- ``plant/``: the plant (state in, encoded payloads out), its bulk runs, its warm start from
  a past, and the market view the gateways answer from.
"""
