"""``venue_engines.feed_engine``'s steps without sockets: each contained on its own, the
user data drain too, in their order, on one ``now_ms`` (the e2e twin is
tests/e2e/test_venue_contained.py); each only on a delivery that can give it work, and the
operator's tables read once a loop turn."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import tickerplant.venue_engines as venue_engines
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.events import BalanceUpdate, Batch
from tickerplant.venue.engine.good_till import GoodTill
from tickerplant.venue.userstream.activity import VenueActivity

NOW = 1_790_000_000_000
UNIT = 10**8  # 1e-8 of an asset


def test_every_step_and_the_drain_are_contained_in_order_on_one_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock, activity = ManualClock(5_000), VenueActivity()
    ran: list[tuple[str, int]] = []

    def apply(command: Any, now_ms: int) -> None:  # each command the engine is given fails
        ran.append((type(command).__name__, now_ms))
        raise RuntimeError(f"{type(command).__name__} bug")

    algos = SimpleNamespace(wants=lambda priced, mark: priced, next_date=lambda: None)  # no GTD algo order
    engine = SimpleNamespace(
        market=None, apply=apply, exposure=SimpleNamespace(pooled={1}), algos=algos, data=SimpleNamespace(mark=None),
        has_resting=lambda: True,  # an order rests: the trades may fill it
        good_till=GoodTill(),  # no date: no expiry step
    )  # fmt: skip
    keyring = SimpleNamespace(refresh=lambda: None, moved=lambda market: [(1, "USDT", 5)])
    transfers = venue_engines.OperatorTransfers(keyring)  # type: ignore[arg-type]

    def drain(now_ms: int) -> None:
        ran.append(("drain", now_ms))
        raise RuntimeError("drain bug")

    messages = [StreamMessage(name, b"{}") for name in (TRADE, MARK, FUNDING)]
    step = venue_engines.Contained(clock, activity)
    with caplog.at_level(logging.ERROR, logger="tickerplant"):
        for _ in range(2):  # raised inside: not here
            venue_engines.feed_engine(engine, drain, clock, transfers, HEEDED, step, None, messages)  # type: ignore[arg-type]
    steps = ["Transfers", "Trades", "Marks", "AutoExchange", "AlgoTriggers", "drain"]
    assert ran == [(name, 5_000) for name in steps] * 2
    assert dict(activity.failures) == dict.fromkeys(["transfers", "fills", "watch", "exchange", "algos", "drain"], 2)
    # each step's first failure logged with its traceback; the second within the minute counted only
    logged = [r for r in caplog.records if "step failed" in r.getMessage()]
    assert len(logged) == 6 and all(r.exc_info is not None for r in logged)


TRADE, MARK, FUNDING = "btcusdt@aggTrade", "btcusdt@markState", "btcusdt@fundingEvent"
HEEDED = venue_engines.Heeded(frozenset([TRADE]), frozenset([MARK]), frozenset([MARK, FUNDING]), frozenset([TRADE]))
# an observed market's (a replay's, a relay's): its depth changes move the resting orders' queues
OBSERVED = HEEDED._replace(fills=frozenset([TRADE, "btcusdt@depthDiff"]))


@pytest.mark.parametrize(
    ("streams", "steps", "priced", "heeded"),
    [
        # a venue order's book alone: nothing to fill, watch or trigger
        (["btcusdt@bookTicker", "btcusdt@depthDiff", "btcusdt@depth@0ms"], [], False, HEEDED),
        (["btcusdt@depthDiff", TRADE], ["Trades"], True, HEEDED),  # fills; the algo orders' last price
        ([MARK, "btcusdt@depthDiff"], ["Marks"], True, HEEDED),  # margin calls; the algo orders' mark
        (["ethusdt@depthDiff", FUNDING], ["Marks"], False, HEEDED),
        # an observed market's depth change alone: the resting orders' queues move, no price
        (["btcusdt@bookTicker", "btcusdt@depthDiff"], ["Trades"], False, OBSERVED),
        (["ethusdt@depthDiff"], [], False, OBSERVED),
    ],
)
def test_a_step_runs_only_on_a_delivery_that_can_give_it_work(
    monkeypatch: pytest.MonkeyPatch, streams: list[str], steps: list[str], priced: bool,
    heeded: venue_engines.Heeded,
) -> None:  # fmt: skip
    ran: list[str] = []
    asked: list[bool] = []
    algos = SimpleNamespace(wants=lambda priced, mark: asked.append(priced) or priced, next_date=lambda: None)
    keyring = SimpleNamespace(refresh=lambda: ran.append("refresh"), moved=lambda market: [])
    transfers = venue_engines.OperatorTransfers(keyring)  # type: ignore[arg-type]
    step = venue_engines.Contained(ManualClock(5_000), VenueActivity())
    messages = [StreamMessage(name, b"{}") for name in streams]
    engine = SimpleNamespace(
        market=None, exposure=SimpleNamespace(pooled={1}), apply=lambda command, now_ms: ran.append(type(command).__name__),
        algos=algos, data=SimpleNamespace(mark=None), has_resting=lambda: True, good_till=GoodTill(),
    )  # fmt: skip
    venue_engines.feed_engine(engine, ran.append, ManualClock(5_000), transfers, heeded, step, None, messages)  # type: ignore[arg-type]
    # the operator's transfers, the Multi-Assets exchange (an account in the mode) and the drain on every delivery
    assert ran == ["refresh", *steps, "AutoExchange", *(["AlgoTriggers"] if priced else []), 5_000]
    assert asked == [priced]  # the algo orders decide whether a delivery without a price concerns them


def test_the_keyring_is_read_once_a_look_interval_and_what_it_noticed_reaches_the_next_delivery(
    tmp_path: Path,
) -> None:
    # A delivery reads the operator's tables again once every LOOK_MS of the market's time;
    # the deliveries between do not, but settle whatever the keyring noticed meanwhile (a
    # signed request's key looks too): a deposit is told at the first delivery after the
    # keyring saw it, within LOOK_MS at the latest.
    store = AccountStore(tmp_path / "venue.db")
    alice = store.create_account("alice", [(Market.UM, "USDT", 1_000 * UNIT)], NOW).account_id
    api_key = store.add_key(alice, KeyType.HMAC, "s" * 64, now_ms=NOW).api_key
    keyring = Keyring(tmp_path / "venue.db")
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), _NoBook(), keyring, _Kept())
    transfers = venue_engines.OperatorTransfers(keyring)
    look_ms = venue_engines.OperatorTransfers.LOOK_MS

    def deposited() -> list[int]:
        return [e.change for e in engine.outbox.take() if isinstance(e, BalanceUpdate)]

    try:
        transfers(engine, NOW)  # a look
        assert deposited() == [] and keyring.loads == 1
        store.deposit(alice, Market.UM, "USDT", 5 * UNIT, NOW)
        transfers(engine, NOW + look_ms - 1)  # within the interval: not read again
        assert deposited() == [] and keyring.loads == 1
        assert keyring.key(api_key) is not None  # a request's key looks, and sees the deposit
        transfers(engine, NOW + look_ms - 1)
        assert deposited() == [5 * UNIT]
        store.deposit(alice, Market.UM, "USDT", 7 * UNIT, NOW)
        transfers(engine, NOW + look_ms)  # the interval's end: read again
        assert deposited() == [7 * UNIT] and keyring.loads == 3
    finally:
        keyring.close()
        store.close()


class _NoBook:
    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        return iter(())

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        return 0

    def mark(self, symbol: str) -> Fraction | None:
        return None

    def book_id(self, symbol: str) -> int | None:
        return None  # fixed levels: every taker meets them whole

    def halted(self, symbol: str) -> bool:
        return False  # no followed book here


class _Kept:
    def commit(self, batch: Batch) -> None:
        pass


def test_a_replay_is_delivered_exactly_while_the_market_can_act_on_an_account() -> None:
    # serve --replay delivers each event time on its own while an order rests, an algo order
    # waits (or its child works) or a position may be held (its margin judged at each mark)
    def engine(resting: bool = False, waiting: bool = False, triggered: bool = False, holds: bool = False) -> Any:
        algos = SimpleNamespace(by_symbol={"BTCUSDT": {1: None}} if waiting else {}, triggered={2: None} if triggered else {})
        exposure = SimpleNamespace(holders={"BTCUSDT": {1}} if holds else {})
        return SimpleNamespace(has_resting=lambda: resting, algos=algos, exposure=exposure)

    assert not venue_engines.awaiting_market([engine(), engine()])
    for which in ("resting", "waiting", "triggered", "holds"):
        assert venue_engines.awaiting_market([engine(), engine(**{which: True})]), which
