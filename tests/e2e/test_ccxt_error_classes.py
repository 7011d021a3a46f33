# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""ccxt raises Binance's own exception classes for the venue's refusals under docs/venue.md's
setup (*ccxt's error classes*): `tickerplant tls init`'s certificate, served with TLS, and
ccxt's Binance hosts replaced by ``https://demo-fapi.localhost:<port>`` and
``https://demo-dapi.localhost:<port>``, its CA trusted as ccxt's synchronous classes take one
(``requests_trust_env`` and requests' ``REQUESTS_CA_BUNDLE``) and its asynchronous ones (``cafile``). ccxt picks its futures tables by the URL's
prefix (spec part 5 §2.1.8): under any other base URL the same refusals are a plain
``ExchangeError``, which the tests show too. Binance's spot host (``api.binance.com``: ccxt's
start-up calls to ``/sapi``) is pointed at the same listener.

The names resolve to loopback as RFC 6761 asks (``localhost_names.py``: the tests may not
write ``/etc/hosts``); where no resolver does, the name goes in the URL's user part
(``https://demo-fapi@127.0.0.1:<port>``), which ccxt reads as the prefix and its HTTP client
sends as a Basic ``Authorization`` header, which the server ignores: the same classes."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest
from ccxt_hosts import point
from conftest import StartServer
from localhost_names import resolve_localhost_names
from test_venue_clients import STILL, Key, Venue, venue  # noqa: F401

from tickerplant import tls
from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market

USDM = "BTC/USDT:USDT"
COINM = "BTC/USD:BTC"
FAPI, DAPI, SPOT = "https://fapi.binance.com", "https://dapi.binance.com", "https://api.binance.com"


@pytest.fixture
async def served(
    start_server: StartServer, venue: Venue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Tickerplant, tls.Issued]:
    """A venue served over TLS with `tickerplant tls init`'s certificate, its CA trusted by
    requests, the ``.localhost`` names resolved."""
    issued = tls.init(tmp_path / "tls", datetime.datetime.now(datetime.UTC))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(issued.ca))
    resolve_localhost_names(monkeypatch)
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), tls_cert=str(issued.cert),
                               tls_key=str(issued.key))  # fmt: skip
    return plant, issued


def usdm(key: Key, base: str) -> Any:
    """``binanceusdm`` as its README makes it, with keys, its futures hosts replaced by ``base``;
    ``requests_trust_env``: requests reads ``REQUESTS_CA_BUNDLE`` (ccxt turns that off)."""
    exchange = ccxt.binanceusdm({"apiKey": key.api_key, "secret": key.secret, "requests_trust_env": True})
    return point(exchange, {FAPI: base, SPOT: base})


