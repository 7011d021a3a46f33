"""The market listeners' asyncio shell: picows on uvloop, moving bytes between sockets and the
sans-I/O cores.

One listener per market (``server``) takes REST and WebSocket upgrades on one port
(``front_door``, ``http_head``, ``picows_server``, ``acceptor``); a connection's lifecycle and
limits (``connection``) specialise into market streams (``market_streams``) and the
WebSocket API (``ws_api``); ``fanout`` hands each message's bytes to every subscriber; the
venue's private endpoints are served over its engine (``engine_surface``, ``user_data``,
``countdowns``: here, or in the plant under ``--workers``) or admitted here and performed by
the plant (``venue_forwarding``). The rest is upkeep: traffic figures, the log budget,
memory trimming, open files.

Imports ``market``, ``protocol``, ``bus``, ``clock``, ``config`` and ``venue``; never a source
(``feeds``) or the client.
"""
