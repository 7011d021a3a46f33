"""Accounts, API keys and signed requests: who may ask (part 1 §4–§9)."""