async def test_usdm_refusals_raise_binance_s_classes(served: tuple[Tickerplant, tls.Issued], venue: Venue) -> None:
    plant, _ = served
    port = plant.listeners[Market.UM].port

    def place(key: Key, base: str) -> type[Exception]:
        exchange = usdm(key, base)
        last = exchange.fetch_ticker(USDM)["last"]
        with pytest.raises(ccxt.ExchangeError) as refused:
            exchange.create_order(USDM, "limit", "buy", 1.0, round(last * 0.99, 1))
        return refused.type

    def session(base: str) -> list[type[Exception]]:
        exchange = usdm(venue.alice_hmac, base)
        last = exchange.fetch_ticker(USDM)["last"]
        least = exchange.market(USDM)["limits"]["cost"]["min"]
        step = exchange.market(USDM)["precision"]["amount"]
        small = round(min(last * 0.99, least / step / 2), 1)  # the least step at it: half of MIN_NOTIONAL
        raised: list[type[Exception]] = []
        for amount, kind, side, price, params in (
            (step, "limit", "buy", small, {}),
            (0.01, "limit", "buy", round(last * 1.01, 1), {"postOnly": True}),  # it would take
            (0.01, "market", "sell", None, {"stopLossPrice": round(last * 1.05, 1)}),  # a stop already met
        ):
            with pytest.raises(ccxt.ExchangeError) as refused:
                exchange.create_order(USDM, kind, side, amount, price, params)
            raised.append(refused.type)
        return raised

    named = f"https://demo-fapi.localhost:{port}"
    margin = await asyncio.to_thread(place, venue.bob_hmac, named)
    assert margin is ccxt.InsufficientFunds  # -2019, as from https://fapi.binance.com
    filters, post_only, stop = await asyncio.to_thread(session, named)
    assert filters is ccxt.InvalidOrder  # -4164
    assert post_only is ccxt.OrderNotFillable  # -5022: ccxt's linear table, Binance's host or demo
    assert stop is ccxt.OrderImmediatelyFillable  # -2021
    # the name as the URL's user part, the host the address: no resolver asked, the same classes
    as_user = f"https://demo-fapi@127.0.0.1:{port}"
    assert await asyncio.to_thread(place, venue.bob_hmac, as_user) is ccxt.InsufficientFunds
    assert await asyncio.to_thread(session, as_user) == [filters, post_only, stop]
    # the same server by its address: ccxt's common tables only (binanceusdm's own has -5022)
    plain = f"https://127.0.0.1:{port}"
    assert await asyncio.to_thread(place, venue.bob_hmac, plain) is ccxt.ExchangeError
    assert await asyncio.to_thread(session, plain) == [ccxt.ExchangeError, ccxt.InvalidOrder, ccxt.ExchangeError]


async def test_coinm_refusals_raise_binance_s_classes_in_ccxt_pro(
    served: tuple[Tickerplant, tls.Issued], venue: Venue
) -> None:
    plant, issued = served
    port = plant.listeners[Market.CM].port

    async def session(host: str) -> list[type[Exception]]:
        raised: list[type[Exception]] = []
        for key in (venue.bob_hmac, venue.alice_hmac):
            exchange = ccxtpro.binancecoinm({"apiKey": key.api_key, "secret": key.secret, "cafile": str(issued.ca)})
            hosts = {DAPI: f"https://{host}", SPOT: f"https://{host}", "wss://ws-dapi.binance.com": f"wss://{host}"}
            point(exchange, hosts)
            try:
                last = (await exchange.fetch_ticker(COINM))["last"]
                with pytest.raises(ccxt.ExchangeError) as refused:
                    if key is venue.bob_hmac:  # bob's COIN-M wallet is empty: any order is past it
                        await exchange.create_order(COINM, "limit", "buy", 1, round(last * 0.99, 1))
                    else:
                        await exchange.create_order(COINM, "market", "sell", 1, None,
                                                    {"stopLossPrice": round(last * 1.05, 1)})  # fmt: skip
                raised.append(refused.type)
                if key is venue.bob_hmac:  # the WebSocket API: ccxt's common table, whatever the host
                    with pytest.raises(ccxt.ExchangeError) as refused:
                        await exchange.create_order_ws(COINM, "limit", "buy", 1, round(last * 0.99, 1))
                    raised.append(refused.type)
            finally:
                await exchange.close()
        return raised

    # aiohttp on the standard asyncio loop, in a thread: uvloop's resolver is C's (localhost_names.py)
    named = await asyncio.to_thread(asyncio.run, session(f"demo-dapi.localhost:{port}"))
    # -2019, then -2019 over the WebSocket API (as from ws-dapi.binance.com), -2021
    assert named == [ccxt.InsufficientFunds, ccxt.ExchangeError, ccxt.OrderImmediatelyFillable]
    as_user = await asyncio.to_thread(asyncio.run, session(f"demo-dapi@127.0.0.1:{port}"))  # no resolver
    assert as_user == named
    plain = await asyncio.to_thread(asyncio.run, session(f"127.0.0.1:{port}"))
    assert plain == [ccxt.ExchangeError] * 3
