"""The journal: what an engine commits comes back into a new engine; a real `tickerplant
serve` killed with SIGKILL right after acknowledging orders has every one of them, with
its fills, position and wallet, after a restart; and one killed again and again in the
middle of bursts of orders has every order it acknowledged, each under its id."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import msgspec
import pytest
import yarl
from ports import free_port
from served_venue import SECRET, serve, signed
from test_engine import ALICE, BOB, NOW, Book, Deposits, order
from timing import SECONDS, eventually

from tickerplant import venue_checkpoints, venue_engines
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import AlgoTriggers, Marks, SetFeeBurn
from tickerplant.venue.domain.events import Batch, Income
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.domain.orders import OrderStatus, PositionSide
from tickerplant.venue.journal.checkpointer import checkpoint
from tickerplant.venue.journal.group_commit import Stamped
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.algo_rest import new_algo
from tickerplant.venue.wire.amendments import amendments
from tickerplant.venue.wire.margin_routes import margin_history, move_margin
from tickerplant.venue.wire.order_entry import amend_order, cancel_order, new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_leverage, set_margin_type


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    store = AccountStore(tmp_path / "venue.db")
    now = SystemClock().now_ms()
    account = store.create_account("alice", [(Market.UM, "USDT", parse_amount("10000"))], now)
    key = store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=now)
    store.close()
    yield tmp_path / "venue.db", key.api_key


def test_an_engine_comes_back_from_its_journal(database: tuple[Path, str]) -> None:
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    set_leverage(engine, ALICE, "BTCUSDT", 10)
    resting = new_order(engine, ALICE, order(quantity="0.010", price="59000", newClientOrderId="keep"), NOW).order
    new_order(engine, ALICE, order(type="MARKET", quantity="1.500"), NOW + 1)
    journal.close()

    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    SqliteJournal(path).load(again)
    assert resting is not None
    assert [(o.order_id, o.client_order_id, o.status) for o in again.open_orders(ALICE, None)] == [
        (resting.order_id, "keep", OrderStatus.NEW)]  # fmt: skip
    assert [o.status for o in again.orders(ALICE, "BTCUSDT")] == [OrderStatus.NEW, OrderStatus.FILLED]
    # each kept the book's best bid plus best ask as it arrived (59999.00 + 60000.00)
    assert [o.arrival_mid_x2 for o in again.orders(ALICE, "BTCUSDT")] == [11_999_900, 11_999_900]
    assert [(f.trade_id, f.qty) for f in again.fills(ALICE, "BTCUSDT")] == [(1, 1000), (2, 500)]
    position = again.ledger(ALICE).position("BTCUSDT")
    assert (position.amt, position.entry) == (1500, Fraction(180001, 3))
    assert again.figures(ALICE, "USDT").wallet == engine.figures(ALICE, "USDT").wallet
    assert again.ledger(ALICE).leverage == {"BTCUSDT": 10}
    placed = new_order(again, ALICE, order(quantity="0.010", price="59000"), NOW + 2).order
    assert placed is not None and resting is not None
    assert placed.order_id == resting.order_id + 2  # ids go on where they stopped


def test_an_order_written_again_leaves_the_history_indexes_alone(database: tuple[Path, str]) -> None:
    """An order's cancel, committed after its placement, writes the orders table's page and
    none of its three history indexes' (each WAL frame is one page): an update in place,
    since an order's account, client id and time never change. Rewriting one of those is a
    bug, refused: the row stays as it was."""
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    placed = new_order(engine, ALICE, order(quantity="0.010", price="59000", newClientOrderId="a"), NOW).order
    assert placed is not None
    db = journal.reader()
    assert db is not None
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL empty: what comes next is the cancel's
    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id)}, NOW + 1)
    _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames == 1  # a row replaced writes four: the table's and each index's
    status, update_ms = db.execute("SELECT status, update_ms FROM venue_orders").fetchone()
    assert (status, update_ms) == ("CANCELED", NOW + 1)
    with pytest.raises(sqlite3.IntegrityError):
        journal.commit(Batch(orders=[msgspec.structs.replace(placed, client_order_id="b")]))
    kept = db.execute("SELECT client_order_id, status FROM venue_orders").fetchall()
    assert kept == [("a", "CANCELED")]
    journal.close()


def from_old_journal(path: Path, script: str) -> Engine:
    """An engine loaded from a journal an older version wrote: ``script``'s tables and rows."""
    old = sqlite3.connect(path)
    old.executescript(script)
    old.commit()
    old.close()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    SqliteJournal(path).load(engine)
    return engine


