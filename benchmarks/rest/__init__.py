"""`python -m benchmarks rest`: ``scenario`` runs it;
``clients``, ``floor`` hold its parts.

REST over kept-alive connections: requests per second and latency, tickerplant against a
floor answering pre-built bytes over keep-alive with the same library.
"""
