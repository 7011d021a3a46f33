"""The Multi-Assets mode's asset index and the symbol ADL risk through Binance's official SDK
and python-binance, unchanged but for their base URLs: `GET /fapi/v1/assetIndex` publishes
the index and buffers the venue values collateral with (market/payloads/asset_index.py),
exchangeInfo lists the same margin assets, `GET /fapi/v1/symbolAdlRisk` rates each symbol."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from conftest import StartServer
from recording_clocked import record_clocked
from test_binance_sdk import STILL, sdk
from test_python_binance import client_for, clients  # noqa: F401 (a fixture)
from timing import SECONDS, eventually

from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.asset_index import MARGIN_ASSETS
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.ledger.collateral import asset_price


async def test_the_asset_index_is_the_collateral_the_venue_counts(
    start_server: StartServer, clients: list[Any]  # noqa: F811
) -> None:
    plant = await start_server(simulator=STILL)
    client = await client_for(plant, clients)
    rows = await client.futures_v1_get_asset_index()
    by_symbol = {row["symbol"]: row for row in rows}
    assert list(by_symbol) == [f"{asset}USD" for asset in MARGIN_ASSETS]
    assert list(rows[0]) == [
        "symbol", "time", "index", "bidBuffer", "askBuffer", "bidRate", "askRate",
        "autoExchangeBidBuffer", "autoExchangeAskBuffer", "autoExchangeBidRate", "autoExchangeAskRate",
    ]  # fmt: skip
    usdt = by_symbol["USDTUSD"]
    assert (usdt["index"], usdt["bidBuffer"], usdt["bidRate"], usdt["askRate"]) == (
        "1.00000000", "0.00000000", "1.00000000", "1.00000000")  # fmt: skip
    mark = await client.futures_mark_price(symbol="BTCUSDT")
    btc = await client.futures_v1_get_asset_index(symbol="BTCUSD")  # one object for a symbol
    index = Decimal(btc["index"])
    assert index == Decimal(mark["markPrice"]) and btc["time"] == mark["time"]
    assert btc["bidBuffer"] == "0.05000000" and Decimal(btc["bidRate"]) == (index * Decimal("0.95")).quantize(
        Decimal("0.00000001"))  # fmt: skip
    assert btc["askRate"] == btc["autoExchangeBidRate"] == btc["autoExchangeAskRate"] == btc["index"]

    official = sdk(plant)
    same = await asyncio.to_thread(lambda: official.rest_api.asset_index(symbol="ETHUSD").data())
    assert same.actual_instance.symbol == "ETHUSD" and same.actual_instance.bid_buffer == "0.05000000"
    rated = await asyncio.to_thread(lambda: official.rest_api.adl_risk(symbol="BTCUSDT").data())
    assert (rated.actual_instance.symbol, rated.actual_instance.adl_risk) == ("BTCUSDT", "low")

    info = await client.futures_exchange_info()
    assert [(a["asset"], a["marginAvailable"]) for a in info["assets"]] == [(a, True) for a in MARGIN_ASSETS]
    port = plant.listeners[Market.UM].port
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/fapi/v1/assetIndex?symbol=NOPEUSD") as response:
            assert (response.status, (await response.json())["code"]) == (400, -1121)
        cm = plant.listeners[Market.CM].port
        async with session.get(f"http://127.0.0.1:{cm}/dapi/v1/assetIndex") as response:
            assert response.status == 404  # USDⓈ-M only


async def test_a_replay_without_mark_prices_indexes_a_coin_at_its_books_mid_as_the_venue_values_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    clock = ManualClock()
    upstream = await start_server(clock=clock, simulator={"actions_per_s": 400.0})
    recording = tmp_path / "recording"
    recording.mkdir()
    await record_clocked(upstream, clock, Market.UM, ["btcusdt@depth@100ms"], recording, messages=25, snapshots=1)
    db = tmp_path / "venue.db"
    AccountStore(db).create_account("a", [(Market.UM, "BTC", 10**8)], 0)
    replay = ReplayConfig(paths=(str(recording),), speed=2.0, paused=True)
    plant = await start_server(venue_db=str(db), replay=replay)
    view = plant.listeners[Market.UM].view
    btc = view.symbol("BTCUSDT")
    assert btc is not None
    plant.source.resume()  # type: ignore[attr-defined]
    await eventually(lambda: view.book(btc).last_update_id > 0, 10 * SECONDS)
    plant.source.pause()  # type: ignore[attr-defined]
    assert view.marks.mark("BTCUSDT") is None  # no mark price in a depth-only recording
    venue_price = asset_price("BTC", plant.engines[Market.UM].mark)  # the book's mid
    port = plant.listeners[Market.UM].port
    url = f"http://127.0.0.1:{port}/fapi/v1/assetIndex?symbol=BTCUSD"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        row = await response.json()
    assert venue_price is not None and Decimal(row["index"]) == Decimal(venue_price.numerator) / venue_price.denominator