def test_a_journal_keyed_by_trade_alone_is_keyed_by_order_too(database: tuple[Path, str]) -> None:
    """Before the one book a fill's key was its trade; now a maker's and a taker's fill share
    one public trade: an old journal's fills move to the new key, every row kept."""
    path, _ = database
    engine = from_old_journal(
        path,
        "CREATE TABLE venue_fills (symbol TEXT NOT NULL, trade_id INTEGER NOT NULL, account_id INTEGER "
        "NOT NULL, order_id INTEGER NOT NULL, side TEXT NOT NULL, price INTEGER NOT NULL, qty INTEGER "
        "NOT NULL, base INTEGER NOT NULL, realized_pnl INTEGER NOT NULL, commission INTEGER NOT NULL, "
        "commission_asset TEXT NOT NULL, maker INTEGER NOT NULL, time_ms INTEGER NOT NULL, "
        "PRIMARY KEY (symbol, trade_id)) WITHOUT ROWID;"
        "INSERT INTO venue_fills VALUES ('BTCUSDT', 7, 1, 3, 'BUY', 6000000, 10, 0, 0, 12, 'USDT', 0, 5);",
    )
    assert [(f.trade_id, f.order_id, f.qty) for f in engine.fills(1, "BTCUSDT")] == [(7, 3, 10)]
    again = sqlite3.connect(path)
    again.execute(  # the same trade, the other side's order
        "INSERT INTO venue_fills VALUES ('BTCUSDT', 7, 2, 4, 'SELL', 6000000, 10, 0, 0, 12, 'USDT', 1, 5, 'BOTH')"
    )
    again.commit()
    (count,) = again.execute("SELECT count(*) FROM venue_fills WHERE trade_id = 7").fetchone()
    assert count == 2
    again.close()


def test_commits_leave_the_checkpoint_to_checkpoint(database: tuple[Path, str]) -> None:
    """A commit never copies the WAL into the database (that syncs the file in the middle of
    a command); ``checkpoint``, which the server runs in a process of its own, does."""
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    size = path.stat().st_size
    for i in range(1500):  # past SQLite's default of a checkpoint every 1,000 pages
        placed = new_order(engine, ALICE, order(quantity="0.001", price="50000"), NOW + 100 * i).order
        assert placed is not None
        cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id)}, NOW + 100 * i)
    assert path.stat().st_size == size
    assert checkpoint(sqlite3.connect(path), lambda: None).whole
    assert path.stat().st_size > size
    copied = sqlite3.connect(path).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert copied[1] == copied[2]  # every frame of the WAL already in the database
    journal.close()


def test_the_wal_starts_over_each_checkpoint_though_commands_commit_during_it(
    database: tuple[Path, str],
) -> None:
    """SQLite starts the WAL over only at a commit that begins with every frame copied. The
    thread's passes leave uncopied what commands committed while they ran, and under a
    steady flow of commands some always did: the WAL was never started over and grew by
    every commit (8 MB a second at 1,000 orders a second). ``finish_checkpoint``, on the
    loop between two transactions, copies the rest: the next commit starts the WAL over
    (the server's way when the checkpointer's own passes could not). Here a reader's
    snapshot holds each pass back (as deterministically as a commit made during it would)."""
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    wal = path.with_name(path.name + "-wal")
    reader = sqlite3.connect(path, isolation_level=None)
    checkpointing = sqlite3.connect(path, isolation_level=None)

    def command(i: int) -> None:  # 10 orders a second: within the account's order limits
        placed = new_order(engine, ALICE, order(quantity="0.001", price="50000"), NOW + 100 * i).order
        assert placed is not None
        cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id)}, NOW + 100 * i)

    def second(start: int, finish: bool) -> None:
        """A second of commands, the last of them committed during the thread's passes."""
        if finish:
            journal.finish_checkpoint()
        for i in range(start, start + 100):
            command(i)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM venue_orders").fetchone()
        command(start + 100)
        assert not checkpoint(checkpointing, lambda: None).whole
        reader.execute("COMMIT")

    def starts() -> int:  # the WAL header's checkpoint sequence: one more each start over
        return int.from_bytes(wal.read_bytes()[12:16], "big")

    second(0, finish=False)
    first, sizes = starts(), []
    for n in range(1, 4):  # as before: never started over, the WAL only grows
        second(1000 * n, finish=False)
        sizes.append(wal.stat().st_size)
    assert starts() == first and sizes[0] < sizes[1] < sizes[2]
    for n in range(1, 4):  # now: started over each second, its file no larger
        second(5000 + 1000 * n, finish=True)
        assert starts() == first + n and wal.stat().st_size == sizes[2]
    db = journal._opened()
    db.execute("BEGIN IMMEDIATE")  # inside a transaction it does nothing (the loop's rule)
    journal._staging = True
    journal.finish_checkpoint()
    journal._staging = False
    db.execute("COMMIT")
    reader.close()
    checkpointing.close()
    journal.close()


