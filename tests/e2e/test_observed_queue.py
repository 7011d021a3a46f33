"""A resting order on a replayed recording (an observed book, which trades with no one),
over real sockets: cancels at its price shorten the queue in front of it (the default
risk-averse queue model clamps it to the level), so a later trade at its price fills it,
as the signed REST answers and the user data stream tell."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import StartServer
from rawws import TEXT, RawWebSocket
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.market.instruments import Market
from tickerplant.recording.format import Recorded, RecordedSnapshot, RecordingWriter
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

T0_MS = 1_790_000_000_000
SECRET = "Q" * 64
BOOK = "btcusdt@depth@100ms"
TRADES = "btcusdt@aggTrade"


def diff(first: int, last: int, at_ms: int, bids: str) -> bytes:
    return (
        b'{"e":"depthUpdate","E":%d,"T":%d,"s":"BTCUSDT","U":%d,"u":%d,"pu":%d,"b":%b,"a":[]}'
        % (at_ms, at_ms, first, last, first - 1, bids.encode())
    )


def alice(folder: Path) -> tuple[Path, str]:
    """An accounts database with alice's 10,000 USDT and her HMAC key: its path, the key."""
    db = folder / "accounts.db"
    store = AccountStore(db)
    account = store.create_account("alice", [(Market.UM, "USDT", parse_amount("10000"))], T0_MS)
    api_key = store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=T0_MS).api_key
    store.close()
    return db, api_key


def write_recording(folder: Path, items: list[Recorded | RecordedSnapshot]) -> None:
    """``items`` written as a recorder writes them (BTCUSDT's depth and aggTrades), each at
    its receive time."""
    with RecordingWriter(folder, Market.UM, "ws://x", [BOOK, TRADES]) as writer:
        for item in items:
            writer.write(item, item.received_us)


async def replayed(
    start_server: StartServer, tmp_path: Path, **options: object
) -> tuple[Tickerplant, ManualClock, str]:
    """A server replaying ``tmp_path / "recorded"`` on a manual clock from ``T0_MS``, its
    venue alice's (``options``: more of its settings): the server, its clock, her key."""
    db, api_key = alice(tmp_path)
    clock = ManualClock(T0_MS)
    replay = ReplayConfig(paths=(str(tmp_path / "recorded"),), speed=1.0)
    return await start_server(clock=clock, venue_db=str(db), replay=replay, **options), clock, api_key


def signed(
    session: aiohttp.ClientSession, port: int, clock: ManualClock, api_key: str
) -> Callable[[str, str, str], Awaitable[Any]]:
    """A signed request of alice's, its answer's JSON (a 200 asserted)."""

    async def call(method: str, path: str, query: str) -> Any:
        query = f"{query}&timestamp={clock.now_ms()}"
        query += f"&signature={hmac_hex(SECRET, query.encode())}"
        url = f"http://127.0.0.1:{port}{path}?{query}"
        async with session.request(method, url, headers={"X-MBX-APIKEY": api_key}) as answer:
            assert answer.status == 200, await answer.text()
            return await answer.json()

    return call


def recording(folder: Path) -> None:
    """A book of 1.000 bid at 59999.00; ten seconds on, 0.800 of it cancelled, then a sell
    of 0.500 at 59999.00."""
    snapshot = (
        b'{"lastUpdateId":100,"E":%d,"T":%d,"bids":[["59999.00","1.000"],["59998.00","2.000"]],'
        b'"asks":[["60001.00","1.000"],["60002.00","2.000"]]}' % (T0_MS, T0_MS)
    )
    later = T0_MS + 10_000
    trade = (
        b'{"e":"aggTrade","E":%d,"a":7,"s":"BTCUSDT","p":"59999.00","q":"0.500","nq":"0.500","f":70,'
        b'"l":70,"T":%d,"m":true}' % (later + 1, later + 1)
    )
    items = [  # as a recorder writes them: the snapshot after the diff it falls within
        Recorded(T0_MS * 1000, BOOK, diff(99, 101, T0_MS, '[["59997.00","1.000"]]')),
        RecordedSnapshot(T0_MS * 1000, "BTCUSDT", snapshot),
        Recorded(later * 1000, BOOK, diff(102, 102, later, '[["59999.00","0.200"]]')),
        Recorded((later + 1) * 1000, TRADES, trade),
        Recorded((later + 3_600_000) * 1000, BOOK, diff(103, 103, later + 3_600_000, "[]")),  # still playing
    ]
    write_recording(folder, items)


