"""Binance's failures on demand: a fault profile read once into typed values (``profile``),
the two ready profiles (``builtin``), the bodies Binance answers them with (``answers``),
and the seeded decider the wire shells ask, request by request and event by event, what
to do (``decider``), with what fired counted and remembered for the operator (``record``).

Sans-I/O: no socket, no file, no clock; the market time comes in as an argument. It
imports ``market/`` and ``protocol/`` only; the gateway applies its decisions around the
venue's engine, which it never touches (docs/faults.md).
"""