async def test_the_journal_checkpointed_under_a_steady_flow_of_commands_starts_its_wal_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The server's wiring (``venue_checkpoints.checkpoint_journal``, its second shrunk to a
    millisecond) on a running loop with a command committed every iteration, faster than
    the checkpointer's passes: its process's passes, then the rest between two transactions
    (never inside one: nothing fails) once the WAL is long (here: at once), and the WAL
    starts over again and again (the test above shows why the second part)."""
    monkeypatch.setattr(venue_checkpoints, "CHECKPOINT_EVERY_S", 0.001)
    monkeypatch.setattr(venue_checkpoints, "WAL_LONG_FRAMES", 0)
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    store.create_account("alice", [(Market.UM, "USDT", parse_amount("1000000"))], 1)
    store.close()
    journal = SqliteJournal(path)
    group = venue_engines.group_commit(journal)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Stamped(group, "UM"))
    wal = path.with_name(path.name + "-wal")
    checkpoint = venue_checkpoints.checkpoint_journal(journal, group, [engine], ManualClock(NOW))  # counts too
    checkpoints = asyncio.get_running_loop().create_task(checkpoint)
    first = None
    try:
        for i in range(20_000):  # a deadline, not a pace: it ends at the third start over
            placed = new_order(engine, ALICE, order(quantity="0.001", price="50000"), NOW + 100 * i).order
            assert placed is not None
            cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id)}, NOW + 100 * i)
            await asyncio.sleep(0)  # the iteration ends: its transaction commits
            starts = int.from_bytes(wal.read_bytes()[12:16], "big")
            first = starts if first is None else first
            if starts >= first + 3:
                break
        assert starts >= first + 3
        assert not [r for r in caplog.records if "checkpoint" in r.getMessage() or "not saved" in r.getMessage()]
    finally:
        checkpoints.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checkpoints
        group.flush()
        journal.close()


def alice(**params: str) -> Any:
    """A request of Alice's, as ``checks.authorize`` hands it on."""
    return SimpleNamespace(account=SimpleNamespace(account_id=ALICE), params=params)


def test_isolated_wallets_and_margin_moves_come_back_from_the_journal(database: tuple[Path, str]) -> None:
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED")
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500"), NOW)
    move_margin(engine, alice(symbol="BTCUSDT", amount="15", type="1"), NOW + 1)
    journal.close()
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    SqliteJournal(path).load(again)
    assert again.ledger(ALICE).position("BTCUSDT").isolated_wallet == 150_000_000_000  # 1 485 + 15
    assert Fraction(again.figures(ALICE, "USDT").cross_wallet, 10**8) == 8485
    rows = margin_history(again, alice(symbol="BTCUSDT"), NOW + 2)
    assert [(r["deltaType"], r["amount"]) for r in rows] == [("TRADE", "1500.00000000"), ("USER_ADJUST", "15.00000000")]


def test_amendments_come_back_from_the_journal(database: tuple[Path, str]) -> None:
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    placed = new_order(engine, ALICE, order(quantity="0.001", price="50000"), NOW).order
    assert placed is not None
    ref = {"symbol": "BTCUSDT", "orderid": str(placed.order_id), "side": "BUY", "quantity": "0.002"}
    amend_order(engine, ALICE, ref | {"price": "50001", "modifyid": "9"}, NOW + 1)
    journal.close()
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    SqliteJournal(path).load(again)
    amend_order(again, ALICE, ref | {"price": "50002"}, NOW + 2)
    rows = amendments(again, alice(symbol="BTCUSDT", orderid=str(placed.order_id)), NOW + 3)
    assert [(r["amendmentId"], r["amendment"]["count"], r["amendment"].get("modifyId")) for r in rows] == [
        (1, 1, 9), (2, 2, None)]  # fmt: skip


