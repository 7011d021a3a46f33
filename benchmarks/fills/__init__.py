"""`python -m benchmarks fills`: ``scenario`` runs it (the queue models against the one book's truth)."""
