"""`python -m benchmarks depth`: ``scenario`` runs it;
``fanout``, ``plant``, ``requests`` hold its parts.

Depth benchmark: the cost of the depth streams, depth requests and depth fan-out, each as a
ratio against a floor measured in the same run.
"""
