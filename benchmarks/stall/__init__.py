"""`python -m benchmarks stall`: ``scenario`` runs it; ``probe`` and ``burst`` hold its parts.

Streams and the WebSocket API while REST clients spend their whole minute of weight at
once: the worst gap a `btcusdt@bookTicker` subscriber sees and the WebSocket API's latency
under each burst, against a quiet window of the same server; then `klines?limit=1500` and
`trades?limit=1000` per second and their p99 over 200 kept-alive connections.
"""
