"""tickerplant.client.WebSocketAPI against a real tickerplant."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from conftest import StartServer
from timing import SECONDS, eventually

from tickerplant.client.ws_api import ApiError, RateLimited, WebSocketAPI
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import MINUTE_MS

# 30 s into a UTC minute: the weight window is the clock minute (§7.1)
_MID_MINUTE_MS = 1_767_225_600_000 + 30_000


async def test_concurrent_requests_are_matched_by_id(start_server: StartServer) -> None:
    # the server's and the client's clock, standing still: the weight used below is one
    # minute's, and a real minute turning among the requests left less than 80 of it
    clock = ManualClock(_MID_MINUTE_MS)
    plant = await start_server(simulator={"actions_per_s": 1e-9}, clock=clock)
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1", clock=clock) as api:
        symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"] * 10
        books = await asyncio.gather(*(api.ticker_book(s) for s in symbols))
        assert [b["symbol"] for b in books] == symbols
        prices = await api.ticker_price()
        assert {p["symbol"] for p in prices} == set(plant.plants[Market.UM].symbols)
        depth = await api.depth("BTCUSDT", 5)
        # the id reserved for the book's next update (§4.9)
        assert depth["lastUpdateId"] == plant.plants[Market.UM].symbols["BTCUSDT"].book.next_update_id
        assert api.weight_limit == 2400 and api.weight_used >= 40 * 2
        with pytest.raises(ApiError) as bad:
            await api.ticker_book("NOPE")
        assert (bad.value.status, bad.value.code) == (400, -1121)


async def test_slows_down_before_the_limit_instead_of_running_into_429(start_server: StartServer) -> None:
    clock = ManualClock(_MID_MINUTE_MS)  # the server's and the client's
    plant = await start_server(request_weight_per_min=40, simulator={"actions_per_s": 1e-9}, clock=clock)
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1", weight_margin=0.9, clock=clock) as api:
        await api.ticker_price("BTCUSDT")  # learn the limit from rateLimits
        assert api.weight_limit == 40
        answered: list[object] = []

        async def ask(times: int) -> None:  # more than one minute's budget of 2-weight requests
            for _ in range(times):
                answered.append(await api.ticker_book("BTCUSDT"))

        asker = asyncio.get_running_loop().create_task(ask(25))
        next_minute = (_MID_MINUTE_MS // MINUTE_MS + 1) * MINUTE_MS
        # the client holds its next request for the next minute instead of sending it
        await eventually(lambda: clock.next_due_ms == next_minute, 5 * SECONDS)
        assert 0 < len(answered) < 25 and api.weight_used <= 40
        assert not asker.done()  # no 429 was raised
        clock.set(next_minute)
        await asyncio.wait_for(asker, 5 * SECONDS)  # a new minute, a new budget: the rest go through
        assert len(answered) == 25


async def test_concurrent_requests_waiting_for_a_minute_share_it(start_server: StartServer) -> None:
    """Eight requests of weight 20 at once against a limit of 60: each minute takes what fits
    its budget (two: 0.95 of 60 is 57), the rest wait on for the next; none runs into a 429."""
    clock = ManualClock(_MID_MINUTE_MS)
    plant = await start_server(request_weight_per_min=60, simulator={"actions_per_s": 1e-9}, clock=clock)
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1", clock=clock) as api:
        await api.ticker_price("BTCUSDT")  # learn the limit (the handshake's 5 and this 1 used)
        asked = [asyncio.get_running_loop().create_task(api.depth("BTCUSDT", 1000)) for _ in range(8)]
        minute = _MID_MINUTE_MS // MINUTE_MS * MINUTE_MS
        for answered in (2, 4, 6):  # two a minute: the others wait for the next, on the clock
            minute += MINUTE_MS
            await eventually(
                lambda n=answered, at=minute: sum(t.done() for t in asked) == n and clock.next_due_ms == at,
                5 * SECONDS,
            )
            clock.set(minute)
        books = await asyncio.wait_for(asyncio.gather(*asked), 5 * SECONDS)  # a 429 would raise here
        assert len(books) == 8 and api.weight_used == 40


async def test_honours_429_and_418(start_server: StartServer) -> None:
    clock = ManualClock(_MID_MINUTE_MS)
    plant = await start_server(request_weight_per_min=9, simulator={"actions_per_s": 1e-9}, clock=clock)  # handshake 5
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1", weight_margin=10.0, clock=clock) as api:
        await api.ticker_book("BTCUSDT")
        await api.ticker_book("BTCUSDT")
        with pytest.raises(RateLimited) as limited:
            await api.ticker_book("BTCUSDT")
        assert limited.value.status == 429 and limited.value.retry_at_ms > clock.now_ms()
        retry = asyncio.get_running_loop().create_task(api.ticker_book("BTCUSDT"))
        # it will not send again before retryAfter: it waits on the clock for that moment
        await eventually(lambda: clock.next_due_ms == limited.value.retry_at_ms, 5 * SECONDS)
        assert not retry.done()
        clock.set(limited.value.retry_at_ms)
        book = await asyncio.wait_for(retry, 5 * SECONDS)  # the server's minute has turned too
        assert book["symbol"] == "BTCUSDT"


async def test_a_request_on_a_closed_connection_fails_at_once_though_the_server_said_to_wait(
    start_server: StartServer,
) -> None:
    """A 418 closes the session with its ban: the next request said "not connected" only once
    the ban's wait (120 s and more) had passed. A closed connection fails at once."""
    clock = ManualClock(_MID_MINUTE_MS)
    plant = await start_server(request_weight_per_min=9, simulator={"actions_per_s": 1e-9}, clock=clock)
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1", weight_margin=10.0, clock=clock) as api:
        await api.ticker_book("BTCUSDT")
        await api.ticker_book("BTCUSDT")
        with pytest.raises(RateLimited):
            await api.ticker_book("BTCUSDT")  # told to wait for the next minute
        transport = api._transport
        assert transport is not None
        transport.disconnect()  # as the server closes a banned session
        await eventually(lambda: transport.is_disconnected, 5 * SECONDS)
        with pytest.raises(ConnectionError, match="not connected"):
            await asyncio.wait_for(api.ticker_book("BTCUSDT"), 5 * SECONDS)  # not on the clock's wait


