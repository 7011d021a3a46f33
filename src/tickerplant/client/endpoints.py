"""Which market a stream URL serves (asked of its REST twin), and a GET of that twin.

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
from tickerplant.protocol.endpoints import BINANCE_REST, BINANCE_STREAMS, REST_PREFIX, rest_base, rest_prefix

# The URL facts live in protocol/endpoints.py; named here too, as before.
__all__ = ["BINANCE_REST", "BINANCE_STREAMS", "HttpRefused", "fetch", "market_of", "rest_base", "rest_prefix"]


class HttpRefused(OSError):
    """A GET answered with a status other than 200: ``status``, and ``retry_after_s``, the
    answer's ``Retry-After`` in seconds when it gave one (spec §7.1: with a 429, the wait
    that avoids a ban; with a 418, the time left of the ban)."""

    def __init__(self, message: str, status: int, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


def retry_after_s(value: str | None) -> float | None:
    """A ``Retry-After`` header's seconds; None when absent or not a number of seconds (its
    HTTP-date form is not Binance's, §7.1)."""
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


async def fetch(url: str, timeout_s: float = 10.0) -> bytes:
    """GET ``url`` and return the body; raises ``OSError`` on any failure, ``HttpRefused``
    (one) on an answer other than 200."""

    def get() -> bytes:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body: bytes = response.read()
            return body

    if urlsplit(url).scheme not in ("http", "https"):
        raise OSError(f"not an http(s) URL: {url}")
    try:
        return await asyncio.to_thread(get)
    except urllib.error.HTTPError as exc:  # an answer: its status and Retry-After said
        wait = retry_after_s(exc.headers.get("Retry-After") if exc.headers is not None else None)
        raise HttpRefused(f"GET {url}: {exc}", exc.code, wait) from exc
    except urllib.error.URLError as exc:
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
    failures: list[OSError] = []
    for market, prefix in REST_PREFIX.items():
        try:
            await fetch(f"{base}{prefix}/ping")
        except OSError as exc:
            failures.append(exc)
            continue
        return market
    answers = [exc.__cause__ for exc in failures if isinstance(exc.__cause__, urllib.error.HTTPError)]
    if not answers:  # no answer at all
        raise OSError(f"cannot reach {base}, {url}'s REST twin: {failures[-1]}")
    if limited := [a for a in answers if a.code in (418, 429)]:  # the IP's weight, not the market
        after = limited[0].headers.get("Retry-After")
        wait = f" (Retry-After {after} s)" if after else ""
        code = limited[0].code
        raise OSError(f"{base} refused the ping with {code}: this IP's request weight is spent{wait}")
    raise OSError(f"{url} answers neither /fapi/v1/ping nor /dapi/v1/ping: which market is it?")
