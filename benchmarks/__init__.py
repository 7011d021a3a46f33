"""tickerplant's benchmarks: `python -m benchmarks <name> [--quick]` (see README.md)."""
