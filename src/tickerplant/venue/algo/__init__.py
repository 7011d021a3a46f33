"""Conditional (algo) orders' steps over the engine's state (its ``engine/algo_book.py``):
the commands on them, and the market's trigger pass that hands a triggered one's child to
placement, each applied by ``Engine.apply``."""
