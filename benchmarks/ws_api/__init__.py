"""`python -m benchmarks ws_api`: ``scenario`` runs it;
``clients``, ``floor`` hold its parts.

WebSocket API benchmark: tickerplant's ``ticker.book`` request/response against a picows floor.
"""