def test_a_journal_from_before_isolated_margin_and_amendments_gets_their_columns(database: tuple[Path, str]) -> None:
    path, _ = database
    engine = from_old_journal(
        path,
        "CREATE TABLE venue_positions (account_id INTEGER NOT NULL, symbol TEXT NOT NULL, amt INTEGER NOT "
        "NULL, entry TEXT NOT NULL, update_ms INTEGER NOT NULL, PRIMARY KEY (account_id, symbol)) WITHOUT ROWID;"
        "INSERT INTO venue_positions VALUES (1, 'BTCUSDT', 500, '60000/1', 5);"
        "CREATE TABLE venue_orders (symbol TEXT NOT NULL, order_id INTEGER NOT NULL, account_id INTEGER NOT NULL, "
        "client_order_id TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, time_in_force TEXT NOT NULL, "
        "price INTEGER NOT NULL, orig_qty INTEGER NOT NULL, reduce_only INTEGER NOT NULL, good_till_ms INTEGER "
        "NOT NULL, time_ms INTEGER NOT NULL, update_ms INTEGER NOT NULL, status TEXT NOT NULL, executed_qty "
        "INTEGER NOT NULL, cum_quote INTEGER NOT NULL, cum_base INTEGER NOT NULL, queue_ahead INTEGER NOT NULL, "
        "price_match TEXT NOT NULL, stp_mode TEXT NOT NULL, PRIMARY KEY (symbol, order_id)) WITHOUT ROWID;"
        "INSERT INTO venue_orders VALUES ('BTCUSDT', 3, 1, 'c', 'BUY', 'LIMIT', 'GTC', 5000000, 1, 0, 0, 5, 5, "
        "'NEW', 0, 0, 0, 0, 'NONE', 'NONE');",
    )
    position = engine.ledger(ALICE).position("BTCUSDT")
    assert (position.amt, position.entry, position.isolated_wallet) == (500, 60000, 0)
    assert position.side is PositionSide.BOTH and not engine.ledger(ALICE).hedge  # from before hedge mode
    (restored,) = engine.open_orders(ALICE, "BTCUSDT")  # and a count of its amendments, none
    assert (restored.order_id, restored.amendments, restored.position_side) == (3, 0, PositionSide.BOTH)
    assert restored.arrival_mid_x2 == 0  # its arrival's mid unknown
    assert restored.cum_base_fine == 0  # its fine Σ base unknown: a COIN-M one's average from cum_base


def test_hedge_mode_and_both_sides_come_back_from_the_journal(database: tuple[Path, str]) -> None:
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    set_dual_side(engine, ALICE, True)
    hedged = {"type": "MARKET", "timeinforce": ""}
    new_order(engine, ALICE, order(quantity="0.500", positionside="LONG", **hedged), NOW)
    new_order(engine, ALICE, order(side="SELL", quantity="0.200", positionside="SHORT", **hedged), NOW)
    new_order(engine, ALICE, order(side="SELL", quantity="0.100", price="61000", positionside="LONG"), NOW)
    journal.close()

    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    SqliteJournal(path).load(again)
    ledger = again.ledger(ALICE)
    assert ledger.hedge and again.modes.is_hedged(ALICE) and not again.ledger(BOB).hedge
    assert {(p.side, p.amt) for p in ledger.held("BTCUSDT")} == {(PositionSide.LONG, 500), (PositionSide.SHORT, -200)}
    (closing,) = again.open_orders(ALICE, "BTCUSDT")
    assert (closing.position_side, closing.reduce_only) == (PositionSide.LONG, True)
    assert [f.position_side for f in again.fills(ALICE, "BTCUSDT")] == [PositionSide.LONG, PositionSide.SHORT]
    assert again.figures(ALICE, "USDT") == engine.figures(ALICE, "USDT")


def test_the_bnb_fee_discount_comes_back_from_the_journal_beside_hedge_mode(database: tuple[Path, str]) -> None:
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    set_dual_side(engine, ALICE, True)
    engine.apply(SetFeeBurn(ALICE, True), NOW)
    engine.apply(SetFeeBurn(BOB, True), NOW)
    engine.apply(SetFeeBurn(BOB, False), NOW + 1)  # the last word counts
    journal.close()
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    SqliteJournal(path).load(again)
    assert (again.ledger(ALICE).fee_burn, again.ledger(ALICE).hedge, again.ledger(BOB).fee_burn) == (True, True, False)


