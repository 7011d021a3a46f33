"""`python -m benchmarks connections`: ``scenario`` runs it.

One process ramped to its file descriptor limit, on a real-time and on a 1 s stream:
connections held, memory per connection, delivery latency, and the handshake time and
accepts per second of a burst of new connections at each step.
"""
