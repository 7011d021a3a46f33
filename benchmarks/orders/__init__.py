"""`python -m benchmarks orders`: ``scenario`` runs it."""