async def played(plant: Tickerplant, clock: ManualClock, apart: bool, levels: list[tuple[int, int]]) -> None:
    """The recording played on ``clock`` through its trade: in one step, every change and
    the trade in one delivery; or ``apart``, each depth change (``levels``: the ms it comes
    at from the last, BTCUSDT's quantity at 59999.00 then) delivered alone and applied to
    the book before the clock moves on, as a recording's or a relay's mostly are."""
    engine = plant.engines[Market.UM]
    if not apart:
        clock.advance(10_100)
        return
    passed = 0
    for step_ms, quantity in levels:
        clock.advance(step_ms)
        passed += step_ms
        await eventually(lambda q=quantity: engine.data.quantity_at("BTCUSDT", True, 5_999_900) == q)
    clock.advance(10_100 - passed)


@pytest.mark.parametrize("apart", [False, True], ids=["one-delivery", "apart"])
async def test_cancels_in_front_of_a_resting_order_let_a_trade_at_its_price_fill_it(
    start_server: StartServer, tmp_path: Path, apart: bool
) -> None:
    recording(tmp_path / "recorded")
    plant, clock, api_key = await replayed(start_server, tmp_path)
    engine = plant.engines[Market.UM]
    await eventually(lambda: engine.data.quantity_at("BTCUSDT", True, 5_999_900) == 1000)
    port = plant.listeners[Market.UM].port
    async with aiohttp.ClientSession() as session:
        call = signed(session, port, clock, api_key)

        key = (await call("POST", "/fapi/v1/listenKey", "recvWindow=5000"))["listenKey"]
        user = await RawWebSocket.connect(port, f"/private/ws?listenKey={key}")
        streams = plant.listeners[Market.UM].streams
        assert streams is not None
        await eventually(lambda: len(streams.connections) == 1)
        placed = await call(
            "POST", "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1.000&price=59999.00",
        )  # fmt: skip
        assert placed["status"] == "NEW"  # behind the 1.000 the book shows at its price
        await played(plant, clock, apart, [(10_000, 200)])  # the cancels, then the trade: 0.200 ahead, 0.300 its own
        updates: list[bytes] = []
        async with asyncio.timeout(5 * SECONDS):
            while len(updates) < 2:
                frame = await user.recv_until(TEXT)
                if b'"e":"ORDER_TRADE_UPDATE"' in frame.payload:
                    updates.append(frame.payload)
        assert b'"x":"NEW"' in updates[0]
        assert b'"x":"TRADE"' in updates[1] and b'"l":"0.3"' in updates[1] and b'"m":true' in updates[1]
        order = await call("GET", "/fapi/v1/order", f"symbol=BTCUSDT&orderId={placed['orderId']}")
        assert (order["status"], order["executedQty"]) == ("PARTIALLY_FILLED", "0.300")
        (trade,) = await call("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT")
        assert (trade["price"], trade["qty"], trade["maker"], trade["buyer"]) == ("59999", "0.300", True, True)
        await user.close()


