"""The relay of an upstream's market streams (Binance, or another tickerplant).

``relay`` subscribes upstream through tickerplant's own client and republishes each payload
unchanged; ``listing`` says which symbols it lists, ``streams`` which upstream streams to
take; ``books`` follows one book per symbol from the upstream's diff depth and snapshots.

Imports ``feeds``' root, ``market``, ``protocol``, ``bus``, ``clock``, ``config`` and the
client (the relay is a client of its upstream); never ``feeds.simulator`` or
``feeds.replay``.
"""
