"""The venue: accounts, API keys, signed requests, orders, margin, funding, liquidations and
the user data stream, on Binance's wire (spec ``binance-futures-trading.md`` and its parts
under ``trading/``).

Cut into subpackages that point inward, innermost first: ``domain`` (records and formulas),
``auth``, ``payloads``, ``book``, ``ledger``, ``risk``, ``engine``, ``clearing``, ``algo``,
``core`` (``Engine.apply``), ``journal``, ``userstream``, ``wire`` (the endpoints). All of
it is sans-I/O with time as an argument but the files it keeps: the operator's store
(``auth/store``) and the journal.
May import ``market/`` and ``protocol/``; the gateway wires ``wire/rest`` into the listeners
(docs/ARCHITECTURE.md, "The venue's room").
"""
