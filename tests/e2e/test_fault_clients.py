# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""The fault profile against real clients at their defaults (docs/faults.md): each
order-entry fault raises each client's own error class, what the venue holds stays exact
(an order behind an unknown outcome is in ``openOrders``; nothing behind a failure), and a
ccxt bot that queries after an unknown outcome ends with the right position while one that
blindly retries ends doubled, as on Binance."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt
import msgspec
import pytest
from binance.exceptions import BinanceAPIException, BinanceRequestException
from binance_common.configuration import ConfigurationRestAPI
from binance_common.errors import ServerError
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from ccxt_hosts import point
from conftest import StartServer
from prometheus_client import generate_latest
from rawws import TEXT
from test_user_events import raw_user_stream
from test_venue_clients import STILL, Key, Venue, closing, python_binance, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.domain.money import parse_amount

# each fault on a symbol of its own, so one server shows them all
BY_SYMBOL = {
    "BNBUSDT": "internal-error",
    "SOLUSDT": "service-unavailable",
    "XRPUSDT": "throttled",
    "ADAUSDT": "request-timeout",
    "BTCUSDT": "unknown-error",  # placed: the order is in the book behind the 503
    "ETHUSDT": "timeout",  # -1007: placed 50 ms after the answer
}


def profile(alice: int) -> str:
    extra = {"unknown-error": "placed = 1\n", "timeout": "delay_ms = 50\n"}
    tables = [
        f'[[fault]]\nkind = "{kind}"\nrate = 1\nsymbols = ["{symbol}"]\naccounts = [{alice}]\n{extra.get(kind, "")}'
        for symbol, kind in BY_SYMBOL.items()
    ]
    return "\n".join(tables)


