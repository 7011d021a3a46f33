"""The venue: accounts, API keys and signed requests (issue 33; spec
``binance-futures-trading.md`` and its parts under ``trading/``).

What decides is sans-I/O, with time as an argument: the accounts and keys model
(``accounts``), the signed string and the three signature schemes (``signing``), the order
of a signed request's checks (``checks``), the private endpoints' payloads (``balances``)
and their surface (``rest``). ``store`` is the one module that touches a file: the SQLite
database of accounts, balances and keys the operator keeps with ``tickerplant accounts``.

May import ``market/`` and ``protocol/``; the gateway wires ``rest`` into the listeners.
"""
