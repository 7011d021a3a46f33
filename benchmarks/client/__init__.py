"""`python -m benchmarks client`: ``scenario`` runs it;
``consumer``, ``libraries`` hold its parts.

Client benchmark: bookTicker messages per second consumed into typed objects, tickerplant's
``MarketStreams`` side by side with python-binance and the official Binance SDK.
"""