def test_funding_and_a_liquidation_come_back_from_the_journal(database: tuple[Path, str]) -> None:
    path, _ = database
    journal = SqliteJournal(path)
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500"), NOW)
    funding = FundingEvent("BTCUSDT", NOW + 10, "0.00010000", "61000.00000000", NOW + 10)
    engine.apply(Marks(tuple([StreamMessage("btcusdt@fundingEvent", msgspec.json.encode(funding))])), NOW + 10)
    book.marks["BTCUSDT"] = Fraction(40190)
    engine.apply(Marks(tuple([StreamMessage("btcusdt@markState", b"{}")])), NOW + 20)
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 0
    journal.close()

    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    SqliteJournal(path).load(again)
    assert again.figures(ALICE, "USDT").wallet == engine.figures(ALICE, "USDT").wallet
    assert list(again.ledger(ALICE).income) == list(engine.ledger(ALICE).income)
    assert [i.kind for i in again.ledger(ALICE).income] == ["FUNDING_FEE", "INSURANCE_CLEAR"]
    assert again.exposure.funded_ms == {"BTCUSDT": NOW + 10}  # not charged twice after a restart
    liquidation = again.orders(ALICE, "BTCUSDT")[-1]
    assert liquidation.client_order_id.startswith("autoclose-") and liquidation.status is OrderStatus.FILLED


async def _signed(session: aiohttp.ClientSession, method: str, url: str, key: str, query: str) -> Any:
    status, body = await signed(session, method, url, key, query)
    assert status == 200, body
    return body


async def test_acknowledged_orders_survive_kill_9(database: tuple[Path, str]) -> None:
    path, key = database
    port = free_port()
    base = f"http://127.0.0.1:{port}/fapi"
    acknowledged = []
    async with serve(path, port) as process, aiohttp.ClientSession() as session:
        depth = await (await session.get(f"{base}/v1/depth?symbol=ETHUSDT&limit=5")).json()
        below = f"{float(depth['bids'][-1][0]) - 20:.2f}"
        for i in range(10):
            acknowledged.append(await _signed(session, "POST", f"{base}/v1/order", key,
                f"symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price={below}&newClientOrderId=k{i}"))  # fmt: skip
        acknowledged.append(await _signed(session, "POST", f"{base}/v1/order", key,
                                          "symbol=ETHUSDT&side=BUY&type=MARKET&quantity=0.050"))  # fmt: skip
        process.send_signal(signal.SIGKILL)  # at once: no clean shutdown, no flush
        await process.wait()
    assert process.returncode == -signal.SIGKILL

    async with serve(path, port), aiohttp.ClientSession() as session:
        open_orders = await _signed(session, "GET", f"{base}/v1/openOrders", key, "symbol=ETHUSDT")
        assert sorted(o["clientOrderId"] for o in open_orders) == [f"k{i}" for i in range(10)]
        every = await _signed(session, "GET", f"{base}/v1/allOrders", key, "symbol=ETHUSDT")
        assert [o["orderId"] for o in every] == [a["orderId"] for a in acknowledged]
        assert every[-1]["status"] == "FILLED"
        trades = await _signed(session, "GET", f"{base}/v1/userTrades", key, "symbol=ETHUSDT")
        assert sum(Fraction(t["qty"]) for t in trades) == Fraction("0.050")
        positions = await _signed(session, "GET", f"{base}/v3/positionRisk", key, "symbol=ETHUSDT")
        assert positions[0]["positionAmt"] == "0.050"
        fee = sum(Fraction(t["commission"]) for t in trades)
        balance = await _signed(session, "GET", f"{base}/v3/balance", key, "")
        assert Fraction(balance[0]["balance"]) == 10000 - fee