def crowded(folder: Path) -> None:
    """A book of 1.000 bid at 59999.00; ten seconds on, 1.000 more joins the level (behind
    an order placed at the start), then 1.000 of the level is cancelled, then a sell of
    0.800 at 59999.00: where the cancel came from is the queue model's to say."""
    snapshot = (
        b'{"lastUpdateId":100,"E":%d,"T":%d,"bids":[["59999.00","1.000"],["59998.00","2.000"]],'
        b'"asks":[["60001.00","1.000"],["60002.00","2.000"]]}' % (T0_MS, T0_MS)
    )
    later = T0_MS + 10_000
    trade = (
        b'{"e":"aggTrade","E":%d,"a":7,"s":"BTCUSDT","p":"59999.00","q":"0.800","nq":"0.800","f":70,'
        b'"l":70,"T":%d,"m":true}' % (later + 2, later + 2)
    )
    items = [
        Recorded(T0_MS * 1000, BOOK, diff(99, 101, T0_MS, '[["59997.00","1.000"]]')),
        RecordedSnapshot(T0_MS * 1000, "BTCUSDT", snapshot),
        Recorded(later * 1000, BOOK, diff(102, 102, later, '[["59999.00","2.000"]]')),
        Recorded((later + 1) * 1000, BOOK, diff(103, 103, later + 1, '[["59999.00","1.000"]]')),
        Recorded((later + 2) * 1000, TRADES, trade),
        Recorded((later + 3_600_000) * 1000, BOOK, diff(104, 104, later + 3_600_000, "[]")),  # still playing
    ]
    write_recording(folder, items)


@pytest.mark.parametrize("apart", [False, True], ids=["one-delivery", "apart"])
@pytest.mark.parametrize(
    ("model", "ahead", "filled"),
    [("risk-averse", 200, "0.000"), ("power-prob-2", 0, "0.300"), ("log-prob", 0, "0.300")],
)
async def test_serve_queue_model_says_where_a_cancel_came_from(
    start_server: StartServer, tmp_path: Path, model: str, ahead: int, filled: str, apart: bool
) -> None:
    """``serve --queue-model``: risk-averse takes the cancel from behind the order (still
    1.000 ahead: the 0.800 trade fills none of it); a probability model splits it between
    in front and behind (0.500 ahead: the trade fills 0.300)."""
    crowded(tmp_path / "recorded")
    plant, clock, api_key = await replayed(start_server, tmp_path, queue_model=model)
    engine = plant.engines[Market.UM]
    await eventually(lambda: engine.data.quantity_at("BTCUSDT", True, 5_999_900) == 1000)
    port = plant.listeners[Market.UM].port
    async with aiohttp.ClientSession() as session:
        call = signed(session, port, clock, api_key)

        placed = await call(
            "POST", "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1.000&price=59999.00",
        )  # fmt: skip
        resting = engine.resting_order("BTCUSDT", placed["orderId"])
        assert resting is not None and resting.queue_ahead == 1000
        await played(plant, clock, apart, [(10_000, 2000), (1, 1000)])  # grows, cancelled into, traded at
        await eventually(lambda: resting.queue_ahead == ahead and engine.queues.model.name == model)
        order = await call("GET", "/fapi/v1/order", f"symbol=BTCUSDT&orderId={placed['orderId']}")
        assert order["executedQty"] == filled