async def test_a_burst_before_any_reply_waits_for_the_first_to_tell_the_limit(start_server: StartServer) -> None:
    """Eight requests of weight 20 the moment it connects, against a limit of 60: the first
    goes alone, its reply tells the limit and what the IP used (the handshake's 5), and the
    rest take what fits the minute, the others waiting for the next; no 429, no 418 (which
    bans the IP for minutes)."""
    clock = ManualClock(_MID_MINUTE_MS)
    plant = await start_server(request_weight_per_min=60, simulator={"actions_per_s": 1e-9}, clock=clock)
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1", clock=clock) as api:
        asked = [asyncio.get_running_loop().create_task(api.depth("BTCUSDT", 1000)) for _ in range(8)]
        next_minute = (_MID_MINUTE_MS // MINUTE_MS + 1) * MINUTE_MS
        await eventually(lambda: sum(t.done() for t in asked) == 2 and clock.next_due_ms == next_minute, 5 * SECONDS)
        assert api.weight_limit == 60 and all(t.exception() is None for t in asked if t.done())
        for task in asked:
            task.cancel()


async def test_a_request_behind_an_unanswered_first_one_goes_when_that_one_times_out() -> None:
    """A server that never answers: the first request times out, and the one waiting behind
    it is sent then (and times out in its turn), not held for ever."""

    async def silent(ws: websockets.ServerConnection) -> None:
        async for _ in ws:
            pass

    async with websockets.serve(silent, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with WebSocketAPI(f"ws://127.0.0.1:{port}/ws-fapi/v1", timeout_s=0.05) as api:
            first = asyncio.get_running_loop().create_task(api.ticker_price("BTCUSDT"))
            await asyncio.sleep(0)
            second = asyncio.get_running_loop().create_task(api.ticker_price("BTCUSDT"))
            done, _ = await asyncio.wait({first, second}, timeout=5 * SECONDS)
            assert done == {first, second}, "the second still waits behind the first"
            assert all(isinstance(asked.exception(), TimeoutError) for asked in done)  # each its own


async def test_a_connection_lost_before_its_first_reply_leaves_the_next_one_gated() -> None:
    """The first connection closes before any reply: on the next, a burst still sends one
    request first, until a reply tells the limit. The server holds its first reply until the
    client has sent all it would send (no time passes: the test lets go once the server has
    read what the client has in flight)."""
    sent_before_a_reply: list[int] = []
    connections = 0
    release = asyncio.Event()
    read: list[asyncio.Queue[int]] = []  # the second connection's requests, as the server read them

    async def serve(ws: websockets.ServerConnection) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            await ws.recv()
            await ws.close()
            return
        limits = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                   "limit": 2400, "count": 1}]  # fmt: skip
        asked: asyncio.Queue[int] = asyncio.Queue()
        read.append(asked)

        async def answer() -> None:
            await release.wait()
            sent_before_a_reply.append(asked.qsize())  # what came before the first reply
            while True:
                request_id = await asked.get()
                await ws.send(json.dumps({"id": request_id, "status": 200, "result": {}, "rateLimits": limits}))

        answering = asyncio.get_running_loop().create_task(answer())
        try:
            async for message in ws:
                asked.put_nowait(json.loads(message)["id"])
        finally:
            answering.cancel()

    async with websockets.serve(serve, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        api = WebSocketAPI(f"ws://127.0.0.1:{port}/ws-fapi/v1", timeout_s=5 * SECONDS)
        await api.connect()
        with pytest.raises(ConnectionError):
            await api.ticker_price("BTCUSDT")
        await api.connect()
        burst = [asyncio.get_running_loop().create_task(api.ticker_price("BTCUSDT")) for _ in range(8)]
        for _ in range(20):  # each request to its first wait: sent, or held back
            await asyncio.sleep(0)
        await eventually(lambda: bool(read) and read[0].qsize() == len(api._pending) > 0)
        release.set()
        await asyncio.gather(*burst)
        await api.close()
    assert sent_before_a_reply == [1]


async def test_closing_sends_a_normal_close_code() -> None:
    """1000, not picows' default 1005, which RFC 6455 §7.4.1 says is never sent: a strict
    server (websockets) failed the close as a protocol error (1002) and saw 1006."""
    seen: list[int | None] = []

    async def serve(ws: websockets.ServerConnection) -> None:
        async for _ in ws:
            pass
        seen.append(ws.close_code)

    async with websockets.serve(serve, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        api = WebSocketAPI(f"ws://127.0.0.1:{port}/ws-fapi/v1")
        await api.connect()
        await api.close()
        await eventually(lambda: bool(seen))
    assert seen == [1000]
