"""`python -m benchmarks fanout`: ``scenario`` runs it;
``clients``, ``floor`` hold its parts.

Fan-out benchmark: tickerplant's bookTicker fan-out against a raw-uvloop floor.
"""
