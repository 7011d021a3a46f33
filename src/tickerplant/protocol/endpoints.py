"""Binance's hosts for each market (spec §1.1), and where a stream host's REST twin lives:
the one home of these URLs.

Binance splits a market over hosts: streams on fstream/dstream, REST on fapi/dapi under
``/fapi/v1``/``/dapi/v1``, the WebSocket API on ws-fapi/ws-dapi. A tickerplant listener
serves all three for one market on one port. The client (``client/endpoints.py``), the
relay (its default upstreams, the exchangeInfo of an upstream) and the command line read
them from here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tickerplant.market.instruments import Market

__all__ = ["BINANCE_REST", "BINANCE_STREAMS", "BINANCE_WS_API", "REST_PREFIX", "rest_base", "rest_prefix"]

BINANCE_STREAMS = {Market.UM: "wss://fstream.binance.com", Market.CM: "wss://dstream.binance.com"}
BINANCE_REST = {Market.UM: "https://fapi.binance.com", Market.CM: "https://dapi.binance.com"}
BINANCE_WS_API = {
    Market.UM: "wss://ws-fapi.binance.com/ws-fapi/v1",
    Market.CM: "wss://ws-dapi.binance.com/ws-dapi/v1",
}
REST_PREFIX = {Market.UM: "/fapi/v1", Market.CM: "/dapi/v1"}  # the market-data paths (§7)


def rest_base(url: str) -> str:
    """The REST origin of the stream host ``url``: Binance's twin host, or the same
    host and port over http(s) for anything else (a tickerplant listener)."""
    parts = urlsplit(url)
    for market, streams in BINANCE_STREAMS.items():
        if parts.hostname == urlsplit(streams).hostname:
            return BINANCE_REST[market]
    scheme = "https" if parts.scheme in ("wss", "https") else "http"
    return f"{scheme}://{parts.netloc}"


def rest_prefix(market: Market) -> str:
    """The path prefix of ``market``'s REST market data (§7)."""
    return REST_PREFIX[market]
