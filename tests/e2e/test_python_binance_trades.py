"""python-binance's futures trades calls against tickerplant (spec §7.9):
`futures_recent_trades`, `futures_aggregate_trades` and their COIN-M twins, checked against
the plant's last trade."""

from __future__ import annotations

from typing import Any

from conftest import StartServer
from test_python_binance import STILL, client_for, clients  # noqa: F401 (a fixture)

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed


async def test_recent_and_aggregate_trades(start_server: StartServer, clients: list[Any]) -> None:  # noqa: F811
    plant = await start_server(simulator=STILL)
    client = await client_for(plant, clients)
    um = plant.plants[Market.UM].symbols["BTCUSDT"].window
    recent = await client.futures_recent_trades(symbol="BTCUSDT", limit=5)
    assert list(recent[-1]) == ["id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isRPITrade"]
    assert (recent[-1]["id"], recent[-1]["price"], recent[-1]["time"]) == (um.last_id, fixed(um.close, 2), um.last_time_ms)
    aggregates = await client.futures_aggregate_trades(symbol="BTCUSDT", limit=5)
    assert [a["l"] for a in aggregates] == [t["id"] for t in recent]
    start = aggregates[0]["T"]
    window = await client.futures_aggregate_trades(symbol="BTCUSDT", startTime=start, endTime=start + 3_600_000)
    assert window[0]["T"] >= start and window[-1]["a"] == aggregates[-1]["a"]
    older = await client.futures_aggregate_trades(symbol="BTCUSDT", fromId=aggregates[0]["a"], limit=2)
    assert older == aggregates[:2]

    cm = plant.plants[Market.CM].symbols["BTCUSD_PERP"].window
    coin = await client.futures_coin_recent_trades(symbol="BTCUSD_PERP", limit=3)
    assert list(coin[-1]) == ["id", "price", "qty", "baseQty", "time", "isBuyerMaker"]
    assert (coin[-1]["id"], coin[-1]["price"]) == (cm.last_id, fixed(cm.close, 1))
    coin_aggregates = await client.futures_coin_aggregate_trades(symbol="BTCUSD_PERP", limit=3)
    assert [a["l"] for a in coin_aggregates] == [t["id"] for t in coin] and "nq" not in coin_aggregates[0]
