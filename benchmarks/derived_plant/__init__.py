"""`python -m benchmarks derived_plant`: ``scenario`` runs it.

Derived-streams benchmark, in-process: the plants' CPU per simulator action with every
derived stream produced (``Plant(..., derived_streams=True)``: `<symbol>@kline_<interval>`
and `<pair>_<contractType>@continuousKline_<interval>` for every interval, and whatever else
the plant derives from trades and books) against the same run without them, both markets.
"""
