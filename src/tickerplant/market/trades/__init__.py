"""Trades kept for answers: the rolling 24 h statistics behind the tickers (``stats``) and the
ring of recent aggregates behind `aggTrades` and `trades` (``history``).

Imports ``market``'s root modules only.
"""
