"""The simulated past: a deterministic history of every simulated instrument from its
listing date, produced on demand, a pure function of the seed and the time asked about.

- ``draws``: randomness addressed by name (seed, asset, day, hour, minute);
- ``path``: one base asset's price path, days → hours → minutes, each conditioned on its
  parent's open, high, low and close;
- ``tape``: one symbol's minutes: trade counts, volumes and taker flow over the path, and
  the trades of a minute, consistent with its kline;
- ``series``: klines of every interval, summed from the minutes;
- ``marks``: mark, index and premium-index klines and funding from the same prices, by the
  live formulas (``derivatives/mark_price.py``).

It lives in ``market/`` because it decides and does no I/O, and because two layers read it:
the simulator (``feeds/simulator``) starts the live market where the path is at the start,
and the gateway answers REST's questions about the past from it (``protocol``), in every
process alike, without asking the plant. Imports ``market``'s root, ``klines`` and
``derivatives``.
"""
