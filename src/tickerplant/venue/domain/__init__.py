"""The venue's records and formulas, with no engine: orders and fills, events, contracts and their
margin formulas, money, ids, the typed order parameters."""
