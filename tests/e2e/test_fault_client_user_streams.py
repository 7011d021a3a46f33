# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""ccxt.pro's ``watch_orders``, ``watch_balance`` and ``watch_positions`` (binanceusdm, at its
defaults but for its hosts) against the user data stream's faults (docs/faults.md), one
account per fault, the server on a manual clock:

- an ``ORDER_TRADE_UPDATE`` dropped: ``watch_orders`` never sees the order, while the
  account's next event (its ``ACCOUNT_UPDATE``) reaches ``watch_balance``; ``fetch_order``
  has it: a bot that trusts the stream alone drifts, as on Binance;
- events held 3 s: ``watch_orders`` returns the order once the server's clock is 3 s on;
- the connection cut without a close frame: every pending watch raises ``NetworkError``
  (code 1006); the next ``watch_orders`` dials again with the same listen key and gets the
  next order;
- the listen key expired early: the pending watch raises ``NetworkError`` (code 1000), the
  ``listenKeyExpired`` event is not handed to the caller, and the next ``watch_orders`` dials
  the dead key again (ccxt asks for a new key only 20 minutes after the last, its
  ``listenKeyRefreshRate``): it hears nothing more, though the account's events go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

import aiohttp
import ccxt.pro as ccxtpro
import msgspec
import pytest
from ccxt_hosts import point
from conftest import StartServer
from rawws import TEXT, RawWebSocket
from test_fault_clients import limit_below
from test_venue_clients import STILL, Key, Venue, venue  # noqa: F401
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.faults.profile import FaultKind
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.domain.money import parse_amount

__all__ = ["accounts", "dialled", "fresh_stream", "place", "turns", "user_stream_profile"]

DELAY_MS = 3_000  # shrunk from the profiles' 5 to 20 s: within a signed request's window
EXPIRES_AT_S = 60  # the early expiry, after the server's start: the test's last step
LINK, BTC = "LINK/USDT:USDT", "BTC/USDT:USDT"


def accounts(venue: Venue, names: str) -> dict[str, tuple[int, Key]]:
    """One account per letter of ``names``, 10,000 USDT each, with an HMAC key."""
    store, now = venue.store, SystemClock().now_ms()
    made = {}
    for name in names:
        account = store.create_account(f"faults-{name}", [(Market.UM, "USDT", parse_amount("10000"))], now)
        secret = name.upper() * 64
        key = store.add_key(account.account_id, KeyType.HMAC, secret, now_ms=now).api_key
        made[name] = (account.account_id, Key(key, secret))
    return made


def user_stream_profile(drop: int, delay: int, cut: int, expire: int) -> str:
    """Each user data stream fault on an account of its own: a cut comes with the account's
    leverage change (``ACCOUNT_CONFIG_UPDATE``), the expiry at ``EXPIRES_AT_S``."""
    return (
        f'[[fault]]\nkind = "event-drop"\nrate = 1\naccounts = [{drop}]\nendpoints = ["ORDER_TRADE_UPDATE"]\n\n'
        f'[[fault]]\nkind = "event-delay"\nrate = 1\ndelay_ms = {DELAY_MS}\naccounts = [{delay}]\n\n'
        f'[[fault]]\nkind = "stream-drop"\nrate = 1\naccounts = [{cut}]\nendpoints = ["ACCOUNT_CONFIG_UPDATE"]\n\n'
        f'[[fault]]\nkind = "listen-key-expired"\nat = "+{EXPIRES_AT_S}s"\naccounts = [{expire}]\n'
    )


def ccxt_pro(plant: Tickerplant, key: Key, made: list[Any]) -> Any:
    """ccxt.pro's binanceusdm as its manual makes it, with its keys; Binance's hosts replaced."""
    port = plant.listeners[Market.UM].port
    exchange = ccxtpro.binanceusdm({"apiKey": key.api_key, "secret": key.secret})
    made.append(exchange)
    local = f"http://127.0.0.1:{port}"
    return point(exchange, {"https://fapi.binance.com": local, "https://api.binance.com": local,
                            "wss://fstream.binance.com": f"ws://127.0.0.1:{port}"})  # fmt: skip


@pytest.fixture
async def exchanges_closing() -> AsyncIterator[list[Any]]:
    """ccxt exchanges, closed at the end all at once (each close takes ccxt a quarter second)."""
    made: list[Any] = []
    yield made
    await asyncio.gather(*(exchange.close() for exchange in made))