async def test_what_a_taker_took_of_the_replayed_book_is_gone_until_the_book_changes(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Two IOC buys in the same book share its asks (60001.00 x1.000, 60002.00 x2.000): the
    second gets what the first left; once the market's next update comes, its levels are
    whole again (the user's orders do not move a replayed market)."""
    recording(tmp_path / "recorded")
    plant, clock, api_key = await replayed(start_server, tmp_path)
    engine = plant.engines[Market.UM]
    await eventually(lambda: engine.data.quantity_at("BTCUSDT", False, 6_000_100) == 1000)
    port = plant.listeners[Market.UM].port
    buy = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&newOrderRespType=RESULT&quantity={}&price={}"
    async with aiohttp.ClientSession() as session:
        call = signed(session, port, clock, api_key)
        await call("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=100")  # 4.5 BTC on 10,000 USDT
        first = await call("POST", "/fapi/v1/order", buy.format("1.500", "60002.00"))
        assert (first["status"], first["executedQty"]) == ("FILLED", "1.500")
        second = await call("POST", "/fapi/v1/order", buy.format("2.000", "60002.00"))
        assert (second["status"], second["executedQty"]) == ("EXPIRED", "1.500")
        clock.advance(10_000)  # the book's next update (a bid changed): the asks are the market's again
        await eventually(lambda: engine.data.quantity_at("BTCUSDT", True, 5_999_900) == 200)
        third = await call("POST", "/fapi/v1/order", buy.format("1.000", "60001.00"))
        assert (third["status"], third["executedQty"]) == ("FILLED", "1.000")
        trades = await call("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT")
        by_order = [(t["orderId"], t["price"], t["qty"]) for t in trades]
        assert by_order == [
            (first["orderId"], "60001", "1.000"), (first["orderId"], "60002", "0.500"),
            (second["orderId"], "60002", "1.500"), (third["orderId"], "60001", "1.000"),
        ]  # fmt: skip


async def test_a_recordings_order_across_streams_holds_while_an_order_rests(tmp_path: Path) -> None:
    """``serve --replay`` at max delivers each event time on its own while an order rests
    (its fills stamped at their trades' times), many deliveries a loop turn: a connection
    carrying the depth and the trades still gets them in their recorded order, alternating,
    as the fan-out joins a turn's frames per stream (``feeds/replay/turn_streams.py``)."""
    count, items = 40, []
    for k in range(count):  # a depth change, then a trade 5 ms on, every 10 ms
        t = T0_MS + 5_000 + 10 * k
        items.append(Recorded(t * 1000, BOOK, diff(102 + k, 102 + k, t, '[["59996.00","1.000"]]')))
        trade = (b'{"e":"aggTrade","E":%d,"a":%d,"s":"BTCUSDT","p":"60001.00","q":"0.001","nq":"0.001","f":%d,'
                 b'"l":%d,"T":%d,"m":false}' % (t + 5, k + 1, k + 1, k + 1, t + 5))  # fmt: skip
        items.append(Recorded((t + 5) * 1000, TRADES, trade))
    snapshot = (
        b'{"lastUpdateId":100,"E":%d,"T":%d,"bids":[["59999.00","1.000"]],"asks":[["60001.00","1.000"]]}'
        % (T0_MS, T0_MS)
    )
    start = [Recorded(T0_MS * 1000, BOOK, diff(99, 101, T0_MS, "[]")), RecordedSnapshot(T0_MS * 1000, "BTCUSDT", snapshot)]
    end = Recorded((T0_MS + 600_000) * 1000, BOOK, diff(102 + count, 102 + count, T0_MS + 600_000, "[]"))
    write_recording(tmp_path / "recorded", [*start, *items, end])
    db, api_key = alice(tmp_path)
    replay = ReplayConfig(paths=(str(tmp_path / "recorded"),), speed=None, paused=True)
    server = Tickerplant(ServerConfig(um_port=0, cm_port=0, admin_port=0, venue_db=str(db), replay=replay))
    await server.start()
    try:
        port = server.listeners[Market.UM].port
        async with aiohttp.ClientSession() as http:  # paused at the start: its book not yet played
            query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=59000.00"
            query += f"&timestamp={int(time.time() * 1000)}"  # signed by the wall, as serve checks it
            query += f"&signature={hmac_hex(SECRET, query.encode())}"
            async with http.post(f"http://127.0.0.1:{port}/fapi/v1/order?{query}", headers={"X-MBX-APIKEY": api_key}) as a:
                assert (await a.json())["status"] == "NEW"
            async with http.ws_connect(f"ws://127.0.0.1:{port}/stream?streams={BOOK}/{TRADES}") as ws:
                streams = server.listeners[Market.UM].streams
                assert streams is not None
                await eventually(lambda: any(c.delivery_keys() for c in streams.connections))
                source = server.source
                assert isinstance(source, ReplaySource) and source.exact_while is not None and source.exact_while()
                source.resume()
                got: list[tuple[str, int]] = []
                async with asyncio.timeout(5 * SECONDS):
                    while len(got) < 2 * count:
                        data = (await ws.receive_json())["data"]
                        if T0_MS + 5_000 <= data["E"] < T0_MS + 600_000:
                            got.append((data["e"], data["E"]))
    finally:
        await server.close()
    assert got == [(e, t) for k in range(count) for t in [T0_MS + 5_000 + 10 * k]
                   for e, t in (("depthUpdate", t), ("aggTrade", t + 5))]  # fmt: skip
