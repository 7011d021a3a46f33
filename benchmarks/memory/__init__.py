"""`python -m benchmarks memory`: ``scenario`` runs it.

Memory over time: the server's resident set while it trades flat out, and how fast it
grows once warm, against a target of under 5 % of the starting RSS per hour.
"""
