"""`python -m benchmarks matching`: ``scenario`` runs it; ``floor`` is the bare book it is
measured against."""
