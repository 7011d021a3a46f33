# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Binance's official `binance-sdk-derivatives-trading-coin-futures` at its defaults: made as
its README makes it (keys, and the three base URLs changed), it reads COIN-M's market data,
trades over REST and over the WebSocket API (`ws-dapi`), and hears its orders on the user
data stream (trading spec part 5, "Binance modular SDK")."""

from __future__ import annotations

import asyncio
from typing import Any

from binance_common.configuration import (
    ConfigurationRestAPI,
    ConfigurationWebSocketAPI,
    ConfigurationWebSocketStreams,
)
from binance_sdk_derivatives_trading_coin_futures.derivatives_trading_coin_futures import (
    DerivativesTradingCoinFutures,
)
from binance_sdk_derivatives_trading_coin_futures.rest_api.models import enums as rest
from binance_sdk_derivatives_trading_coin_futures.websocket_api.models import enums as ws
from test_venue_clients import Key, Venue, plant, venue  # noqa: F401
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

SYMBOL, PAIR = "BTCUSD_PERP", "BTCUSD"


def sdk(plant: Tickerplant, key: Key) -> DerivativesTradingCoinFutures:
    """The SDK as its README makes it, Binance's three base URLs replaced by the server's."""
    port = plant.listeners[Market.CM].port
    return DerivativesTradingCoinFutures(
        config_rest_api=ConfigurationRestAPI(
            api_key=key.api_key, api_secret=key.secret, base_path=f"http://127.0.0.1:{port}"
        ),
        config_ws_api=ConfigurationWebSocketAPI(
            api_key=key.api_key, api_secret=key.secret, stream_url=f"ws://127.0.0.1:{port}/ws-dapi/v1"
        ),
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=f"ws://127.0.0.1:{port}"),
    )


def _below(plant: Tickerplant, fraction: int) -> float:
    """A price ``fraction`` % under the best bid, on BTCUSD_PERP's tick (0.1)."""
    level = next(plant.engines[Market.CM].data.levels(SYMBOL, True), None)
    assert level is not None, "the simulated book is empty"
    return float(fixed(level[0] * (100 - fraction) // 100, 1))


async def test_the_coin_m_sdk_reads_the_market(plant: Tickerplant, venue: Venue) -> None:
    api = sdk(plant, venue.alice_hmac).rest_api
    engine = plant.engines[Market.CM]

    def read() -> dict[str, Any]:
        return {
            "info": api.exchange_information().data(),
            "book": api.order_book(symbol=SYMBOL, limit=5).data(),
            "premium": api.index_price_and_mark_price(pair=PAIR).data(),
            "klines": api.kline_candlestick_data(
                symbol=SYMBOL, interval=rest.KlineCandlestickDataIntervalEnum["INTERVAL_1h"].value, limit=24
            ).data(),
            "ticker": api.symbol_order_book_ticker(symbol=SYMBOL).data(),
            "brackets": api.notional_bracket_for_pair(pair=PAIR).data(),
            "ratios": api.top_trader_long_short_ratio_positions(
                pair=PAIR, period=rest.TopTraderLongShortRatioPositionsPeriodEnum["PERIOD_1h"].value
            ).data(),
        }

    got = await asyncio.to_thread(read)
    listed = {s.symbol for s in got["info"].symbols}
    assert listed == set(engine.instruments)
    bids = [(int(float(p) * 10), int(q)) for p, q in got["book"].bids]
    assert bids == list(engine.data.levels(SYMBOL, True))[:5]
    marks = {row.symbol: row.mark_price for row in got["premium"]}
    assert set(marks) == {s for s in engine.instruments if s.startswith(PAIR + "_")}
    assert marks[SYMBOL] == fixed(int(engine.mark(SYMBOL) * 10**8), 8)
    assert len(got["klines"]) == 24 and all(len(k) == 12 for k in got["klines"])
    assert got["ticker"][0].bid_price == got["book"].bids[0][0]
    assert got["brackets"][0].pair == PAIR and got["brackets"][0].brackets[0].initial_leverage == 125
    assert len(got["ratios"]) == 30 and got["ratios"][0].pair == PAIR


async def test_the_coin_m_sdk_trades_over_rest(plant: Tickerplant, venue: Venue) -> None:
    api = sdk(plant, venue.alice_hmac).rest_api
    price = _below(plant, 5)
    buy, limit, market = rest.NewOrderSideEnum["BUY"].value, rest.NewOrderTypeEnum["LIMIT"].value, "MARKET"
    gtc = rest.NewOrderTimeInForceEnum["GTC"].value

    def trade() -> dict[str, Any]:
        made: dict[str, Any] = {"leverage": api.change_initial_leverage(symbol=SYMBOL, leverage=10).data()}
        placed = api.new_order(symbol=SYMBOL, side=buy, type=limit, quantity=1.0, price=price, time_in_force=gtc)
        made["placed"] = order = placed.data()
        made["counts"] = placed.rate_limits
        made["open"] = api.current_all_open_orders(symbol=SYMBOL).data()
        made["modified"] = api.modify_order(
            symbol=SYMBOL, side=rest.ModifyOrderSideEnum["BUY"].value, order_id=order.order_id, quantity=2.0,
            price=price - 10,
        ).data()  # fmt: skip
        made["history"] = api.get_order_modify_history(symbol=SYMBOL, order_id=order.order_id).data()
        made["canceled"] = api.cancel_order(symbol=SYMBOL, order_id=order.order_id).data()
        batch = [{"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "quantity": "1", "price": str(price),
                  "timeInForce": "GTC"}] * 2  # fmt: skip
        made["batch"] = api.place_multiple_orders(batch_orders=batch).data()
        ids = [row.order_id for row in made["batch"]]
        made["batch_canceled"] = api.cancel_multiple_orders(symbol=SYMBOL, order_id_list=ids).data()
        made["filled"] = api.new_order(symbol=SYMBOL, side=buy, type=market, quantity=1.0).data()
        made["position"] = api.position_information(pair=PAIR).data()
        made["trades"] = api.account_trade_list(symbol=SYMBOL).data()
        made["balance"] = api.futures_account_balance().data()
        made["closed"] = api.new_order(
            symbol=SYMBOL, side=rest.NewOrderSideEnum["SELL"].value, type=market, quantity=1.0,
            reduce_only=rest.NewOrderReduceOnlyEnum["TRUE"].value,
        ).data()  # fmt: skip
        made["after"] = api.position_information(pair=PAIR).data()
        made["income"] = api.get_income_history(symbol=SYMBOL).data()
        return made

    got = await asyncio.to_thread(trade)
    assert (got["leverage"].leverage, got["leverage"].max_qty) == (10, "100")
    placed = got["placed"]
    assert (placed.status, placed.price, placed.orig_qty, placed.pair) == ("NEW", fixed(int(price * 10), 1), "1", PAIR)
    assert any(limit.rateLimitType == "ORDERS" and limit.count == 1 for limit in got["counts"])
    assert [o.order_id for o in got["open"]] == [placed.order_id]
    assert (got["modified"].orig_qty, got["modified"].price) == ("2", fixed(int(price * 10) - 100, 1))
    assert [(h.amendment.orig_qty.before, h.amendment.orig_qty.after) for h in got["history"]] == [("1", "2")]
    assert got["canceled"].status == "CANCELED"
    assert [o.status for o in got["batch"]] == ["NEW", "NEW"]
    assert [o.status for o in got["batch_canceled"]] == ["CANCELED", "CANCELED"]
    assert got["filled"].status == "NEW" and got["filled"].type == "MARKET"  # ACK: as accepted
    position = next(p for p in got["position"] if p.symbol == SYMBOL)
    (trade,) = got["trades"]
    assert (position.position_amt, position.entry_price[: len(trade.price)]) == ("1", trade.price)
    assert (trade.qty, trade.margin_asset, trade.commission_asset, trade.order_id) == (
        "1", "BTC", "BTC", got["filled"].order_id
    )  # fmt: skip
    btc = next(b for b in got["balance"] if b.asset == "BTC")
    assert float(btc.balance) == 1.5 - float(trade.commission)
    assert got["closed"].reduce_only is True
    assert next(p for p in got["after"] if p.symbol == SYMBOL).position_amt == "0"
    # the two fills' commissions (the round trip's PnL, under 1e-8 BTC here, writes no row)
    assert [row.income_type for row in got["income"]] == ["COMMISSION", "COMMISSION"]
    assert got["income"][0].trade_id == str(trade.id)


async def test_the_coin_m_sdk_trades_over_the_ws_api_and_hears_its_user_data(
    plant: Tickerplant, venue: Venue
) -> None:
    client = sdk(plant, venue.alice_hmac)
    price = _below(plant, 5)
    await client.websocket_api.create_connection()
    streams = await client.websocket_streams.create_connection()
    heard: list[Any] = []
    try:
        api = client.websocket_api
        key = (await api.start_user_data_stream()).data().result.listen_key
        handle = await streams.user_data(key)
        handle.on("message", heard.append)
        placed = (await api.new_order(
            symbol=SYMBOL, side=ws.NewOrderSideEnum["BUY"].value, type=ws.NewOrderTypeEnum["LIMIT"].value,
            quantity=1.0, price=price, time_in_force=ws.NewOrderTimeInForceEnum["GTC"].value,
        )).data().result  # fmt: skip
        assert (placed.status, placed.pair, placed.orig_qty) == ("NEW", PAIR, "1")
        queried = (await api.query_order(symbol=SYMBOL, order_id=placed.order_id)).data().result
        assert (queried.status, queried.cum_base) == ("NEW", "0.00000000")
        modified = (await api.modify_order(
            symbol=SYMBOL, order_id=placed.order_id, side=ws.ModifyOrderSideEnum["BUY"].value, quantity=2.0,
            price=price,
        )).data().result  # fmt: skip
        assert modified.orig_qty == "2"
        canceled = (await api.cancel_order(symbol=SYMBOL, order_id=placed.order_id)).data().result
        assert canceled.status == "CANCELED"
        balance = (await api.futures_account_balance()).data().result
        assert next(b for b in balance if b.asset == "BTC").balance == "1.50000000"
        positions = (await api.position_information()).data().result
        assert {p.symbol for p in positions} >= {SYMBOL}

        def updates() -> list[tuple[str, str]]:
            found = [m.actual_instance for m in heard]
            return [(u.o.x, u.o.X) for u in found if type(u).__name__ == "OrderTradeUpdate"]

        await eventually(lambda: len(updates()) == 3)
        assert updates() == [("NEW", "NEW"), ("AMENDMENT", "NEW"), ("CANCELED", "CANCELED")]
    finally:
        await client.websocket_streams.close_connection(close_session=True)
        await client.websocket_api.close_connection(close_session=True)
