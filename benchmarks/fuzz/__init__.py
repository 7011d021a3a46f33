"""`python -m benchmarks fuzz`: ``scenario`` runs it;
``cases`` hold its parts.

Fuzzing the server at volume: a million random cases against `tickerplant serve`, each
on its own connection, and what it made of them.
"""
