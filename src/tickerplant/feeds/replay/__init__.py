"""The replay of Binance's public files and of tickerplant's recordings.

``public_files`` and ``file_columns`` read Binance's file formats; ``files`` finds and opens
what the command line names; ``instruments`` infers what to list from them; ``replayer``
(sans-I/O) merges them into one time-ordered stream played into plants and onto the bus,
``runs`` a stretch of a file at a time, with ``derivatives`` for the mark-price files;
``waits`` decides when a replay at full speed waits for its clients; ``player`` is the
asyncio shell.

Imports ``feeds``' root, ``market``, ``protocol``, ``bus``, ``clock``, ``config`` and
``recording``; never ``feeds.simulator`` or ``feeds.relay``.
"""
