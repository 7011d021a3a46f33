"""The wire payloads of the market streams and their bytes.

One ``msgspec`` struct per payload, shared by the plant that writes it and the client that
reads it (``events``, ``derived_events``, ``base``); templates derived from those structs
(``templates``, ``event_frames``); the functions that build payloads from the plant's
integer state (``builders``); the exchangeInfo body and its reading back (``exchange_info``,
``listing``).

Imports ``market``'s root modules and ``market.trades``.
"""
