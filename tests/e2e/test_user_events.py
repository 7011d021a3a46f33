# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""The account's events on the user data stream, from orders placed over REST, received by
python-binance's futures user socket and ccxt.pro's ``watch_orders``/``watch_my_trades``
unchanged but for their base URLs: captured key orders (trading part 4 §3), part 4 §4.3's
order (TRADE_LITE first, NEW, then per fill ACCOUNT_UPDATE and its TRADE), and figures that
agree with the REST reads of the same orders, trades and account."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import msgspec
from binance import BinanceSocketManager
from rawws import TEXT, RawWebSocket
from test_ccxt_trading import trader
from test_venue_clients import Key, Venue, closing, plant, python_binance, venue  # noqa: F401
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

# part 4 §3.1: the 2024-2026 captures' `o` keys, in their order
ORDER_KEYS = [
    "s", "c", "S", "o", "f", "q", "p", "ap", "sp", "x", "X", "i", "l", "z", "L", "n", "N", "T", "t", "b", "a",
    "m", "R", "wt", "ot", "ps", "cp", "rp", "pP", "si", "ss", "V", "pm", "gtd", "er",
]  # fmt: skip
TRADE_LITE_KEYS = ["e", "E", "T", "s", "q", "p", "m", "c", "S", "L", "l", "t", "i"]
POSITION_KEYS = ["s", "pa", "ep", "cr", "up", "mt", "iw", "ps", "ma", "bep"]


def below_best_bid(plant: Tickerplant, by: int) -> str:
    bid = next(plant.engines[Market.UM].data.levels("BTCUSDT", True))[0]
    return fixed(bid - by, plant.engines[Market.UM].instruments["BTCUSDT"].price_decimals)


async def test_python_binance_sees_its_orders_fills_and_account_in_order(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    client = await python_binance(plant, closing, venue.alice_hmac)
    sockets = BinanceSocketManager(client, max_queue_size=1000)
    sockets.FSTREAM_URL = f"ws://127.0.0.1:{um.port}/"
    user = sockets.futures_user_socket()  # POSTs its listen key, dials /private/ws?listenKey=
    await user.__aenter__()
    await eventually(lambda: len(um.streams.connections) == 1)

    price = below_best_bid(plant, 50_000)
    placed = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price=price
    )
    new = await user.recv()
    assert list(new) == ["e", "T", "E", "o"] and list(new["o"]) == ORDER_KEYS
    o = new["o"]
    assert (o["x"], o["X"], o["i"], o["c"], o["T"]) == ("NEW", "NEW", placed["orderId"], placed["clientOrderId"],
                                                        new["T"])  # fmt: skip
    assert (o["q"], o["p"], o["ap"], o["l"], o["z"], o["L"], o["n"], o["N"], o["t"]) == (
        "0.01", price.rstrip("0").rstrip("."), "0", "0", "0", "0", "0", "USDT", 0,
    )  # fmt: skip
    assert Decimal(o["b"]) == Decimal(price) * Decimal("0.010") and o["a"] == "0"  # its own notional (§3.1)
    await client.futures_cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    cancelled = (await user.recv())["o"]
    assert (cancelled["x"], cancelled["X"], cancelled["b"], cancelled["er"]) == ("CANCELED", "CANCELED", "0", "0")

    bought = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.200", newOrderRespType="RESULT"
    )
    trades = [t for t in await client.futures_account_trades(symbol="BTCUSDT") if t["orderId"] == bought["orderId"]]
    events = [await user.recv() for _ in range(1 + 3 * len(trades))]
    kinds = [e["e"] for e in events]
    assert kinds == ["TRADE_LITE"] * len(trades) + ["ORDER_TRADE_UPDATE"] + [
        "ACCOUNT_UPDATE", "ORDER_TRADE_UPDATE"] * len(trades)  # part 4 §4.3, item 2  # fmt: skip
    lites, fills = events[: len(trades)], events[len(trades) + 2 :: 2]
    assert all(list(lite) == TRADE_LITE_KEYS for lite in lites)
    assert [lite["t"] for lite in lites] == [f["o"]["t"] for f in fills] == [t["id"] for t in trades]
    assert lites[0]["q"] == "0.200" and lites[0]["p"] == "0.00"  # padded, a MARKET order's price (§3.3)
    assert [f["o"]["X"] for f in fills] == ["PARTIALLY_FILLED"] * (len(trades) - 1) + ["FILLED"]
    assert fills[-1]["o"]["z"] == "0.2" and fills[-1]["o"]["m"] is False
    got = await client.futures_get_order(symbol="BTCUSDT", orderId=bought["orderId"])
    assert Decimal(fills[-1]["o"]["ap"]) == Decimal(got["avgPrice"])
    assert sum(Decimal(f["o"]["n"]) for f in fills) == sum(Decimal(t["commission"]) for t in trades)
    last = events[-2]
    assert list(last) == ["e", "T", "E", "a"] and list(last["a"]) == ["B", "P", "m"] and last["a"]["m"] == "ORDER"
    assert list(last["a"]["P"][0]) == POSITION_KEYS and last["a"]["P"][0]["pa"] == "0.2"
    wallet = next(a for a in (await client.futures_account())["assets"] if a["asset"] == "USDT")["walletBalance"]
    assert last["a"]["B"] == [{"a": "USDT", "wb": wallet, "cw": wallet, "bc": "0"}]

    # python-binance's read loop sees that it is closing only when a frame comes
    leaving = asyncio.create_task(user.__aexit__(None, None, None))
    await asyncio.sleep(0)
    await client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.200", reduceOnly=True
    )
    await leaving


