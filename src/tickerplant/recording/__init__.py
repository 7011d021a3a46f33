"""Recordings: what a stream server sent, byte for byte, with its receive times.

- ``recording.format``: the file format (encode, decode, rotate, read); no sockets, no
  clock. The replay (``feeds/``) reads recordings through it.
- ``recording.recorder``: ``record()``, a consumer of the client library (``RawStreams``)
  that writes what it receives in that format; ``tickerplant record`` runs it.

Nothing is imported here, so that reading the format does not load the client.
"""
