"""The market the venue's orders meet: matching rules, the resting-order index, the ports to the
market and to the simulated book."""
