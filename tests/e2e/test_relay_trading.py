# ruff: noqa: F811  (the fixture imported from test_venue_clients is a parameter here)
"""Paper trading on a relayed market (``serve --relay``, the venue over another server's live
feed): ccxt at its defaults trades against the book the upstream sends, which the user's
orders do not move; a resting order waits behind the size the upstream shows at its price
and fills when the upstream's trades reach it (docs/venue.md, "How orders fill"). The
upstream is a local tickerplant replaying a recording on a manual clock, so its market moves
only when the test says."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro
import pytest
from conftest import StartServer
from test_ccxt import point
from test_observed_queue import BOOK, SECRET, TRADES, alice, diff, write_recording
from test_venue_clients import closing  # noqa: F401  (a fixture: its clients closed after the test)
from timing import eventually

from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig
from tickerplant.feeds.relay.relay import RelaySource
from tickerplant.feeds.relay.streams import DEFAULT_KINDS
from tickerplant.market.instruments import Market
from tickerplant.recording.format import Recorded, RecordedSnapshot

SYMBOL = "BTC/USDT:USDT"


def fast() -> Iterator[float]:
    return iter([0.05] * 10_000)


def market(folder: Path, t0_ms: int) -> None:
    """Bids 59999.00 x1.000, asks 60001.00 x1.000 and 60002.00 x2.000; a second on, a change
    elsewhere (the relay's book syncs on one); a minute on, 0.800 of the bid cancelled,
    then a sell of 0.500 at 59999.00."""
    snapshot = (
        b'{"lastUpdateId":100,"E":%d,"T":%d,"bids":[["59999.00","1.000"],["59998.00","2.000"]],'
        b'"asks":[["60001.00","1.000"],["60002.00","2.000"]]}' % (t0_ms, t0_ms)
    )
    later = t0_ms + 60_000  # after the orders, however slowly the servers start
    trade = (
        b'{"e":"aggTrade","E":%d,"a":7,"s":"BTCUSDT","p":"59999.00","q":"0.500","nq":"0.500","f":70,'
        b'"l":70,"T":%d,"m":true}' % (later + 1, later + 1)
    )
    items = [
        Recorded(t0_ms * 1000, BOOK, diff(99, 101, t0_ms, '[["59997.00","1.000"]]')),
        RecordedSnapshot(t0_ms * 1000, "BTCUSDT", snapshot),
        *(Recorded((t0_ms + n * 1000) * 1000, BOOK, diff(101 + n, 101 + n, t0_ms + n * 1000, f'[["5999{n % 2}.00","1.000"]]'))
          for n in range(1, 10)),  # a change a second elsewhere (the relay's book syncs on one)
        Recorded(later * 1000, BOOK, diff(111, 111, later, '[["59999.00","0.200"]]')),
        Recorded((later + 1) * 1000, TRADES, trade),
        Recorded((later + 3_600_000) * 1000, BOOK, diff(112, 112, later + 3_600_000, "[]")),  # still playing
    ]  # fmt: skip
    write_recording(folder, items)


YEAR_MS = 365 * 86_400_000


@pytest.mark.parametrize(
    ("kinds", "behind_ms"),
    [(None, 0), (("depth@100ms", "bookTicker"), 0), (None, YEAR_MS)],
    ids=["every-kind", "no-aggTrade-kind", "an-upstream-replaying-last-year"],
)
async def test_ccxt_trades_on_a_relayed_market_that_its_orders_do_not_move(
    start_server: StartServer, tmp_path: Path, closing: list[Any], kinds: tuple[str, ...] | None, behind_ms: int
) -> None:
    # kinds: also a relay told to carry no aggTrade stream, which its venue still hears (a
    # resting order fills from the public trades; feeds/relay/streams.TRADES_STREAM)
    # the upstream's market now, as a live feed's (a relay's times are its upstream's), or a
    # year behind (a tickerplant replaying the past): its trades come after the orders the
    # test places, stamped on the upstream's clock; the relay's own is the system's
    t0_ms = int(time.time() * 1000) - behind_ms
    market(tmp_path / "recorded", t0_ms)
    upstream_clock = ManualClock(t0_ms)
    upstream = await start_server(
        clock=upstream_clock, replay=ReplayConfig(paths=(str(tmp_path / "recorded"),), speed=1.0)
    )
    db, api_key = alice(tmp_path)
    relay = await start_server(
        source=RelaySource({Market.UM: upstream.url(Market.UM)}, symbols=["BTCUSDT"], kinds=kinds or DEFAULT_KINDS,
                           stream_options={"delays": fast}),
        venue_db=str(db),
    )  # fmt: skip
    engine = relay.engines[Market.UM]
    streams = upstream.listeners[Market.UM].streams
    assert streams is not None
    await eventually(lambda: len(streams.connections) >= 1)  # the relay is reading the upstream

    def synced() -> bool:  # a change a second upstream until the relay's book is in sync on one
        if engine.data.quantity_at("BTCUSDT", True, 5_999_900) == 1000:
            return True
        if upstream_clock.now_ms() < t0_ms + 9000:
            upstream_clock.advance(1000)
        return False

    await eventually(synced)
    port = relay.listeners[Market.UM].port
    exchange = ccxtpro.binanceusdm({"apiKey": api_key, "secret": SECRET, "enableRateLimit": False, "timeout": 5000})
    closing.append(exchange)
    point(exchange, {
        "https://fapi.binance.com": f"http://127.0.0.1:{port}", "wss://fstream.binance.com": f"ws://127.0.0.1:{port}",
        "https://api.binance.com": f"http://127.0.0.1:{port}",
    })  # fmt: skip
    await exchange.load_markets()
    book = await exchange.fetch_order_book(SYMBOL)
    assert (book["bids"][0], book["asks"][:2]) == ([59999.0, 1.0], [[60001.0, 1.0], [60002.0, 2.0]])
    await exchange.set_leverage(50, SYMBOL)

    resting = await exchange.create_order(SYMBOL, "limit", "buy", 1.0, 59999.0)  # behind the 1.000 shown
    first = await exchange.create_order(SYMBOL, "market", "buy", 0.6)
    second = await exchange.create_order(SYMBOL, "market", "buy", 0.6)  # what the first left
    trades: dict[str, list[tuple[float, float]]] = {}
    for trade in await exchange.fetch_my_trades(SYMBOL):
        trades.setdefault(trade["order"], []).append((trade["price"], trade["amount"]))
    assert trades == {first["id"]: [(60001.0, 0.6)], second["id"]: [(60001.0, 0.4), (60002.0, 0.2)]}
    assert (await exchange.fetch_order_book(SYMBOL))["asks"][:2] == [[60001.0, 1.0], [60002.0, 2.0]]  # unmoved

    upstream_clock.set(t0_ms + 60_100)  # upstream: 0.800 of the bid cancelled, then a sell of 0.500 at 59999.00
    placed = engine.resting_order("BTCUSDT", int(resting["id"]))
    assert placed is not None
    await eventually(lambda: placed.executed_qty == 300)
    order = await exchange.fetch_order(resting["id"], SYMBOL)
    assert (order["status"], order["filled"]) == ("open", 0.3)
    maker = [t for t in await exchange.fetch_my_trades(SYMBOL) if t["order"] == resting["id"]]
    assert [(t["price"], t["amount"], t["takerOrMaker"]) for t in maker] == [(59999.0, 0.3, "maker")]
    (position,) = await exchange.fetch_positions([SYMBOL])
    assert (position["contracts"], position["side"]) == (1.5, "long")
