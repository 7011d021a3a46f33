"""OrderBooks and `tickerplant book` against a small scripted exchange: a WebSocket stream
server and a REST depth endpoint serving a diff chain and snapshots the test chooses,
so the sync, a pu break and a reconnect happen at moments the test picks.

(The real server's depth streams are proven against this client in tests/e2e.)
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from collecting import collect_until
from timing import SECONDS, eventually
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tickerplant.client.books import OrderBooks
from tickerplant.client.ladder import book_line, show_book
from tickerplant.client.orderbook import BookResync, BookUpdate, LocalBook, ResyncReason
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

pytestmark = pytest.mark.loopback

D = Decimal
Side = dict[Decimal, Decimal]


class Chain:
    """A true book and its diff chain: ``states[k]`` is the book after ``events[k - 1]``,
    at id ``ids[k]``; the events are the wire payloads."""

    def __init__(self, length: int, seed: int = 7) -> None:
        rng = random.Random(seed)
        bids: Side = {D(100 - i): D(rng.randint(1, 9)) for i in range(1, 20)}
        asks: Side = {D(100 + i): D(rng.randint(1, 9)) for i in range(1, 20)}
        last = 5_000_000
        self.states = [(dict(bids), dict(asks))]
        self.ids = [last]
        self.events: list[dict[str, Any]] = []
        for n in range(length):
            first = last + 1 + rng.choice([0, 0, 3])  # live chains skip ids (§4.9)
            final = first + rng.randint(0, 2)
            changed: tuple[Side, Side] = ({}, {})
            for _ in range(rng.randint(1, 4)):
                is_bid = rng.random() < 0.5
                price = D(100 - rng.randint(1, 25)) if is_bid else D(100 + rng.randint(1, 25))
                qty = D(rng.choice([0, 1, 2, 5])) / 1000
                side = bids if is_bid else asks
                changed[0 if is_bid else 1][price] = qty
                if qty:
                    side[price] = qty
                else:
                    side.pop(price, None)
            self.events.append(
                {
                    "e": "depthUpdate", "E": 1_000 + n, "T": 999 + n, "s": "BTCUSDT",
                    "U": first, "u": final, "pu": last,
                    "b": [[str(p), f"{q:.3f}"] for p, q in changed[0].items()],
                    "a": [[str(p), f"{q:.3f}"] for p, q in changed[1].items()],
                }
            )  # fmt: skip
            self.states.append((dict(bids), dict(asks)))
            self.ids.append(final)
            last = final

    def snapshot(self, k: int) -> bytes:
        bids, asks = self.states[k]
        return msgspec.json.encode(
            {
                "lastUpdateId": self.ids[k], "E": 1, "T": 1,
                "bids": [[str(p), str(q)] for p, q in sorted(bids.items(), reverse=True)],
                "asks": [[str(p), str(q)] for p, q in sorted(asks.items())],
            }
        )  # fmt: skip

    def assert_book(self, book: LocalBook) -> None:
        assert book.update_id is not None
        bids, asks = self.states[self.ids.index(book.update_id)]
        assert book.bids() == sorted(bids.items(), reverse=True)
        assert book.asks() == sorted(asks.items())


class Exchange:
    """The scripted server: ``send(k)`` pushes ``events[k]`` to every subscribed
    connection; ``GET /fapi/v1/depth`` answers the snapshot at ``snapshot_at``."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.snapshot_at = 0
        self.snapshots_served = 0
        self.subscribed: list[ServerConnection] = []
        self.subscriptions = 0
        self.refusing = False
        self.refused = 0
        self.unavailable: list[int] = []  # the statuses the next snapshots fail with, in turn
        self.retry_after: str | None = None  # a refusal's Retry-After header, seconds
        self.clock: ManualClock | None = None  # the client's: each snapshot's time on it
        self.served_at: list[int] = []  # the client's clock at each snapshot asked for (``clock``)
        self.server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    def answer_rest(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/fapi/v1/depth?symbol=BTCUSDT&limit=1000"):
            if self.clock is not None:
                self.served_at.append(self.clock.now_ms())
            if self.unavailable:  # the server's failure, not the request's (trading part 1 §6.2)
                refused = connection.respond(self.unavailable.pop(0), '{"code":-1008,"msg":"Service Unavailable."}')
                if self.retry_after is not None:
                    refused.headers["Retry-After"] = self.retry_after
                return refused
            self.snapshots_served += 1
            return connection.respond(200, self.chain.snapshot(self.snapshot_at).decode())
        if request.path.startswith("/fapi/v1/depth?symbol=BTCUSDT&limit=5"):  # a watched symbol's first look
            return connection.respond(200, self.chain.snapshot(self.snapshot_at).decode())
        if request.path.startswith("/fapi/v1/depth"):
            return connection.respond(400, '{"code":-1121,"msg":"Invalid symbol."}')
        if self.refusing:  # a server down behind its proxy: every handshake refused
            self.refused += 1
            return connection.respond(503, "down")
        return None  # a WebSocket handshake

    async def handle(self, connection: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._serve(connection)

    async def _serve(self, connection: ServerConnection) -> None:
        async for message in connection:
            request = json.loads(message)
            await connection.send(json.dumps({"result": None, "id": request["id"]}))
            if request["method"] == "SUBSCRIBE":
                self.subscribed.append(connection)
                self.subscriptions += 1

    async def send(self, *indices: int) -> None:
        for k in indices:
            frame = json.dumps({"stream": "btcusdt@depth@100ms", "data": self.chain.events[k]})
            for connection in list(self.subscribed):
                await connection.send(frame)

    async def drop(self) -> None:
        connections, self.subscribed = self.subscribed, []
        for connection in connections:
            await connection.close()


@pytest.fixture
async def exchange() -> AsyncIterator[Exchange]:
    scripted = Exchange(Chain(40))
    async with serve(scripted.handle, "127.0.0.1", 0, process_request=scripted.answer_rest) as server:
        scripted.server = server
        yield scripted


def quick() -> Any:
    return iter([0.01] * 1000)


def updates(items: list[Any]) -> list[BookUpdate]:
    return [item for item in items if isinstance(item, BookUpdate)]


async def test_a_book_syncs_resyncs_on_a_break_and_on_a_reconnect(exchange: Exchange) -> None:
    chain = exchange.chain
    async with OrderBooks(exchange.url, market=Market.UM, delays=quick) as books:
        exchange.snapshot_at = 4  # the snapshot lands inside events[3] … events[7]
        await books.watch("btcusdt")
        assert books.stream_name("BTCUSDT") == "btcusdt@depth@100ms"
        await exchange.send(*range(3, 8))
        items = await collect_until(
            books, lambda got: chain.ids[8] in [u.update_id for u in updates(got)], 10 * SECONDS
        )
        book = books["BTCUSDT"]
        assert updates(items)[0].snapshot_id == chain.ids[4] and book.synced
        chain.assert_book(book)
        assert exchange.snapshots_served == 1

        # events[8] never comes: the next one's pu breaks the chain (§4.9 step 5)
        exchange.snapshot_at = 10
        await exchange.send(9, 10, 11)
        items = await collect_until(
            books, lambda got: chain.ids[12] in [u.update_id for u in updates(got)], 10 * SECONDS
        )
        assert items[0] == BookResync("BTCUSDT", ResyncReason.CHAIN_BROKEN, chain.ids[8])
        assert updates(items)[0].snapshot_id == chain.ids[10]
        chain.assert_book(book)
        assert book.resyncs == 1

        # the connection drops: the book is dropped at once, not when the stream is back
        await exchange.drop()
        lost = await collect_until(books, lambda got: bool(got), 10 * SECONDS)
        assert lost == [BookResync("BTCUSDT", ResyncReason.STREAM_LOST, chain.ids[12])] and not book.synced
        # the stream resumes further on, and the book with it (the reconnect's broken chain
        # drops nothing more: nothing was in sync)
        await eventually(lambda: exchange.subscriptions == 2)
        exchange.snapshot_at = 15
        await exchange.send(*range(14, 20))
        items = await collect_until(
            books, lambda got: chain.ids[20] in [u.update_id for u in updates(got)], 10 * SECONDS
        )
        assert not [item for item in items if isinstance(item, BookResync)]
        chain.assert_book(book)
        assert book.resyncs == 2
        await eventually(lambda: books.reconnects == 1, 10 * SECONDS)  # counted once its connection is open
        assert book.best_bid() == book.bids(1)[0] and book.best_ask() == book.asks(1)[0]


async def test_a_connection_lost_drops_the_book_at_once_and_counts_as_a_reconnect_once_back(
    exchange: Exchange,
) -> None:
    chain = exchange.chain
    async with OrderBooks(exchange.url, market=Market.UM, delays=quick) as books:
        exchange.snapshot_at = 4
        await books.watch("btcusdt")
        await exchange.send(*range(3, 8))
        await collect_until(books, lambda got: chain.ids[8] in [u.update_id for u in updates(got)], 10 * SECONDS)
        exchange.refusing = True
        await exchange.drop()
        lost = await collect_until(books, lambda got: bool(got), 10 * SECONDS)
        assert lost == [BookResync("BTCUSDT", ResyncReason.STREAM_LOST, chain.ids[8])]
        await eventually(lambda: exchange.refused >= 3, 10 * SECONDS)  # it keeps trying, in vain
        assert books.reconnects == 0 and not books["BTCUSDT"].synced
        exchange.refusing = False
        await eventually(lambda: exchange.subscriptions == 2, 10 * SECONDS)  # subscribed as it opened
        await eventually(lambda: books.reconnects == 1, 10 * SECONDS)  # and counted once open


async def test_a_snapshot_too_old_is_fetched_again_after_the_backoff_on_the_clock(exchange: Exchange) -> None:
    chain = exchange.chain
    clock = ManualClock()
    async with OrderBooks(
        exchange.url, market=Market.UM, delays=lambda: iter([5.0] * 100), clock=clock
    ) as books:
        exchange.snapshot_at = 1  # older than the stream the client sees
        await books.watch("BTCUSDT")
        await exchange.send(5)
        synced = asyncio.create_task(collect_until(books, lambda got: bool(updates(got)), 10 * SECONDS))
        await eventually(lambda: exchange.snapshots_served == 1)  # the first goes at once
        exchange.snapshot_at = 6

        def fetched_again() -> bool:
            clock.advance(5_000)  # the retry waits 5 s of the book's clock, never real time
            return exchange.snapshots_served == 2

        await eventually(fetched_again)
        await exchange.send(6)
        items = await synced
        assert updates(items)[0].snapshot_id == chain.ids[6]
        chain.assert_book(books["BTCUSDT"])


async def test_a_snapshot_the_server_failed_is_fetched_again(exchange: Exchange) -> None:
    """A 5xx is the server's failure: retried with backoff, never raised to the consumer
    (only a refusal a retry cannot cure is, below)."""
    exchange.unavailable = [503, 500, 502, 504]
    async with OrderBooks(exchange.url, market=Market.UM, delays=quick) as books:
        exchange.snapshot_at = 6
        await books.watch("BTCUSDT")
        await exchange.send(6)
        items = await collect_until(books, lambda got: bool(updates(got)), 10 * SECONDS)
        assert exchange.unavailable == [] and exchange.snapshots_served == 1
        assert updates(items)[0].snapshot_id == exchange.chain.ids[6]
        exchange.chain.assert_book(books["BTCUSDT"])


async def test_a_rate_limited_snapshot_waits_for_the_servers_retry_after(exchange: Exchange) -> None:
    """A 429 (or 418) is the IP's budget spent: no snapshot is asked for again until its
    ``Retry-After`` has passed, whatever the backoff says (asked again at the backoff's pace,
    a 429 became a 418 ban of the whole IP, orders included)."""
    clock = exchange.clock = ManualClock()
    exchange.unavailable, exchange.retry_after = [429], "3"
    async with OrderBooks(exchange.url, market=Market.UM, delays=quick, clock=clock) as books:
        exchange.snapshot_at = 6
        await books.watch("BTCUSDT")
        await exchange.send(6)
        synced = asyncio.create_task(collect_until(books, lambda got: bool(updates(got)), 10 * SECONDS))

        def served_again() -> bool:
            clock.advance(500)  # the backoff's 10 ms passed at the first step
            return exchange.snapshots_served == 1

        await eventually(served_again)
        items = await synced
    assert len(exchange.served_at) == 2 and exchange.served_at[1] - exchange.served_at[0] >= 3_000
    assert updates(items)[0].snapshot_id == exchange.chain.ids[6]


async def test_close_ends_an_iteration_whatever_waits_and_asks_for_no_snapshot_after() -> None:
    """``close`` ends the consumer's iteration even when its queue is full (the end marker
    found no room), and nothing read after it asks for a snapshot (a fetch that outlived
    the client, retrying for ever)."""
    long = Exchange(Chain(1_100))
    async with serve(long.handle, "127.0.0.1", 0, process_request=long.answer_rest) as server:
        long.server = server
        books = OrderBooks(long.url, market=Market.UM, delays=quick)
        long.snapshot_at = 1  # too old for the events: the book keeps wanting one
        await books.watch("BTCUSDT")
        await eventually(lambda: len(long.subscribed) == 1)
        await long.send(*range(2, 1_100))  # nobody reads: the queue (1,000 inputs) fills
        await eventually(lambda: books._inputs.full())  # the state under test
        await books.close()
        with pytest.raises(StopAsyncIteration):
            await anext(books)
        assert books._fetches == {}


async def test_an_unknown_symbol_is_raised_to_the_consumer(exchange: Exchange) -> None:
    async with OrderBooks(exchange.url, market=Market.UM, delays=quick) as books:
        await books.watch("NOSUCH")
        exchange.chain.events[0]["s"] = "NOSUCH"
        await exchange.send(0)
        with pytest.raises(OSError, match="400"):
            async with asyncio.timeout(10 * SECONDS):
                await books.__anext__()


async def test_an_unknown_symbol_whose_stream_sends_nothing_is_raised_to_the_consumer(exchange: Exchange) -> None:
    """The server takes the stream of a symbol it does not list and sends nothing on it (as
    Binance does): the snapshot, asked for at the first event, would never be; the symbol is
    looked at once it is watched, and its 400 ends the iteration."""
    async with OrderBooks(exchange.url, market=Market.UM, delays=quick) as books:
        await books.watch("NOSUCH")
        with pytest.raises(OSError, match="400"):
            async with asyncio.timeout(10 * SECONDS):
                await books.__anext__()


async def test_book_json_prints_the_top_levels(exchange: Exchange) -> None:
    chain = exchange.chain
    out = io.StringIO()
    shown = asyncio.create_task(
        show_book(exchange.url, "BTCUSDT", market=Market.UM, depth=3, as_json=True, count=4, out=out)
    )
    await eventually(lambda: bool(exchange.subscribed))
    exchange.snapshot_at = 2  # the snapshot the first event, events[2], follows on
    await exchange.send(2)
    await eventually(lambda: out.getvalue().count("\n") == 1)
    await exchange.send(3, 4, 5)
    async with asyncio.timeout(10 * SECONDS):
        assert await shown == 4
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["tickerplant"] for line in lines] == ["book"] * 4
    assert [line["update_id"] for line in lines] == chain.ids[3:7]
    assert lines[0]["snapshot_id"] == chain.ids[2] and lines[1]["snapshot_id"] is None
    for line, (bids, asks) in zip(lines, chain.states[3:7], strict=True):
        assert line["bids"] == [[str(p), str(q)] for p, q in sorted(bids.items(), reverse=True)[:3]]
        assert line["asks"] == [[str(p), str(q)] for p, q in sorted(asks.items())[:3]]
    resync = json.loads(book_line(BookResync("BTCUSDT", ResyncReason.CHAIN_BROKEN, chain.ids[6]), LocalBook("BTCUSDT"), 3))
    listed = _book_json_fields()  # docs/cli.md lists every field it prints
    assert set(lines[0]) <= listed and set(resync) <= listed, (set(lines[0]) | set(resync)) - listed


def _book_json_fields() -> set[str]:
    """The JSON keys ``"name":`` docs/cli.md's ``book`` section names."""
    text = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    section = text.split("## book", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r'"(\w+)":', section))


async def test_book_shows_a_ladder(exchange: Exchange) -> None:
    out = io.StringIO()
    shown = asyncio.create_task(
        show_book(exchange.url, "BTCUSDT", market=Market.UM, depth=5, count=1, out=out)
    )
    await eventually(lambda: bool(exchange.subscribed))
    exchange.snapshot_at = 2
    await exchange.send(*range(2, 10))
    async with asyncio.timeout(10 * SECONDS):
        assert await shown == 1
    text = out.getvalue()
    assert "BTCUSDT  u=" in text and "resyncs 0" in text
    assert "bid total" in text and "ask size" in text and "99" in text and "101" in text