def limit_below(plant: Tickerplant, symbol: str) -> tuple[str, str]:
    """A resting buy's quantity and price: about 150 USDT a little under the bid."""
    engine = plant.engines[Market.UM]
    inst = engine.instruments[symbol]
    bid = next(engine.data.levels(symbol, True))[0]
    price = bid - bid // 200 // inst.tick * inst.tick
    text = fixed(price, inst.price_decimals)
    steps = -(-Decimal(150) / Decimal(text) // (Decimal(inst.step) / 10**inst.qty_decimals))
    quantity = fixed(int(steps) * inst.step, inst.qty_decimals)
    return quantity, text


def ccxt_sync(plant: Tickerplant, key: Key) -> Any:
    """ccxt's synchronous ``binanceusdm`` as its README makes it, Binance's hosts replaced."""
    local = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    exchange = ccxt.binanceusdm({"apiKey": key.api_key, "secret": key.secret})
    return point(exchange, {"https://fapi.binance.com": local, "https://api.binance.com": local})


async def test_each_order_fault_raises_each_client_s_class(
    start_server: StartServer, venue: Venue, closing: list[Any]
) -> None:
    plant = await start_server(
        simulator=STILL, venue_db=str(venue.path), faults={"profile_text": profile(venue.alice)}
    )
    orders = {symbol: limit_below(plant, symbol) for symbol in BY_SYMBOL}
    port = plant.listeners[Market.UM].port
    exchange = ccxt_sync(plant, venue.alice_hmac)
    binance = await python_binance(plant, closing, venue.alice_hmac)
    sdk = DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(
            api_key=venue.alice_hmac.api_key,
            api_secret=venue.alice_hmac.secret,
            base_path=f"http://127.0.0.1:{port}",
        )
    )

    def by_ccxt(symbol: str) -> str:
        quantity, price = orders[symbol]
        market = exchange.market(symbol)["symbol"] if exchange.markets else None
        if market is None:
            exchange.load_markets()
            market = exchange.market(symbol)["symbol"]
        try:
            exchange.create_order(market, "limit", "buy", float(quantity), float(price))
        except ccxt.BaseError as raised:
            return type(raised).__name__
        return "placed"

    async def by_python_binance(symbol: str) -> str:
        quantity, price = orders[symbol]
        try:
            await binance.futures_create_order(
                symbol=symbol, side="BUY", type="LIMIT", timeInForce="GTC", quantity=quantity, price=price
            )
        except BinanceAPIException as raised:
            return f"BinanceAPIException {raised.status_code} {raised.code}"
        except BinanceRequestException as raised:
            return f"BinanceRequestException {raised.message[:20]}"
        return "placed"

    def by_sdk(symbol: str) -> str:
        quantity, price = orders[symbol]
        try:
            sdk.rest_api.new_order(
                symbol=symbol, side="BUY", type="LIMIT", time_in_force="GTC", quantity=float(quantity),
                price=float(price),
            )  # fmt: skip
        except ServerError as raised:
            return f"ServerError {raised.status_code}"
        except Exception as raised:
            return type(raised).__name__
        return "placed"

    raised = {}
    for symbol, kind in BY_SYMBOL.items():
        raised[kind] = (
            await asyncio.to_thread(by_ccxt, symbol),
            await by_python_binance(symbol),
            await asyncio.to_thread(by_sdk, symbol),
        )
    assert raised == {
        # ccxt's class from its common table (under Binance's own hosts its linear table has
        # -1008 as OperationFailed); python-binance's status and code; the SDK's class
        "internal-error": ("OperationFailed", "BinanceAPIException 503 -1001", "ServerError 503"),
        "service-unavailable": ("ExchangeNotAvailable", "BinanceAPIException 503 0", "ServerError 503"),
        "throttled": ("ExchangeError", "BinanceAPIException 503 -1008", "ServerError 503"),
        "request-timeout": ("RequestTimeout", "BinanceAPIException 408 0", "ClientError"),
        "unknown-error": ("OperationFailed", "BinanceAPIException 503 -1000", "ServerError 503"),
        "timeout": ("RequestTimeout", "BinanceAPIException 503 -1007", "ServerError 503"),
    }

    # the truth: behind the unknown outcome and the -1007 the orders are in the book, three
    # each (one a client); behind the failures nothing
    async def open_count() -> dict[str, int]:
        rows = await binance.futures_get_open_orders()
        return {symbol: sum(row["symbol"] == symbol for row in rows) for symbol in BY_SYMBOL}

    async with asyncio.timeout(5):  # each look is a request: -1007's order lands 50 ms after its answer
        while len(await binance.futures_get_open_orders(symbol="ETHUSDT")) < 3:
            pass
    assert await open_count() == {
        "BNBUSDT": 0,
        "SOLUSDT": 0,
        "XRPUSDT": 0,
        "ADAUSDT": 0,
        "BTCUSDT": 3,
        "ETHUSDT": 3,
    }
    history = await binance.futures_get_all_orders(symbol="BTCUSDT")  # the journal's reads
    assert [row["status"] for row in history] == ["NEW"] * 3
    # -1008 spares a reduce-only order: it reaches the venue, which refuses it for its own reason
    with pytest.raises(BinanceAPIException) as refused:
        await binance.futures_create_order(symbol="XRPUSDT", side="SELL", type="MARKET", quantity="100",
                                           reduceOnly="true")  # fmt: skip
    assert refused.value.code == -2022  # ReduceOnly Order is rejected: no position
    counted = plant.listeners[Market.UM].faults
    assert counted is not None
    assert {kind.value: n for kind, n in counted.decider.record.counts.items()} == dict.fromkeys(
        BY_SYMBOL.values(), 3
    )


def bot_profile(careful: int, blind: int) -> str:
    """Every market order of ``careful``'s meets the 503 "Unknown error…" and is placed; of
    ``blind``'s, half (seeded: under seed 1 the first does, the second does not)."""
    unknown = '[[fault]]\nkind = "unknown-error"\nplaced = 1\nsymbols = ["BTCUSDT"]\n'
    return f"{unknown}rate = 1\naccounts = [{careful}]\n\n{unknown}rate = 0.5\naccounts = [{blind}]\n"


