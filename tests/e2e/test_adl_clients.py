# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""The ADL queue through ccxt, unchanged but for its base URLs: ``fetch_positions_adl_rank``
(``GET /fapi/v1/adlQuantile``, ``/dapi/v1/adlQuantile``) and ``fetch_adl_rank`` (``GET
/fapi/v1/symbolAdlRisk``), on a ManualClock so that the mark is the test's alone and the
30-second window is crossed on purpose (``venue/risk/adl.py``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
from ccxt_hosts import point
from test_venue_clients import STILL, Venue, closing, venue  # noqa: F401
from test_venue_liquidation import EIGHT, publish_mark
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.instruments import Market

SYMBOL, COIN = "BTC/USDT:USDT", "BTC/USD:BTC"


def on_server_time(clock: ManualClock, *traders: Any) -> None:
    """ccxt's timestamps read from the server's clock, which stands still while real time
    passes and is moved by the test (ccxt's ``nonce`` is what it signs as ``timestamp``)."""
    for trader in traders:
        trader.nonce = clock.now_ms


def exchange(plant: Tickerplant, key: Any, made: list[Any], coin: bool = False) -> Any:
    kind = ccxtpro.binancecoinm if coin else ccxtpro.binanceusdm
    made.append(made_one := kind({
        "apiKey": key.api_key, "secret": key.secret, "enableRateLimit": False, "timeout": 5000,  # user settings (ccxt_hosts.py)
    }))  # fmt: skip
    um, cm = (f"http://127.0.0.1:{plant.listeners[m].port}" for m in (Market.UM, Market.CM))
    return point(made_one, {"https://fapi.binance.com": um, "https://dapi.binance.com": cm, "https://api.binance.com": um})


async def test_ccxt_reads_each_positions_place_in_the_adl_queue_and_every_symbols_risk(
    start_server: Any, venue: Venue, closing: list[Any]
) -> None:
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(clock=clock, simulator=STILL, venue_db=str(venue.path))
    alice, bob = exchange(plant, venue.alice_hmac, closing), exchange(plant, venue.bob_hmac, closing)
    on_server_time(clock, alice, bob)
    for trader in (alice, bob):
        await trader.load_markets()
    await alice.create_order(SYMBOL, "market", "buy", 0.02)
    await bob.create_order(SYMBOL, "market", "buy", 0.001)
    (position,) = await alice.fetch_positions([SYMBOL])  # positionRisk: this window is ranked now
    entry = Decimal(position["info"]["entryPrice"])
    marks = plant.listeners[Market.UM].view.marks

    async def next_window_at(factor: str) -> None:
        """The next 30 s window ("values update every 30 s"), the mark at ``entry × factor``
        once the simulator has published its own for the time skipped."""
        clock.advance(30_000)
        await eventually(lambda: (m := marks.mark("BTCUSDT")) is not None and m.t >= clock.now_ms() - 1000)
        publish_mark(plant, (entry * Decimal(factor)).quantize(EIGHT))

    publish_mark(plant, (entry * Decimal("1.01")).quantize(EIGHT))
    assert (await bob.fetch_positions_adl_rank([SYMBOL]))[0]["rank"] == 0  # ranked before the mark moved
    await next_window_at("1.01")  # both longs 1 % up
    # LeveragePnL: Bob's 42 USDT hold his long at a far higher ratio than Alice's 10 000 hers
    (a,), (b,) = await alice.fetch_positions_adl_rank([SYMBOL]), await bob.fetch_positions_adl_rank([SYMBOL])
    assert (a["symbol"], a["rank"], b["rank"]) == (SYMBOL, 2, 4)
    assert a["info"] == {"symbol": "BTCUSDT", "adlQuantile": {"LONG": 0, "SHORT": 0, "BOTH": 2}}
    assert await alice.fetch_positions_adl_rank(["ETH/USDT:USDT"]) == []  # no position there
    (risk,) = await alice.fetch_positions_risk([SYMBOL])  # positionRisk v3's `adl`
    assert risk["info"]["adl"] == 2
    v2 = await alice.fapiprivatev2_get_positionrisk({"symbol": "BTCUSDT"})
    assert v2[0]["adlQuantile"] == 2
    v3 = await bob.fapiprivatev3_get_positionrisk({"symbol": "BTCUSDT"})
    assert v3[0]["adl"] == 4

    publish_mark(plant, (entry * Decimal("0.99")).quantize(EIGHT))  # both lose: the window's ranking stays
    assert (await bob.fetch_positions_adl_rank([SYMBOL]))[0]["rank"] == 4
    await next_window_at("0.99")
    assert (await bob.fetch_positions_adl_rank([SYMBOL]))[0]["rank"] == 0  # nobody's profit: nobody first

    rated = await alice.fetch_adl_rank(SYMBOL)
    half_hour = clock.now_ms() - clock.now_ms() % 1_800_000
    assert (rated["rating"], rated["timestamp"]) == ("low", half_hour)
    every = await alice.fapipublic_get_symboladlrisk()
    assert {r["symbol"] for r in every} >= {"BTCUSDT", "ETHUSDT"} and {r["adlRisk"] for r in every} == {"low"}
    assert list(every[0]) == ["symbol", "adlRisk", "updateTime"]

    coin = exchange(plant, venue.alice_hmac, closing, coin=True)
    on_server_time(clock, coin)
    await coin.load_markets()
    await coin.create_order(COIN, "market", "buy", 1)
    (c,) = await coin.fetch_positions_adl_rank([COIN])
    assert c["info"]["adlQuantile"] == {"LONG": 0, "SHORT": 0, "BOTH": 0}  # at the mark it bought at: no profit