def dialled(plant: Tickerplant, listen_key: str) -> int:
    """How many of the server's stream connections carry ``listen_key``."""
    streams = plant.listeners[Market.UM].streams
    assert streams is not None
    return sum(listen_key in connection.delivery_keys() for connection in streams.connections)


async def turns(n: int = 20) -> None:
    """A few turns of the loop: what a socket already holds is read by then."""
    for _ in range(n):
        await asyncio.sleep(0)


async def raised(watch: asyncio.Future[Any]) -> str:
    async with asyncio.timeout(5):
        try:
            await watch
        except Exception as error:
            return f"{type(error).__name__}: {error}"
    return "returned"


async def fresh_stream(http: aiohttp.ClientSession, plant: Tickerplant, key: Key) -> RawWebSocket:
    """The account's user data stream on the key ``POST /fapi/v1/listenKey`` gives now."""
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    async with http.post(
        f"http://127.0.0.1:{um.port}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": key.api_key}
    ) as got:
        listen_key = (await got.json())["listenKey"]
    held = len(um.streams.connections)
    user = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={listen_key}")
    await eventually(lambda: um.streams is not None and len(um.streams.connections) == held + 1)
    return user


async def place(http: aiohttp.ClientSession, plant: Tickerplant, key: Key, symbol: str) -> dict[str, Any]:
    """A resting limit buy, signed by hand at the server's time: for the steps after the clock
    has run ahead of the system's, where a client's own timestamps are refused (-1021)."""
    quantity, price = limit_below(plant, symbol)
    query = (f"symbol={symbol}&side=BUY&type=LIMIT&timeInForce=GTC&quantity={quantity}&price={price}"
             f"&timestamp={plant.clock.now_ms()}")  # fmt: skip
    url = f"http://127.0.0.1:{plant.listeners[Market.UM].port}/fapi/v1/order"
    signature = hmac_hex(key.secret, query.encode())
    async with http.post(
        f"{url}?{query}&signature={signature}", headers={"X-MBX-APIKEY": key.api_key}
    ) as got:
        assert got.status == 200, await got.text()
        answer: dict[str, Any] = await got.json()
        return answer



class Faulted(NamedTuple):
    """A server on a manual clock whose user data stream profile hits four accounts, one
    fault each: ``d`` dropped, ``l`` late, ``c`` cut, ``x`` expired (``user_stream_profile``)."""

    made: dict[str, tuple[int, Key]]
    clock: ManualClock
    start_ms: int
    plant: Tickerplant
    streams: Any  # the listener's market streams (their connections)
    record: Any  # the fault decider's record


async def faulted_user_streams(start_server: StartServer, venue: Venue, more: str = "") -> Faulted:
    """``Faulted``, its profile ``user_stream_profile``'s and ``more``."""
    made = accounts(venue, "dlcx")  # dropped, late, cut, expired
    ids = {name: account for name, (account, _) in made.items()}
    clock = ManualClock(SystemClock().now_ms())
    start_ms = clock.now_ms()
    text = user_stream_profile(ids["d"], ids["l"], ids["c"], ids["x"]) + more
    plant = await start_server(
        clock=clock, simulator=STILL, venue_db=str(venue.path), faults={"profile_text": text}
    )
    um = plant.listeners[Market.UM]
    assert um.streams is not None and um.faults is not None
    return Faulted(made, clock, start_ms, plant, um.streams, um.faults.decider.record)


