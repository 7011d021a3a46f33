"""Conditional (algo) orders: kept until a price triggers them, then handed to the engine."""
