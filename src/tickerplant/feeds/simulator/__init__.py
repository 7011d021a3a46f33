"""The simulated market (the default source).

Sans-I/O cores: the books and their order flow (``simulator``, ``symbol``, ``book_shape``,
``book_upkeep``, ``order_flow``, ``fair_price``), leveraged positions and their liquidations
(``positions``, ``liquidations``), a thin list of past trades for tests that feed a plant by hand
(``history``; the server's past is ``market/history``'s) and the derivatives
data (``derivatives``). ``pump`` is the asyncio shell that runs them on a ``Clock``.

Imports ``feeds``' root, ``market``, ``protocol``, ``bus``, ``clock`` and ``config``; never
``feeds.replay`` or ``feeds.relay``.
"""
