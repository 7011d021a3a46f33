"""Order books: the price-level book in integer units (``order_book``), its levels as wire
text (``text``), the depth streams' ``U``/``u``/``pu`` chains (``depth``), Binance's
local-book procedure shared with the client (``procedure``) and books followed from
somebody else's diff-depth stream (``followed``).

Imports ``market``'s root modules and ``market.payloads``.
"""
