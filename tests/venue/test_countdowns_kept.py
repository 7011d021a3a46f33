"""``countdownCancelAll`` outlives the server (part 2 §6.7: if no new call arrives before the
countdown elapses, the symbol's open orders are cancelled): each call is journaled before its
answer, a countdown that ran out leaves the journal with its cancels, and a server started
again on the journal takes the countdowns back, so a bot that set one and died while the
server was down has its orders cancelled at once. A stopped countdown stays stopped; a
deleted account's leaves the journal."""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal
from pathlib import Path

import aiohttp
from ports import free_port
from served_venue import account, serve, signed
from test_engine import ALICE, NOW, Book, Deposits
from test_engine import order as order_params
from timing import LOOK_S, SECONDS

from tickerplant.clock import ManualClock
from tickerplant.gateway.countdowns import CountdownTimer
from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import CancelAll, Outcome
from tickerplant.venue.journal.countdown_rows import held_countdowns
from tickerplant.venue.journal.group_commit import Stamped
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.order_entry import new_order

T0 = NOW


def engine_with(journal: Stamped) -> Engine:
    """The engine of ``test_engine`` (its book by hand, its deposits) on ``journal``."""
    return Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)


def test_the_journal_holds_each_countdown_and_a_start_takes_them_back(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    a, b, c = (account(path, name, Market.UM, "USDT", "100000")[0] for name in ("a", "b", "c"))
    assert a == ALICE  # the one the engine's deposits give a wallet to
    store, journal, clock = AccountStore(path), SqliteJournal(path), ManualClock(T0)
    engine = engine_with(Stamped(journal, "um"))
    drained: list[int] = []
    first = CountdownTimer(clock, engine, drained.append)
    keys = Keyring(path)  # the server's view of the accounts, read at its start
    keys.refresh()
    assert first.keep(held_countdowns(journal, "um"), keys) == 0  # none yet
    first.set(a, "BTCUSDT", 120_000, T0)
    first.set(a, "BTCUSDT", 120_000, T0 + 30_000)  # called again in time: from then
    first.set(a, "ETHUSDT", 60_000, T0)
    first.set(a, "ETHUSDT", 0, T0 + 1)  # stopped: its row goes
    first.set(b, "BTCUSDT", 10_000, T0)
    first.set(c, "BTCUSDT", 500_000, T0)
    assert held_countdowns(journal, "um") == [(b, "BTCUSDT", T0 + 10_000, T0), (a, "BTCUSDT", T0 + 150_000, T0 + 30_000),
                                              (c, "BTCUSDT", T0 + 500_000, T0)]  # fmt: skip
    assert held_countdowns(journal, "cm") == []  # one market's are not the other's
    clock.advance(10_000)  # b's runs out: gone from the journal with its cancels
    assert first.fired == 1 and drained == [T0 + 10_000]
    assert [row[0] for row in held_countdowns(journal, "um")] == [a, c]

    # the server stops; c's account is deleted meanwhile; it starts again after a's deadline
    store.delete(c)
    clock = ManualClock(T0 + 200_000)
    engine = engine_with(Stamped(journal, "um"))
    order = new_order(engine, a, order_params(quantity="0.010", price="50000"), clock.now_ms()).order
    assert order is not None and order.status.is_open
    again = CountdownTimer(clock, engine, drained.append)
    keys.refresh()
    assert again.keep(held_countdowns(journal, "um"), keys) == 1  # a's, not the deleted c's
    assert held_countdowns(journal, "um") == [(a, "BTCUSDT", T0 + 150_000, T0 + 30_000)]
    clock.advance(0)  # its deadline passed while the server was down: it runs out at once
    assert again.fired == 1 and not order.status.is_open
    assert held_countdowns(journal, "um") == []

    # a replay started again at an earlier time: a countdown set after its start is dropped
    later = CountdownTimer(ManualClock(T0 + 400_000), engine, drained.append)
    later.set(a, "BTCUSDT", 60_000, T0 + 400_000)
    earlier = CountdownTimer(ManualClock(T0 + 300_000), engine_with(Stamped(journal, "um")), drained.append)
    assert earlier.keep(held_countdowns(journal, "um"), keys) == 0 and len(earlier.countdowns) == 0
    assert held_countdowns(journal, "um") == []
    store.close()
    journal.close()


def test_a_cancel_that_fails_ends_no_other_countdown_nor_the_timer(tmp_path: Path) -> None:
    """A countdown whose cancels raise (a bug: nothing known does) is spent and logged; the
    others due with it run out, the user data drain runs, and the next deadline is timed."""
    path = tmp_path / "venue.db"
    journal, clock = SqliteJournal(path), ManualClock(T0)
    account(path, "a", Market.UM, "USDT", "100000")
    engine = engine_with(Stamped(journal, "um"))
    applied: list[int] = []

    class Failing:
        """The engine, whose cancels raise for account 1 (a wrapper: a compiled engine's
        methods cannot be replaced)."""

        journal = engine.journal

        def apply(self, command: CancelAll, now_ms: int) -> Outcome:
            applied.append(command.account_id)
            if command.account_id == 1:
                raise RuntimeError("a bug")
            return engine.apply(command, now_ms)

    drained: list[int] = []
    timer = CountdownTimer(clock, Failing(), drained.append)  # type: ignore[arg-type]
    timer.set(1, "BTCUSDT", 1_000, T0)
    timer.set(2, "BTCUSDT", 1_000, T0)
    timer.set(2, "ETHUSDT", 5_000, T0)
    clock.advance(1_000)
    assert applied == [1, 2] and timer.fired == 2 and drained == [T0 + 1_000]
    assert held_countdowns(journal, "um") == [(2, "ETHUSDT", T0 + 5_000, T0)]  # 1's spent, not kept
    clock.advance(4_000)  # timed again after the failure
    assert applied == [1, 2, 2] and drained == [T0 + 1_000, T0 + 5_000]
    journal.close()


def _resting(price: Decimal) -> str:
    return f"side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price={price}"


async def test_a_countdown_set_before_kill_9_cancels_the_orders_after_the_restart(tmp_path: Path) -> None:
    """A countdown of 1.5 s on ETHUSDT, and one on BTCUSDT set and then stopped, both
    acknowledged; the server killed at once and started again (longer than 1.5 s): the
    ETHUSDT orders are cancelled by the countdown the journal kept, the BTCUSDT ones stay."""
    db = tmp_path / "venue.db"
    _, key = account(db, "alice", Market.UM, "USDT", "100000")
    port = free_port()
    base = f"http://127.0.0.1:{port}/fapi"
    placed: dict[str, int] = {}
    async with serve(db, port) as process, aiohttp.ClientSession() as session:
        for symbol in ("ETHUSDT", "BTCUSDT"):
            _, depth = await signed(session, "GET", f"{base}/v1/depth", key, f"symbol={symbol}&limit=5")
            below = Decimal(depth["bids"][-1][0]) - 500  # on the tick: a whole number below the bid
            status, order = await signed(session, "POST", f"{base}/v1/order", key,
                                         f"symbol={symbol}&{_resting(below)}")  # fmt: skip
            assert status == 200, order
            placed[symbol] = order["orderId"]
        stopped = await signed(session, "POST", f"{base}/v1/countdownCancelAll", key,
                               "symbol=BTCUSDT&countdownTime=1500")  # fmt: skip
        assert stopped == (200, {"symbol": "BTCUSDT", "countdownTime": "1500"})
        assert (await signed(session, "POST", f"{base}/v1/countdownCancelAll", key,
                             "symbol=BTCUSDT&countdownTime=0"))[0] == 200  # fmt: skip
        kept = await signed(session, "POST", f"{base}/v1/countdownCancelAll", key,
                            "symbol=ETHUSDT&countdownTime=1500")  # fmt: skip
        assert kept == (200, {"symbol": "ETHUSDT", "countdownTime": "1500"})
        process.send_signal(signal.SIGKILL)  # at once: the answers were given, so journaled
        await process.wait()

    async with serve(db, port), aiohttp.ClientSession() as session:

        async def status(symbol: str) -> str:
            query = f"symbol={symbol}&orderId={placed[symbol]}"
            code, order = await signed(session, "GET", f"{base}/v1/order", key, query)
            assert code == 200, order
            return str(order["status"])

        async with asyncio.timeout(20 * SECONDS):  # the restart's first turns, at most
            while await status("ETHUSDT") != "CANCELED":
                await asyncio.sleep(LOOK_S)  # asked again a little later
        assert await status("BTCUSDT") == "NEW"  # its countdown was stopped before the kill