def contracts(exchange: Any) -> float:
    """The account's BTCUSDT position, as ccxt reads it."""
    positions = exchange.fetch_positions(["BTC/USDT:USDT"])
    return float(sum(p["contracts"] or 0 for p in positions))


def careful_bot(exchange: Any, amount: float) -> list[str]:
    """Buys ``amount`` once: after an unknown outcome it asks for its position before it
    sends again (Binance: "do not retry blindly", part 1 §6.2)."""
    said = []
    while True:
        try:
            exchange.create_order("BTC/USDT:USDT", "market", "buy", amount)
            return [*said, "filled"]
        except (ccxt.OperationFailed, ccxt.ExchangeNotAvailable, ccxt.RequestTimeout) as unknown:
            said.append(type(unknown).__name__)
            held = contracts(exchange)
            if held >= amount:
                return [*said, "found"]


def blind_bot(exchange: Any, amount: float) -> list[str]:
    """Buys ``amount``, sending again whenever the answer is an error."""
    said = []
    while True:
        try:
            exchange.create_order("BTC/USDT:USDT", "market", "buy", amount)
            return [*said, "filled"]
        except (ccxt.OperationFailed, ccxt.ExchangeNotAvailable, ccxt.RequestTimeout) as unknown:
            said.append(type(unknown).__name__)


async def test_a_bot_that_queries_ends_right_and_one_that_retries_ends_doubled(
    start_server: StartServer, venue: Venue
) -> None:
    store, now = venue.store, plant_now()
    made = [
        store.create_account(name, [(Market.UM, "USDT", parse_amount("10000"))], now) for name in ("c", "d")
    ]
    keys = [Key(store.add_key(a.account_id, KeyType.HMAC, s * 64, now_ms=now).api_key, s * 64)
            for a, s in zip(made, "CD", strict=True)]  # fmt: skip
    text = bot_profile(made[0].account_id, made[1].account_id)
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), faults={"profile_text": text})
    careful, blind = (ccxt_sync(plant, key) for key in keys)
    assert await asyncio.to_thread(careful_bot, careful, 0.002) == ["OperationFailed", "found"]
    assert await asyncio.to_thread(blind_bot, blind, 0.002) == ["OperationFailed", "filled"]
    held = [await asyncio.to_thread(contracts, bot) for bot in (careful, blind)]
    assert held == [0.002, 0.004]  # the blind one doubled


def plant_now() -> int:
    return SystemClock().now_ms()


