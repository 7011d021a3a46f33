"""What the benchmarks share.

- `processes`: CPU pinning, children that die with the benchmark, the server under test in
  its own process group, and the clean-up on errors, Ctrl-C and SIGTERM;
- `commands`: the command protocol between the benchmark and the processes it forks;
- `accounting`: CPU used in a measured window, by the server and by other processes;
- `profile`: optional py-spy profiles and their summaries;
- `report`: the table of figures and each ratio against its target, PASS or FAIL.
- `options`: the sizes options take when not given, full or `--quick`.
"""
