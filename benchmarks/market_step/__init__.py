"""`python -m benchmarks market_step`: ``scenario`` runs it.

The simulated market's cost per action with everything a server hangs on it, in-process
(the simulator, the plants, the market views, the venue's engines), on a driven clock and
on the wall clock.
"""