async def test_no_acknowledged_order_is_lost_to_kill_9_mid_burst(database: tuple[Path, str]) -> None:
    path, key = database
    port = free_port()
    base = f"http://127.0.0.1:{port}/fapi"
    acknowledged: dict[str, int] = {}  # clientOrderId -> orderId, as the answers said
    burst = 60
    for round_ in range(2):
        async with serve(path, port) as process, aiohttp.ClientSession() as session:
            depth = await (await session.get(f"{base}/v1/depth?symbol=ETHUSDT&limit=5")).json()
            below = f"{float(depth['bids'][-1][0]) - 20:.2f}"

            async def one(client_id: str, session: aiohttp.ClientSession = session, price: str = below) -> None:
                query = f"symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price={price}"
                try:
                    url = f"{base}/v1/order"
                    answer = await _signed(session, "POST", url, key, f"{query}&newClientOrderId={client_id}")
                except (aiohttp.ClientError, AssertionError):
                    return  # killed before it answered: not acknowledged, so it may be lost
                acknowledged[client_id] = answer["orderId"]

            before = len(acknowledged)
            sending = [asyncio.ensure_future(one(f"b{round_}-{i}")) for i in range(burst)]
            await eventually(lambda: len(acknowledged) >= before + burst // 3, 30 * SECONDS)  # noqa: B023
            process.send_signal(signal.SIGKILL)  # in the middle of the burst
            await asyncio.gather(*sending)
        # killed by the signal; 255 when another child watcher in this test process took the
        # status first (asyncio: "Unknown child process pid ..., will report returncode 255")
        assert process.returncode in (-signal.SIGKILL, 255)
    assert len(acknowledged) >= 2 * burst // 3

    async with serve(path, port), aiohttp.ClientSession() as session:
        every = await _signed(session, "GET", f"{base}/v1/allOrders", key, "symbol=ETHUSDT&limit=1000")
    kept = {o["clientOrderId"]: o["orderId"] for o in every}
    assert {c: kept.get(c) for c in acknowledged} == acknowledged  # every acknowledged one, under its id


def test_a_wallet_s_market_decides_where_its_changes_and_flows_come_back(tmp_path: Path) -> None:
    """BTC is a COIN-M wallet and, in Multi-Assets mode, a USDⓈ-M collateral: an automatic
    exchange's BTC, and a transfer's income row, come back to the engine whose they are, and
    a row of an older journal (no market) by its asset, as before."""
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    both = [(Market.UM, "BTC", parse_amount("1")), (Market.CM, "BTC", parse_amount("2"))]
    alice = store.create_account("alice", both, NOW).account_id
    store.close()
    journal = SqliteJournal(path)
    um = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Stamped(journal, "um"))
    for batch in (
        Batch(changes=[(alice, "BTC", -18075001, NOW), (alice, "USDT", 10845 * 10**8, NOW)],
              incomes=[Income(alice, "", "AUTO_EXCHANGE", "BTC", -18075001, NOW, 1)]),
        Batch(incomes=[Income(alice, "", "TRANSFER", "USDT", 10**8, NOW, 2)]),
    ):  # fmt: skip
        um.journal.commit(batch)
    journal.commit(Batch(changes=[(alice, "BTC", -5, NOW)]))  # an older journal's row: COIN-M's coin
    journal.close()
    again = SqliteJournal(path)
    um, cm = (Engine(m, catalogue(m, NOW), Book(), Deposits(), again) for m in (Market.UM, Market.CM))
    again.load(um)
    again.load(cm)
    assert um.ledger(alice).changes == {"BTC": -18075001, "USDT": 10845 * 10**8}
    assert cm.ledger(alice).changes == {"BTC": -5}
    assert [(i.kind, i.asset) for i in um.ledger(alice).income] == [("AUTO_EXCHANGE", "BTC"), ("TRANSFER", "USDT")]
    assert not cm.ledger(alice).income
    again.close()