async def test_a_slow_acknowledgement_and_a_maintenance_window(
    start_server: StartServer, venue: Venue, closing: list[Any]
) -> None:
    text = (
        f'[[fault]]\nkind = "slow-ack"\nrate = 1\ndelay_ms = 300\naccounts = [{venue.alice}]\n\n'
        f'[[fault]]\nkind = "maintenance"\nat = "+0s"\nfor_s = 3600\naccounts = [{venue.bob}]\n'
    )
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), faults={"profile_text": text})
    alice = await python_binance(plant, closing, venue.alice_hmac)
    user = await raw_user_stream(plant, alice)
    quantity, price = limit_below(plant, "LINKUSDT")
    placing = asyncio.ensure_future(alice.futures_create_order(
        symbol="LINKUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity=quantity, price=price))  # fmt: skip
    event = msgspec.json.decode((await user.recv_until(TEXT)).payload)
    assert event["e"] == "ORDER_TRADE_UPDATE" and event["o"]["X"] == "NEW"
    assert not placing.done()  # the event came first; the answer is held
    assert (await placing)["orderId"] == event["o"]["i"]
    await user.close()
    # bob's private endpoints are down for the window; market data is not
    bob = await python_binance(plant, closing, venue.bob_hmac)
    with pytest.raises(BinanceAPIException) as down:
        await bob.futures_account_balance()
    assert (down.value.status_code, down.value.code) == (503, 0)  # a bare text: no code
    assert (await bob.futures_symbol_ticker(symbol="BTCUSDT"))["symbol"] == "BTCUSDT"
    metrics = generate_latest(plant.registry).decode()
    assert 'tickerplant_faults_total{kind="slow-ack",market="um"} 1.0' in metrics
    assert 'tickerplant_faults_total{kind="maintenance",market="um"} 1.0' in metrics
    listed = plant.status()["listeners"]["um"]["faults"]  # /api/status, the dashboard's, newest first
    assert [(f["kind"], f["where"], f["account"]) for f in listed] == [
        ("maintenance", "GET /fapi/v3/balance", venue.bob), ("slow-ack", "POST /fapi/v1/order", venue.alice)
    ]  # fmt: skip


async def test_service_unavailable_is_not_counted_and_tells_the_weight(
    start_server: StartServer, venue: Venue
) -> None:
    """A maintenance window's "Service Unavailable." is not counted (part 1 §6.2's 503 (2),
    §7.2) and carries the IP's weight as every answer does (§7.3): a client retrying
    ``openOrders`` (weight 40) through it spent its IP's weight to 429 and 418 unseen."""
    text = f'[[fault]]\nkind = "maintenance"\nat = "+0s"\naccounts = [{venue.alice}]\n'
    # on a clock that stands still (the requests signed by it): the counts compared below are
    # one minute's, which the system clock turned among the requests now and then
    plant = await start_server(
        simulator=STILL, venue_db=str(venue.path), faults={"profile_text": text}, request_weight_per_min=100,
        clock=ManualClock(SystemClock().now_ms()),
    )  # fmt: skip
    port = plant.listeners[Market.UM].port
    key = venue.alice_hmac
    async with aiohttp.ClientSession() as session:

        async def open_orders() -> tuple[int, str, str | None]:
            query = f"timestamp={plant.clock.now_ms()}"
            query += f"&signature={hmac_hex(key.secret, query.encode())}"
            url = f"http://127.0.0.1:{port}/fapi/v1/openOrders?{query}"
            async with session.get(url, headers={"X-MBX-APIKEY": key.api_key}) as answer:
                return answer.status, await answer.text(), answer.headers.get("X-MBX-USED-WEIGHT-1M")

        answers = [await open_orders() for _ in range(4)]  # 160 of weight, were it counted
        assert {(status, body) for status, body, _ in answers} == {(503, "Service Unavailable.")}
        assert [used for _, _, used in answers] == ["0"] * 4
        async with session.get(f"http://127.0.0.1:{port}/fapi/v1/time") as answer:
            assert (answer.status, answer.headers["X-MBX-USED-WEIGHT-1M"]) == (200, "1")

        # the WebSocket API's methods alike (its weight is REST's): account.status, weight 5
        async with session.ws_connect(f"ws://127.0.0.1:{port}/ws-fapi/v1") as ws:
            counts = []
            for n in range(4):
                params: dict[str, object] = {"apiKey": key.api_key, "timestamp": plant.clock.now_ms()}
                payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
                params["signature"] = hmac_hex(key.secret, payload.encode())
                await ws.send_bytes(msgspec.json.encode({"id": n, "method": "account.status", "params": params}))
                reply = msgspec.json.decode((await asyncio.wait_for(ws.receive(), 10)).data)
                assert (reply["status"], reply["error"]) == (503, {"code": -1001, "msg": "Service Unavailable."})
                counts += [r["count"] for r in reply["rateLimits"] if r["rateLimitType"] == "REQUEST_WEIGHT"]
        async with session.get(f"http://127.0.0.1:{port}/fapi/v1/time") as answer:
            used = int(answer.headers["X-MBX-USED-WEIGHT-1M"])
        assert len(counts) == 4 and len(set(counts)) == 1 and used == counts[0] + 1, (counts, used)
