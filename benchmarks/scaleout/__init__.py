"""`python -m benchmarks scaleout`: ``scenario`` runs it;
``processes`` hold its parts.

Scale-out benchmark: one plant and gateways over NATS, against the single process.
"""