def _deleted_descriptors(path: Path) -> list[str]:
    """This process' descriptors of ``path``'s files that were unlinked under them."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith(str(path)) and target.endswith("(deleted)"):
                found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc/self/fd")
def test_an_operator_command_beside_a_checkpointed_journal_leaves_its_wal_alone(
    database: tuple[Path, str],
) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it; a
    journal that did so after its checkpoint let `tickerplant accounts` (another process)
    take itself for the last connection, checkpoint, and delete the WAL the journal went on
    writing: every commit after it was lost to kill -9. The journal's WAL stays, and what it
    commits after the command is what another process reads."""
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    new_order(engine, ALICE, order(quantity="0.010", price="59000", newClientOrderId="before"), NOW)
    checkpointing = sqlite3.connect(path)
    checkpoint(checkpointing, lambda: None)
    checkpointing.close()
    journal.finish_checkpoint()
    command = [sys.executable, "-m", "tickerplant.cli", "accounts", "--db", str(path), "deposit", "1", "USDT=1"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    assert _deleted_descriptors(path) == []
    new_order(engine, ALICE, order(quantity="0.010", price="59000", newClientOrderId="after"), NOW + 1)
    read = subprocess.run(
        [sys.executable, "-c", "import sqlite3, sys; print(*(r[0] for r in sqlite3.connect(sys.argv[1])"
         ".execute('SELECT client_order_id FROM venue_orders ORDER BY order_id')))", str(path)],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert read.stdout.split() == ["before", "after"]
    journal.close()


def test_the_order_rate_windows_go_on_after_a_restart(database: tuple[Path, str]) -> None:
    """-1015's budget is not refilled by a restart (docs/venue.md, "Order rate limits"):
    after a kill (nothing saved) the open windows count again every order the journal holds,
    the ones no key placed left out (a liquidation, a triggered algo order's child); after a
    save (each second, a clean stop) the refusals too; a window closed since counts nothing."""
    path, _ = database
    journal = SqliteJournal(path)
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    assert NOW % 60_000 == 20_000 and NOW % 10_000 == 0  # the minute began 20 s before, a 10 s window now
    new_order(engine, ALICE, order(quantity="0.001", price="59000"), NOW - 25_000)  # the minute before
    new_order(engine, ALICE, order(quantity="0.001", price="59000"), NOW - 5_000)  # this minute, 10 s before
    resting = [new_order(engine, ALICE, order(quantity="0.001", price="59000"), NOW + i).order for i in range(3)]
    assert resting[0] is not None
    amend_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(resting[0].order_id), "side": "BUY",
                           "quantity": "0.001", "price": "59001"}, NOW + 3)  # fmt: skip
    stop = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
            "quantity": "0.010", "triggerprice": "61000", "workingtype": "MARK_PRICE"}  # fmt: skip
    new_algo(engine, ALICE, stop, NOW + 4)
    book.marks["BTCUSDT"] = Fraction(61500)
    engine.apply(AlgoTriggers(()), NOW + 5)  # triggered: its child, a MARKET order no key placed
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500"), NOW + 6)
    book.marks["BTCUSDT"] = Fraction(40190)
    engine.apply(Marks(tuple([StreamMessage("btcusdt@markState", b"{}")])), NOW + 7)  # liquidated: autoclose-…
    kinds = [o.client_order_id.split("-")[0] for o in engine.orders(ALICE, "BTCUSDT")]
    assert kinds.count("autoclose") == 1 and len(kinds) == 8  # 6 placed, the child, the liquidation
    with pytest.raises(RequestRefused):
        new_order(engine, ALICE, order(symbol="NOPE", quantity="1", price="1"), NOW + 8)  # counted, never journaled
    here = NOW + 9_000
    assert engine.counts.current(ALICE, here) == [(10_000, 300, 7), (60_000, 1200, 8)]
    journal.close()

    def restarted(now_ms: int) -> Engine:
        again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
        loading = SqliteJournal(path)
        loading.load(again)
        loading.load_counts(again, now_ms)
        loading.close()
        return again

    # killed: the orders answered, each in its windows (the modification and the algo order
    # are orders too); the refusal was never journaled
    assert restarted(here).counts.current(ALICE, here) == [(10_000, 300, 6), (60_000, 1200, 7)]
    # saved (once a second, and at a clean stop): the refusal too, and the count goes on
    SqliteJournal(path).save_counts([engine], here)
    again = restarted(here)
    assert again.counts.current(ALICE, here) == [(10_000, 300, 7), (60_000, 1200, 8)]
    placed = new_order(again, ALICE, order(quantity="0.001", price="59000"), here + 1)
    assert placed.counts == [("X-MBX-ORDER-COUNT-10S", 8), ("X-MBX-ORDER-COUNT-1M", 9)]
    # killed after an order placed since the save: the save's count and the orders after it (9,
    # as counted live: the larger of the save's 8 and the journal's 8 forgot it)
    assert restarted(NOW + 10_000).counts.current(ALICE, NOW + 10_000) == [(10_000, 300, 0), (60_000, 1200, 9)]
    assert restarted(NOW + 40_000).counts.current(ALICE, NOW + 40_000) == [(10_000, 300, 0), (60_000, 1200, 0)]
    # only the windows still open are kept: one row per account and limit
    SqliteJournal(path).save_counts([again], NOW + 40_000)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM venue_order_counts").fetchone() == (0,)


def test_a_kill_after_a_save_counts_the_save_and_every_order_answered_since(database: tuple[Path, str]) -> None:
    """Batches count 5 each on the 10 s window (the journal holds their orders, one each);
    saved, then single orders, then a kill: the restart counts what was saved and the orders
    journaled since (the larger of the save and the journal's orders forgot the singles: 40
    against 8 + 15, where the count had been 55)."""
    path, _ = database
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    assert NOW % 10_000 == 0
    for i in range(8):  # eight batches of one order: 40 on the 10 s window, 8 on the minute's
        engine.counts.charge(ALICE, NOW + i, batch=True)
        new_order(engine, ALICE, order(quantity="0.001", price="59000"), NOW + i, in_batch=True)
    SqliteJournal(path).save_counts([engine], NOW + 1_000)  # the second's save
    for i in range(15):
        placed = new_order(engine, ALICE, order(quantity="0.001", price="59000"), NOW + 1_500 + i)
    assert placed.counts == [("X-MBX-ORDER-COUNT-10S", 55), ("X-MBX-ORDER-COUNT-1M", 23)]
    journal.close()  # killed: no save since
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    loading = SqliteJournal(path)
    loading.load(again)
    loading.load_counts(again, NOW + 4_000)
    loading.close()
    assert again.counts.current(ALICE, NOW + 4_000) == [(10_000, 300, 55), (60_000, 1200, 23)]


