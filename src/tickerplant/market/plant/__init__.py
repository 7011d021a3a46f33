"""The plant and its readers: per-symbol state turned into encoded stream payloads
(``plant``, ``symbol_state``), the bulk entry for runs of recorded rows (``runs``), its warm
start from a past's minute klines (``past``), and the
market view a gateway answers requests from, built from the plant's messages (``view``).

The outermost part of ``market``: it may import every other subpackage.
"""
