"""`python -m benchmarks soak`: ``scenario`` runs it.

Soak: waves of thousands of connections, slow consumers and malformed clients against
`tickerplant serve`, the server's RSS after each wave, and a healthy client's latency
throughout.
"""