async def test_ccxt_pro_on_user_data_stream_faults(
    start_server: StartServer, venue: Venue, exchanges_closing: list[Any]
) -> None:
    made, clock, start_ms, plant, streams, record = await faulted_user_streams(start_server, venue)
    exchanges = {name: ccxt_pro(plant, key, exchanges_closing) for name, (_, key) in made.items()}

    def catch_up() -> None:  # ccxt stamps its requests by the system's clock
        clock.advance(max(0, SystemClock().now_ms() - clock.now_ms()))

    async def watching(watch: Callable[[], Any]) -> asyncio.Future[Any]:
        """``watch()`` started, once its connection is the server's (authenticated, dialled)."""
        held = len(streams.connections)
        started = asyncio.ensure_future(watch())
        await eventually(lambda: len(streams.connections) == held + 1 or started.done())
        await turns()
        return started

    catch_up()
    await asyncio.gather(*(exchange.load_markets() for exchange in exchanges.values()))
    catch_up()
    quantity, price = (float(x) for x in limit_below(plant, "LINKUSDT"))

    # dropped: the limit order's NEW never comes; the market order's ACCOUNT_UPDATE does
    dropped = exchanges["d"]
    orders = await watching(dropped.watch_orders)
    balance = asyncio.ensure_future(dropped.watch_balance())  # on the same connection
    await turns()
    resting = await dropped.create_order(LINK, "limit", "buy", quantity, price)
    catch_up()
    await dropped.create_order(BTC, "market", "buy", 0.002)
    assert (await balance)["info"]["e"] == "ACCOUNT_UPDATE"  # the stream went on past the order
    await turns()
    assert not orders.done() and not dropped.orders  # ccxt knows no order
    catch_up()
    assert (await dropped.fetch_order(resting["id"], LINK))["status"] == "open"  # REST has it
    assert [o["id"] for o in await dropped.fetch_open_orders(LINK)] == [resting["id"]]
    orders.cancel()

    # cut: every pending watch raises NetworkError; the next watch dials again and hears on
    cut = exchanges["c"]
    catch_up()  # watch_positions reads the positions by REST first
    pending = [await watching(cut.watch_orders), asyncio.ensure_future(cut.watch_balance()),
               asyncio.ensure_future(cut.watch_positions([BTC]))]  # fmt: skip
    await turns()
    catch_up()
    await cut.set_leverage(7, BTC)  # its ACCOUNT_CONFIG_UPDATE cuts the connection
    said = [await raised(watch) for watch in pending]
    assert said == ["NetworkError: Connection closed by remote server, closing code 1006"] * 3
    key = cut.options["linear"]["listenKey"]
    await eventually(lambda: dialled(plant, key) == 0)
    orders = asyncio.ensure_future(cut.watch_orders())
    await eventually(lambda: dialled(plant, key) == 1)  # the same key dialled again
    await turns()
    catch_up()
    placed = await cut.create_order(LINK, "limit", "buy", quantity, price)
    assert [o["id"] for o in await orders] == [placed["id"]]

    # late: the order's event comes when the server's clock is DELAY_MS on, not before
    late = exchanges["l"]
    orders = await watching(late.watch_orders)
    catch_up()
    placed = await late.create_order(LINK, "limit", "buy", quantity, price)
    await eventually(lambda: FaultKind.EVENT_DELAY in record.counts)
    await turns()
    assert not orders.done()
    clock.advance(DELAY_MS)
    (seen,) = await orders
    assert seen["id"] == placed["id"] and clock.now_ms() - seen["lastUpdateTimestamp"] == DELAY_MS

    # expired: NetworkError, then the next watch dials the dead key and hears nothing
    expired = exchanges["x"]
    orders = await watching(expired.watch_orders)
    key = expired.options["linear"]["listenKey"]
    # ccxt reads the positions by REST on its first watch of each kind (its default
    # fetchPositionsSnapshot), in the background: done before the server's clock leaps
    await eventually(lambda: all("linear" in (e.positions or {}) for e in exchanges.values()))
    clock.advance(start_ms + EXPIRES_AT_S * 1000 - clock.now_ms())
    assert await raised(orders) == "NetworkError: Connection closed by remote server, closing code 1000"
    await eventually(lambda: dialled(plant, key) == 0)
    orders = asyncio.ensure_future(expired.watch_orders())
    await eventually(lambda: dialled(plant, key) == 1)  # the dead key dialled again
    await turns()
    # the account's next event: on a new key's stream it comes, on ccxt's never
    async with aiohttp.ClientSession() as http:
        fresh = await fresh_stream(http, plant, made["x"][1])
        await place(http, plant, made["x"][1], "LINKUSDT")  # signed on the server's clock, now ahead
    event = msgspec.json.decode((await fresh.recv_until(TEXT)).payload)
    assert event["e"] == "ORDER_TRADE_UPDATE" and event["o"]["X"] == "NEW"
    await turns()
    assert not orders.done()
    await fresh.close()
    # dropped: the limit order's NEW, the market order's NEW and its fill (one level)
    assert record.counts == {FaultKind.EVENT_DROP: 3, FaultKind.STREAM_DROP: 1, FaultKind.EVENT_DELAY: 1,
                             FaultKind.LISTEN_KEY_EXPIRED: 1}  # fmt: skip
