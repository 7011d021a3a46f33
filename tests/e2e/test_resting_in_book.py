# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Resting orders in the one book (feeds/simulator/simulated_book.py) over real
sockets, by python-binance: a user's resting order is in the public depth and
`@bookTicker` at once, at the back of its level; another account's market buy takes the
level's queue from the front, and the user's fill is its own public trade, the same id in
both accounts' trades and in `trades`; a cancel takes it out of the depth; on a moving
market the simulated flow fills a resting bid by a public trade at its price."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import msgspec
import pytest
from conftest import StartServer
from rawws import TEXT
from test_user_events import raw_user_stream
from test_venue_clients import Venue, closing, moving_market, python_binance, venue  # noqa: F401
from timing import SECONDS

from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.venue.domain.money import parse_amount

STILL = {"actions_per_s": 1e-9}  # a market that does not move: the book can be compared exactly


async def test_a_resting_order_is_in_the_book_and_a_taker_fills_it_by_its_own_trade(
    start_server: StartServer, venue: Venue, closing: list[Any]
) -> None:
    venue.store.deposit(venue.bob, Market.UM, "USDT", parse_amount("100000"), SystemClock().now_ms())
    plant = await start_server(simulator=STILL, venue_db=str(venue.path))
    engine = plant.engines[Market.UM]
    inst = engine.instruments["ETHUSDT"]
    ask, level = next(engine.data.levels("ETHUSDT", False))
    mine = 500  # 0.500 ETH
    price, qty = fixed(ask, inst.price_decimals), fixed(mine, inst.qty_decimals)
    alice = await python_binance(plant, closing, venue.alice_hmac)
    bob = await python_binance(plant, closing, venue.bob_hmac)
    port = plant.listeners[Market.UM].port
    async with aiohttp.ClientSession() as session, session.ws_connect(
        f"ws://127.0.0.1:{port}/ws/ethusdt@bookTicker"
    ) as tickers:
        order = await alice.futures_create_order(
            symbol="ETHUSDT", side="SELL", type="LIMIT", timeInForce="GTC", price=price, quantity=qty
        )
        assert order["status"] == "NEW"
        while True:  # the best ask's quantity grows by hers, pushed at once
            ticker = msgspec.json.decode((await tickers.receive(timeout=5 * SECONDS)).data)
            if Decimal(ticker["A"]) == Decimal(fixed(level + mine, inst.qty_decimals)):
                break
        assert ticker["a"] == price
    depth = await bob.futures_order_book(symbol="ETHUSDT", limit=5)
    assert [Decimal(x) for x in depth["asks"][0]] == [Decimal(price), Decimal(fixed(level + mine, inst.qty_decimals))]
    bought = level + mine // 2  # all in front of hers, and half of hers
    await bob.futures_create_order(
        symbol="ETHUSDT", side="BUY", type="MARKET", quantity=fixed(bought, inst.qty_decimals)
    )
    bobs = await bob.futures_account_trades(symbol="ETHUSDT")
    alices = await alice.futures_account_trades(symbol="ETHUSDT")
    assert [(Decimal(t["price"]), Decimal(t["qty"]), t["maker"]) for t in bobs] == [
        (Decimal(price), Decimal(fixed(level, inst.qty_decimals)), False),  # the simulator's, in front
        (Decimal(price), Decimal(fixed(mine // 2, inst.qty_decimals)), False),  # hers
    ]
    assert [(t["id"], Decimal(t["qty"]), t["maker"], t["side"]) for t in alices] == [
        (bobs[1]["id"], Decimal(fixed(mine // 2, inst.qty_decimals)), True, "SELL")
    ]  # one public trade per maker order: hers has its own id
    assert bobs[1]["id"] == bobs[0]["id"] + 1
    public = {t["id"]: t for t in await bob.futures_recent_trades(symbol="ETHUSDT", limit=10)}
    assert [(Decimal(public[t["id"]]["qty"]), public[t["id"]]["isBuyerMaker"]) for t in bobs] == [
        (Decimal(t["qty"]), False) for t in bobs
    ]
    status = await alice.futures_get_order(symbol="ETHUSDT", orderId=order["orderId"])
    assert status["status"] == "PARTIALLY_FILLED" and Decimal(status["executedQty"]) == Decimal(mine // 2) / 1000

    async def best_ask() -> list[Decimal]:
        depth = await bob.futures_order_book(symbol="ETHUSDT", limit=5)
        return [Decimal(x) for x in depth["asks"][0]]

    assert await best_ask() == [Decimal(price), Decimal(fixed(mine - mine // 2, inst.qty_decimals))]  # hers
    await alice.futures_cancel_order(symbol="ETHUSDT", orderId=order["orderId"])
    for _ in range(100):
        if (await best_ask())[0] != Decimal(price):
            break
    assert (await best_ask())[0] > Decimal(price)  # her level is gone with her order


async def test_the_simulated_flow_fills_a_resting_bid_by_a_public_trade_at_its_price(
    start_server: StartServer, venue: Venue, closing: list[Any]
) -> None:
    market = await moving_market(start_server, venue, closing, 1_794_988_800_000, seed=3)
    client, engine = market.client, market.engine
    inst = engine.instruments["BTCUSDT"]
    bid, level = next(engine.data.levels("BTCUSDT", True))
    price = fixed(bid, inst.price_decimals)
    order = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTX", quantity="0.010", price=price
    )
    depth = await client.futures_order_book(symbol="BTCUSDT", limit=5)
    assert depth["bids"][0] == [price, fixed(level + 10, inst.qty_decimals)]  # hers at the back
    for _ in range(300):  # the flow fills it, or the bid leaves it behind and it follows
        await market.advance(1_000)
        order = await client.futures_get_order(symbol="BTCUSDT", orderId=order["orderId"])
        if order["status"] == "FILLED":
            break
        bid = next(engine.data.levels("BTCUSDT", True))[0]
        if fixed(bid, inst.price_decimals) != order["price"] and Decimal(order["executedQty"]) == 0:
            order = await client.futures_modify_order(
                symbol="BTCUSDT", orderId=order["orderId"], side="BUY", quantity="0.010",
                price=fixed(bid, inst.price_decimals),
            )  # fmt: skip
    assert order["status"] == "FILLED"
    fills = await client.futures_account_trades(symbol="BTCUSDT")
    assert fills and all(t["maker"] for t in fills)
    public = {t["id"]: t for t in await client.futures_recent_trades(symbol="BTCUSDT", limit=1000)}
    for fill in fills:  # each fill is a public trade of its own: a seller took her bid
        trade = public[fill["id"]]
        assert (Decimal(trade["price"]), Decimal(trade["qty"]), trade["isBuyerMaker"], trade["time"]) == (
            Decimal(fill["price"]), Decimal(fill["qty"]), True, fill["time"]
        )


@pytest.mark.parametrize("mode", ["NONE", "EXPIRE_MAKER", "EXPIRE_TAKER", "EXPIRE_BOTH"])
async def test_self_trade_prevention_when_an_accounts_orders_meet(
    start_server: StartServer, venue: Venue, closing: list[Any], mode: str
) -> None:
    """Part 2 §10: her market buy meets her own resting ask at the touch. NONE trades with
    itself (one public trade, both sides hers); EXPIRE_MAKER expires the ask in match and
    buys from the simulator's quantity; EXPIRE_TAKER stops the buy there (nothing better
    than her ask: nothing filled), the ask stays; EXPIRE_BOTH expires both. Her user data
    stream says each expiry in match came of self-trade prevention (part 4 §3.1: ``er`` "1")."""
    plant = await start_server(simulator=STILL, venue_db=str(venue.path))
    inst = plant.engines[Market.UM].instruments["ETHUSDT"]
    ask, level = next(plant.engines[Market.UM].data.levels("ETHUSDT", False))
    alice = await python_binance(plant, closing, venue.alice_hmac)
    user = await raw_user_stream(plant, alice)
    price = fixed(ask, inst.price_decimals)
    resting = await alice.futures_create_order(
        symbol="ETHUSDT", side="SELL", type="LIMIT", timeInForce="GTC", price=price, quantity="0.100"
    )
    buy = await alice.futures_create_order(
        symbol="ETHUSDT", side="BUY", type="MARKET", quantity=fixed(level + 100, inst.qty_decimals),
        selfTradePreventionMode=mode, newOrderRespType="RESULT",
    )  # fmt: skip
    sell = await alice.futures_get_order(symbol="ETHUSDT", orderId=resting["orderId"])
    trades = await alice.futures_account_trades(symbol="ETHUSDT")
    makers = [t for t in trades if t["maker"]]
    if mode == "NONE":
        assert (buy["status"], sell["status"]) == ("FILLED", "FILLED")
        assert [t["id"] for t in makers] == [t["id"] for t in trades if not t["maker"] and Decimal(t["price"]) == Decimal(price)][1:]
        # the self-trade's two fills, one trade: its two COMMISSION rows, each its own tranId (§4.11)
        rows = await alice.futures_income_history(symbol="ETHUSDT", incomeType="COMMISSION")
        assert len(rows) == len(trades) and len({r["tranId"] for r in rows}) == len(rows), rows
    elif mode == "EXPIRE_MAKER":
        assert (buy["status"], sell["status"]) == ("FILLED", "EXPIRED_IN_MATCH") and not makers
        assert Decimal(buy["executedQty"]) == Decimal(fixed(level + 100, inst.qty_decimals))
    else:
        assert buy["status"] == "EXPIRED_IN_MATCH" and buy["executedQty"] == "0.000" and not trades
        assert sell["status"] == ("NEW" if mode == "EXPIRE_TAKER" else "EXPIRED_IN_MATCH")
    expired = {o["orderId"] for o in (buy, sell) if o["status"] == "EXPIRED_IN_MATCH"}
    told: dict[int, str] = {}
    while set(told) != expired:  # the events were written before the answers: waiting for none
        event = msgspec.json.decode((await user.recv_until(TEXT)).payload)
        if event["e"] == "ORDER_TRADE_UPDATE" and event["o"]["X"] == "EXPIRED_IN_MATCH":
            told[event["o"]["i"]] = event["o"]["er"]
    assert all(er == "1" for er in told.values()), told
    await user.close()


async def test_an_amendment_that_crosses_keeps_its_self_trade_prevention(
    start_server: StartServer, venue: Venue, closing: list[Any]
) -> None:
    """Part 2: a modified order keeps its STP mode; amended up to her own ask, an
    EXPIRE_TAKER bid expires in match and the ask stays."""
    plant = await start_server(simulator=STILL, venue_db=str(venue.path))
    engine = plant.engines[Market.UM]
    inst = engine.instruments["ETHUSDT"]
    ask, _ = next(engine.data.levels("ETHUSDT", False))
    bid, _ = next(engine.data.levels("ETHUSDT", True))
    alice = await python_binance(plant, closing, venue.alice_hmac)
    sell = await alice.futures_create_order(
        symbol="ETHUSDT", side="SELL", type="LIMIT", timeInForce="GTC", price=fixed(ask, inst.price_decimals),
        quantity="0.100",
    )  # fmt: skip
    buy = await alice.futures_create_order(
        symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", price=fixed(bid, inst.price_decimals),
        quantity="0.100", selfTradePreventionMode="EXPIRE_TAKER",
    )  # fmt: skip
    amended = await alice.futures_modify_order(
        symbol="ETHUSDT", orderId=buy["orderId"], side="BUY", quantity="0.100", price=fixed(ask, inst.price_decimals)
    )
    assert (amended["status"], amended["executedQty"]) == ("EXPIRED_IN_MATCH", "0.000")
    assert (await alice.futures_get_order(symbol="ETHUSDT", orderId=sell["orderId"]))["status"] == "NEW"
    assert await alice.futures_account_trades(symbol="ETHUSDT") == []
