"""Group commit (``venue/journal/group_commit.py``): a loop iteration's batches in one transaction,
every acknowledgement held until it is committed; a batch that fails leaves nothing of
itself; a commit that fails acknowledges nothing. Over a real socket: concurrent orders are
journaled in fewer transactions than commands, and each answer arrives only when another
connection to the database already sees its order."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import StartServer
from rawws import read_answer
from test_engine import ALICE, NOW, Book, Deposits, order
from test_journal import SECRET, database
from timing import eventually

from tickerplant.clock import SystemClock
from tickerplant.gateway.fanout import FanOut
from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.user_streams import is_listen_key_item
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.orders import Fill, Side
from tickerplant.venue.journal.group_commit import GroupCommit
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.order_entry import new_order

__all__ = ["database"]  # the fixture: a venue database with alice and her HMAC key


class Staged:
    """A journal that records what was staged and committed."""

    def __init__(self, fail: bool = False, fail_stage: bool = False) -> None:
        self.staged: list[Batch] = []
        self.committed: list[list[Batch]] = []
        self._open: list[Batch] = []
        self.fail = fail
        self.fail_stage = fail_stage

    def stage(self, batch: Batch) -> None:
        if self.fail_stage and batch.changes:
            raise sqlite3.IntegrityError("a row that cannot be written")
        self._open.append(batch)
        self.staged.append(batch)

    def commit_staged(self) -> None:
        if self.fail:
            raise sqlite3.OperationalError("database or disk is full")
        self.committed.append(self._open)
        self._open = []


def test_one_transaction_an_iteration_and_what_waits_runs_after_it_in_order() -> None:
    staged, due = Staged(), []
    group = GroupCommit(staged, due.append, lambda error: pytest.fail(str(error)))
    said: list[str] = []
    group.after(lambda: said.append("nothing open: at once"))
    assert said == ["nothing open: at once"] and not group.pending
    for n in range(3):
        group.commit(Batch())
        group.after(lambda n=n: said.append(f"ack {n}"))
    assert group.pending and len(due) == 1  # one flush scheduled for the three
    assert staged.committed == [] and said == ["nothing open: at once"]

    def ack_and_more() -> None:  # a released answer lets the next pipelined command in
        said.append("ack 3")
        group.commit(Batch())
        group.after(lambda: said.append("ack 4"))

    group.after(ack_and_more)
    due.pop()()
    assert [len(c) for c in staged.committed] == [3]
    assert said[1:] == ["ack 0", "ack 1", "ack 2", "ack 3"]  # ack 4 waits for the next
    assert group.pending and len(due) == 1
    due.pop()()
    assert [len(c) for c in staged.committed] == [3, 1] and said[-1] == "ack 4"
    assert (group.groups, group.batches) == (2, 4)
    group.flush()  # nothing staged: nothing happens
    assert group.groups == 2


def test_work_between_transactions_waits_for_the_open_one_and_its_answers() -> None:
    """The journal's ``finish_checkpoint`` runs between two transactions: at once when none
    is open, else after the open one is committed and what waited for it released."""
    staged, due = Staged(), []
    group = GroupCommit(staged, due.append, lambda error: pytest.fail(str(error)))
    said: list[str] = []
    group.between(lambda: said.append("between, at once"))
    group.commit(Batch())
    group.after(lambda: said.append("ack"))
    group.between(lambda: said.append("between, after the ack"))
    group.between(lambda: 1 / 0)  # one that raises keeps no other from running
    group.between(lambda: said.append("and the next"))
    assert said == ["between, at once"]
    due.pop()()
    assert said == ["between, at once", "ack", "between, after the ack", "and the next"]
    assert staged.committed == [[Batch()]] and not group.pending


def test_a_commit_that_fails_acknowledges_nothing() -> None:
    errors: list[sqlite3.Error] = []
    due: list[Callable[[], None]] = []
    group = GroupCommit(Staged(fail=True), due.append, errors.append)
    acked: list[int] = []
    group.commit(Batch())
    group.after(lambda: acked.append(1))
    due.pop()()
    assert acked == [] and len(errors) == 1


def test_the_drains_go_before_the_answers_and_one_that_raises_strands_none() -> None:
    due: list[Callable[[], None]] = []
    group = GroupCommit(Staged(), due.append, lambda error: pytest.fail(str(error)))
    said: list[str] = []
    drain = group.later(lambda now_ms: said.append(f"drain {now_ms}"))
    group.commit(Batch())

    def answer_a() -> None:  # a released answer lets its connection's next command in
        said.append("answer a")
        group.commit(Batch())  # the next group's: its events wait for the next commit
        drain(2)

    group.after(answer_a)
    drain(1)  # registered after the answer, run before it: it must not take the next group's events

    def broken() -> None:
        raise RuntimeError("a writer gone")

    group.after(broken)
    group.after(lambda: said.append("answer b"))
    due.pop()()
    assert said == ["drain 1", "answer a", "answer b"]  # the raise logged, the rest released
    due.pop()()
    assert said[-1] == "drain 2"


def test_a_drain_runs_once_a_group_at_its_first_time() -> None:
    """A drain takes everything reported since it last ran: the group's later calls of it
    found nothing, so it runs once, before the answers, at the time of its first call."""
    due: list[Callable[[], None]] = []
    group = GroupCommit(Staged(), due.append, lambda error: pytest.fail(str(error)))
    said: list[str] = []
    um = group.later(lambda now_ms: said.append(f"um {now_ms}"))
    cm = group.later(lambda now_ms: said.append(f"cm {now_ms}"))
    group.commit(Batch())
    for now_ms in (1, 2, 3):
        um(now_ms)
        group.after(lambda n=now_ms: said.append(f"answer {n}"))
    cm(4)
    um(5)
    due.pop()()
    assert said == ["um 1", "cm 4", "answer 1", "answer 2", "answer 3"]
    group.commit(Batch())  # the next group runs it again
    um(6)
    due.pop()()
    assert said[-1] == "um 6"
    um(7)  # nothing open: at once
    assert said[-1] == "um 7"


def test_a_batch_that_cannot_be_staged_stops_the_server_after_committing_the_others() -> None:
    errors: list[sqlite3.Error] = []
    due: list[Callable[[], None]] = []
    staged = Staged(fail_stage=True)
    group = GroupCommit(staged, due.append, errors.append)
    group.commit(Batch())  # the first of the turn: a flush is scheduled
    acked: list[int] = []
    group.after(lambda: acked.append(1))
    with pytest.raises(sqlite3.IntegrityError):
        group.commit(Batch(changes=[(1, "USDT", 5, NOW)]))
    assert len(errors) == 1  # told: the engine holds what the journal does not
    assert group.pending and len(due) == 1
    due.pop()()
    assert [len(c) for c in staged.committed] == [1] and acked == [1]


def test_a_batch_that_fails_to_write_leaves_nothing_and_the_others_commit(database: tuple[Path, str]) -> None:
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    placed = new_order(engine, ALICE, order(price="10000.00", quantity="0.010"), NOW).order
    assert placed is not None
    fill = Fill(ALICE, "BTCUSDT", 7, placed.order_id, Side.BUY, 1, 1, 0, 0, 0, "USDT", True, NOW)
    journal.stage(Batch(orders=[placed.copy()]))
    with pytest.raises(sqlite3.IntegrityError):  # the same fill twice: its key taken
        journal.stage(Batch(fills=[fill, fill], orders=[placed.copy()]))
    journal.stage(Batch(fills=[fill]))
    journal.commit_staged()
    journal.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM venue_fills").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM venue_orders").fetchone()[0] >= 1
    db.close()


async def _place(session: aiohttp.ClientSession, base: str, key: str, price: str, n: int) -> dict[str, Any]:
    query = (f"symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price={price}"
             f"&newClientOrderId=group-{n}&timestamp={SystemClock().now_ms()}")  # fmt: skip
    query += "&signature=" + hmac_hex(SECRET, query.encode())
    async with session.post(f"{base}/fapi/v1/order?{query}", headers={"X-MBX-APIKEY": key}) as response:
        answer: dict[str, Any] = await response.json()
        assert response.status == 200, answer
    return answer


async def test_concurrent_orders_share_transactions_and_each_answer_follows_its_commit(
    start_server: StartServer, database: tuple[Path, str]
) -> None:
    path, key = database
    plant = await start_server(simulator={"actions_per_s": 1e-9}, venue_db=str(path))
    base = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    reader = sqlite3.connect(path)  # another connection: sees only what is committed
    seen: list[bool] = []

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        answer = await _place(session, base, key, "1000.00", n)
        row = reader.execute(
            "SELECT count(*) FROM venue_orders WHERE order_id = ? AND client_order_id = ?",
            (answer["orderId"], f"group-{n}"),
        ).fetchone()
        seen.append(row == (1,))

    sessions = [aiohttp.ClientSession() for _ in range(8)]
    try:
        await asyncio.gather(*(one(sessions[n % 8], n) for n in range(64)))
    finally:
        for session in sessions:
            await session.close()
        reader.close()
    assert seen == [True] * 64  # no answer before its order was committed
    group = plant.group
    assert group is not None and group.batches >= 64
    assert group.groups < group.batches  # some iterations held several commands


async def test_no_user_event_leaves_before_its_order_is_committed(
    start_server: StartServer, database: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 connections each pipelining 3 orders, alice's user stream open: every
    ``ORDER_TRADE_UPDATE`` the fan-out writes is of an order another connection to the
    database already sees (a released answer's next request once ran inside the commit,
    and a later drain took its events before theirs was committed)."""
    path, key = database
    plant = await start_server(simulator={"actions_per_s": 1e-9}, venue_db=str(path))
    port = plant.listeners[Market.UM].port
    reader = sqlite3.connect(path)
    written: list[tuple[str, bool]] = []
    flush, flush_streams, publish = FanOut._flush, FanOut.flush_streams, FanOut.publish

    def look(frames: list[bytes]) -> None:  # the fan-out's writes, looked at as they go
        for frame in frames:
            if (at := frame.find(b'{"e":"ORDER_TRADE_UPDATE"')) >= 0:
                client_id = json.loads(frame[at:])["o"]["c"]
                row = reader.execute("SELECT 1 FROM venue_orders WHERE client_order_id = ?", (client_id,))
                written.append((client_id, row.fetchone() is not None))

    def watched(self: FanOut) -> None:  # at the iteration's end
        for route in self._dirty_routes:
            look(route.frames)
        flush(self)

    def watched_now(self: FanOut, streams: Any) -> None:  # the user data drain's, at once
        streams = list(streams)
        for stream in streams:
            for route in self._routes.get(stream, ()):
                look(route.frames)
        flush_streams(self, streams)

    def watched_published(self: FanOut, messages: Any) -> None:  # a user data name's: queued at once
        look([payload for stream, payload in messages if is_listen_key_item(stream)])
        publish(self, messages)

    monkeypatch.setattr(FanOut, "_flush", watched)
    monkeypatch.setattr(FanOut, "flush_streams", watched_now)
    monkeypatch.setattr(FanOut, "publish", watched_published)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": key}) as r:
            listen_key = (await r.json())["listenKey"]
        user = await session.ws_connect(f"ws://127.0.0.1:{port}/private/ws/{listen_key}")

        async def pipelined(n: int) -> None:
            reader_, writer = await asyncio.open_connection("127.0.0.1", port)
            heads = b""
            for i in range(3):
                query = (f"symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=1000.00"
                         f"&newClientOrderId=pipe-{n}-{i}&timestamp={SystemClock().now_ms()}")  # fmt: skip
                query += "&signature=" + hmac_hex(SECRET, query.encode())
                heads += (f"POST /fapi/v1/order?{query} HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: {key}\r\n"
                          "Content-Length: 0\r\n\r\n").encode()  # fmt: skip
            writer.write(heads)
            for _ in range(3):
                assert (await read_answer(reader_)).startswith(b"HTTP/1.1 200")
            writer.close()

        await asyncio.gather(*(pipelined(n) for n in range(8)))
        await eventually(lambda: len({c for c, _ in written}) == 24)
        await user.close()
    reader.close()
    assert [c for c, committed in written if not committed] == []
