"""`python -m benchmarks replay`: ``scenario`` runs it.

Replay throughput: events per second from Binance public files to the wire at
``--speed max``, against the floor of only reading and parsing the same files, measured
in the same run on the same core.
"""
