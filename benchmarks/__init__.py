"""tickerplant's benchmarks: `python -m benchmarks <name> [--quick]` (see benchmarks/README.md)."""
