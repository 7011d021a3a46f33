"""Which market a stream URL serves, and where its REST twin lives.

Binance splits each market over hosts (fstream/fapi, dstream/dapi); a tickerplant
listener serves streams and REST for one market on one port. A recorder or a relay is
given a stream URL and needs both facts.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from tickerplant.market.instruments import Market
from tickerplant.protocol.endpoints import BINANCE_REST, BINANCE_STREAMS
from tickerplant.protocol.endpoints import REST_PREFIX as _REST_PREFIX

# BINANCE_REST and BINANCE_STREAMS live in protocol/endpoints.py; named here too, as before.
__all__ = ["BINANCE_REST", "BINANCE_STREAMS", "fetch", "market_of", "rest_base", "rest_prefix"]


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
    return _REST_PREFIX[market]


async def fetch(url: str, timeout_s: float = 10.0) -> bytes:
    """GET ``url`` and return the body; raises ``OSError`` on any failure or non-200."""

    def get() -> bytes:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body: bytes = response.read()
            return body

    if urlsplit(url).scheme not in ("http", "https"):
        raise OSError(f"not an http(s) URL: {url}")
    try:
        return await asyncio.to_thread(get)
    except urllib.error.URLError as exc:  # HTTPError included
        raise OSError(f"GET {url}: {exc}") from exc


async def market_of(url: str) -> Market:
    """The market the stream host ``url`` serves: by Binance's host name, or else by
    asking its REST twin which of /fapi/v1/ping and /dapi/v1/ping it answers."""
    host = urlsplit(url).hostname or ""
    if host.startswith("fstream"):
        return Market.UM
    if host.startswith("dstream"):
        return Market.CM
    base = rest_base(url)
    for market, prefix in _REST_PREFIX.items():
        try:
            await fetch(f"{base}{prefix}/ping")
        except OSError:
            continue
        return market
    raise OSError(f"{url} answers neither /fapi/v1/ping nor /dapi/v1/ping: which market is it?")