@pytest.mark.timeout(int(150 * SECONDS))  # 2,400 orders and four starts, on a loaded machine
async def test_a_server_killed_and_restarted_does_not_refill_the_order_rate_budget(tmp_path: Path) -> None:
    """COIN-M's 1,200 orders a minute per account (part 1 §7.4), most of them placed (in
    batches of 5), then `kill -9` and a restart within the same minute: the count goes on from
    every order that was answered (X-MBX-ORDER-COUNT-1M; the journal holds orders, not
    batches, so each of a batch's orders counts now, never fewer than Binance counted), and
    the orders past 1,200 are refused -1015. A minute that turns during a round (up to its
    refusal) makes the round prove nothing: then one more, which starts early in the new
    minute, with an account of its own."""
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    now = SystemClock().now_ms()
    keys = []
    for name in ("carol", "dave"):
        account = store.create_account(name, [(Market.CM, "BTC", parse_amount("10"))], now)
        keys.append(store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=now).api_key)
    store.close()
    port, cm_port = free_port(), free_port()
    base = f"http://127.0.0.1:{cm_port}/dapi/v1"
    spent = 1150

    async def place(
        session: aiohttp.ClientSession, price: str, key: str, n: int, status: int | None = 200
    ) -> tuple[Any, int]:  # fmt: skip
        """``n`` IOC orders below the bids (each expires at once, journaled): their answers,
        and the minute's count after them (a batch refused whole, ``status`` 429: 0); ``status``
        None: placed or refused whole, either (200 or 429)."""
        one = {"symbol": "BTCUSD_PERP", "side": "BUY", "type": "LIMIT", "timeInForce": "IOC", "quantity": "1",
               "price": price, "newOrderRespType": "RESULT"}  # fmt: skip
        batch = urllib.parse.quote(msgspec.json.encode([one] * n).decode())
        query = f"batchOrders={batch}&timestamp={SystemClock().now_ms()}"
        signed = f"{query}&signature={hmac_hex(SECRET, query.encode())}"
        url = yarl.URL(f"{base}/batchOrders?{signed}", encoded=True)  # signed as sent: not re-quoted
        async with session.post(url, headers={"X-MBX-APIKEY": key}) as answer:
            body = await answer.json()
            assert answer.status in ((200, 429) if status is None else (status,)), body
            return body, int(answer.headers.get("X-MBX-ORDER-COUNT-1M", 0))

    for key in keys:
        answered: list[int] = []  # each answered order's time
        async with serve(path, port, cm_port=cm_port) as process, aiohttp.ClientSession() as session:
            depth = await (await session.get(f"{base}/depth?symbol=BTCUSD_PERP")).json()
            # 3 % below the best bid (within PERCENT_PRICE): no ask comes down to it in the
            # seconds a loaded machine takes to restart the market (the book's depth may)
            below = f"{float(depth['bids'][0][0]) * 0.97:.1f}"

            async def some(
                n: int, session: aiohttp.ClientSession = session, price: str = below, key: str = key,
                answered: list[int] = answered,
            ) -> None:  # fmt: skip
                for _ in range(n):
                    results, _ = await place(session, price, key, 5)
                    assert [r.get("status") for r in results] == ["EXPIRED"] * 5, results
                    answered.extend(r["updateTime"] for r in results)

            await asyncio.gather(*(some(spent // 5 // 10) for _ in range(10)))
            assert len(answered) == spent
            process.send_signal(signal.SIGKILL)  # at once: no clean stop, nothing saved on the way out
            await process.wait()
        async with serve(path, port, cm_port=cm_port), aiohttp.ClientSession() as session:
            (result,), count = await place(session, below, key, 1)
            minute = result["updateTime"] - result["updateTime"] % 60_000
            if sum(1 for t in answered if t >= minute) < spent:  # the minute turned during the round
                continue
            assert count == spent + 1  # not 1: the budget goes on
            results = []
            while len(results) < 1200 - count:  # up to the limit, one a batch (a batch counts one)
                results += (await place(session, below, key, 1))[0]
            refused, counted = await place(session, below, key, 1, status=None)  # and one more: refused whole
            if counted and SystemClock().now_ms() >= minute + 60_000:  # placed: the minute turned before it
                continue
        assert [r.get("status") for r in results] == ["EXPIRED"] * (1200 - count)
        assert refused == {"code": -1015, "msg": "Too many new orders; current limit is 1200 orders per MINUTE."}
        return
    pytest.fail("the minute turned during two rounds in a row")