async def test_ccxt_pro_watches_its_orders_and_trades(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    exchange = trader(plant, venue.alice_hmac, closing)
    await exchange.load_markets()
    symbol = "BTC/USDT:USDT"
    watching = asyncio.create_task(exchange.watch_orders(symbol))
    await eventually(lambda: len(um.streams.connections) == 1)  # authenticated, /private/ws?listenKey=
    price = float(below_best_bid(plant, 50_000))
    order = await exchange.create_order(symbol, "limit", "buy", 0.01, price)
    seen = await watching
    assert (seen[-1]["id"], seen[-1]["status"], seen[-1]["price"], seen[-1]["amount"]) == (
        order["id"], "open", price, 0.01,
    )  # fmt: skip
    trading = asyncio.create_task(exchange.watch_my_trades(symbol))
    await asyncio.sleep(0)
    bought = await exchange.create_order(symbol, "market", "buy", 0.05)
    trades = await trading
    assert trades[0]["order"] == bought["id"] and trades[0]["side"] == "buy" and trades[0]["takerOrMaker"] == "taker"
    rest = await exchange.fetch_my_trades(symbol)
    assert trades[0]["id"] in {t["id"] for t in rest}
    await exchange.cancel_order(order["id"], symbol)


async def raw_user_stream(plant: Tickerplant, client: Any) -> RawWebSocket:
    """The account's user data stream, by a listen key ``client`` asked for, connected."""
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    key = await client.futures_stream_get_listen_key()
    user = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={key}")
    await eventually(lambda: len(um.streams.connections) == 1)
    return user


async def test_a_leverage_change_is_an_account_config_update(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """Part 4 §3.5: ``ACCOUNT_CONFIG_UPDATE`` with ``ac`` (``E`` before ``T``, as documented);
    setting the leverage it already has sends nothing."""
    client = await python_binance(plant, closing, venue.alice_hmac)
    user = await raw_user_stream(plant, client)
    await client.futures_change_leverage(symbol="ETHUSDT", leverage=20)  # the default already: nothing
    await client.futures_change_leverage(symbol="BTCUSDT", leverage=7)
    event = msgspec.json.decode((await user.recv_until(TEXT)).payload)
    assert list(event) == ["e", "E", "T", "ac"] and event["ac"] == {"s": "BTCUSDT", "l": 7}
    await user.close()


async def test_the_operators_deposit_and_withdrawal_reach_the_user_data_stream(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """Part 4 §3.4 and §5 item 7: a transfer in is ``ACCOUNT_UPDATE`` ``m=DEPOSIT`` with
    ``bc`` the amount and ``"P":[]``, ``E = T + 1``; out, ``WITHDRAW`` with ``bc`` negative;
    the wallet after each; the income history's ``TRANSFER`` rows."""
    client = await python_binance(plant, closing, venue.alice_hmac)
    user = await raw_user_stream(plant, client)
    now = plant.clock.now_ms()
    venue.store.deposit(venue.alice, Market.UM, "USDT", 250 * 10**8, now)  # as `accounts deposit` does
    deposit = msgspec.json.decode((await user.recv_until(TEXT)).payload)
    assert list(deposit) == ["e", "T", "E", "a"] and deposit["E"] == deposit["T"] + 1
    assert deposit["a"] == {"B": [{"a": "USDT", "wb": "10250.00000000", "cw": "10250.00000000", "bc": "250"}],
                            "P": [], "m": "DEPOSIT"}  # fmt: skip
    venue.store.deposit(venue.alice, Market.UM, "USDT", -50 * 10**8, plant.clock.now_ms())
    withdrawal = msgspec.json.decode((await user.recv_until(TEXT)).payload)
    assert withdrawal["a"]["m"] == "WITHDRAW" and withdrawal["a"]["B"][0]["bc"] == "-50"
    assert withdrawal["a"]["B"][0]["wb"] == "10200.00000000"
    income = await client.futures_income_history(incomeType="TRANSFER")
    assert [(i["incomeType"], i["income"], i["asset"]) for i in income] == [
        ("TRANSFER", "10000.00000000", "USDT"),  # the account's opening balance, made before the start
        ("TRANSFER", "250.00000000", "USDT"), ("TRANSFER", "-50.00000000", "USDT"),
    ]  # fmt: skip
    balance = {b["asset"]: b for b in await client.futures_account_balance()}
    assert Decimal(balance["USDT"]["balance"]) == Decimal("10200")
    await user.close()


async def test_a_deposit_is_told_before_the_order_right_after_it_that_counts_it(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """The order's signed request has the keyring read the deposit, so the order's
    ``ACCOUNT_UPDATE`` counts it: the ``DEPOSIT`` comes first, and each event's ``wb`` is the
    last one's plus its own change (a client that follows the wallet by the events' changes)."""
    client = await python_binance(plant, closing, venue.alice_hmac)
    user = await raw_user_stream(plant, client)
    venue.store.deposit(venue.alice, Market.UM, "USDT", 500 * 10**8, plant.clock.now_ms())
    await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.002")
    updates: list[dict[str, Any]] = []
    while len(updates) < 2:
        event = msgspec.json.decode((await user.recv_until(TEXT)).payload)
        if event["e"] == "ACCOUNT_UPDATE":
            updates.append(event["a"])
    assert [u["m"] for u in updates] == ["DEPOSIT", "ORDER"]
    deposit, order = (u["B"][0] for u in updates)
    assert (deposit["wb"], deposit["bc"]) == ("10500.00000000", "500")
    assert Decimal(order["wb"]) < Decimal("10500") and Decimal(order["wb"]) > Decimal("10499")  # the fee
    await user.close()
