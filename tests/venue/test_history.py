"""The history reads (``venue/engine/history.py``): the journal's answers (``JournalHistory``) are
the memory's (``KeptHistory``, the oracle) wherever the memory still holds what was asked;
past it only the journal has the rows; Binance's windows (3 and 90 days for orders, 7 days
a read, ``-4165``, ``-1128``) hold on both."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from msgspec.structs import astuple
from test_engine import ALICE, BOB, NOW, Book, Deposits, Kept, order, refusal

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.kept import ORDERS_KEPT
from tickerplant.venue.domain.orders import Order, OrderStatus
from tickerplant.venue.engine import history
from tickerplant.venue.engine.history import DAY_MS, KeptHistory
from tickerplant.venue.journal.reads import JournalHistory
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.order_entry import amend_order, cancel_order, new_order


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    AccountStore(tmp_path / "venue.db").close()  # the file the journal writes into
    journal = SqliteJournal(tmp_path / "venue.db")
    made = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    made.history = JournalHistory(journal, Market.UM, ["USDT"])
    return made


def _session(engine: Engine, seed: int, days: int) -> int:
    """Random orders of two accounts over ``days``: resting, cancelled, filled. The end."""
    rng = random.Random(seed)
    now = NOW
    for _ in range(400):
        now += rng.randrange(days * DAY_MS // 400)
        who = rng.choice((ALICE, BOB))  # Bob's 10 USDT are refused most orders: refusals leave no row
        roll = rng.random()
        with contextlib.suppress(RequestRefused):
            if roll < 0.4:
                new_order(engine, who, order(type="MARKET", side=rng.choice(("BUY", "SELL")), quantity="0.001"), now)
            elif roll < 0.8:
                new_order(engine, who, order(quantity="0.001", price=str(rng.randrange(50_000, 59_000))), now)
            elif (open_ := engine.open_orders(who, "BTCUSDT")) and roll < 0.9:
                cancel_order(engine, who, {"symbol": "BTCUSDT", "orderid": str(rng.choice(open_).order_id)}, now)
            elif open_:
                moved = rng.choice(open_)
                amend_order(engine, who, {"symbol": "BTCUSDT", "orderid": str(moved.order_id), "side": moved.side.value,
                                     "quantity": "0.001", "price": str(rng.randrange(50_000, 59_000))}, now)  # fmt: skip
    return now


def _answer(read: Callable[..., object], *args: object) -> object:
    """What ``read`` answered, or the refusal it raised."""
    try:
        answer = read(*args)
        assert isinstance(answer, list)
        return [astuple(row) if isinstance(row, Order) else row for row in answer]  # an Order is itself only
    except RequestRefused as refused:
        return (refused.code, refused.msg)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_journal_answers_as_the_memory_does(engine: Engine, seed: int) -> None:
    end = _session(engine, seed, days=20)
    assert engine.history is not None
    journal, memory = engine.history, KeptHistory(engine)
    moved = [a for o in engine.orders(ALICE, "BTCUSDT") for a in journal.amendments(ALICE, "BTCUSDT", o.order_id, 0, None, 100)]
    assert moved and engine.fills(ALICE, "BTCUSDT")  # the session modified and filled orders
    rng = random.Random(seed)
    for _ in range(60):
        now = rng.randrange(NOW, end + 100 * DAY_MS)
        params = {"symbol": "BTCUSDT", "limit": str(rng.choice((1, 5, 50, 500)))}
        if rng.random() < 0.5:
            params["starttime"] = str(rng.randrange(NOW - DAY_MS, end))
        if rng.random() < 0.3:
            params["orderid"] = str(rng.randrange(1, 300))
        for who in (ALICE, BOB):
            engine.history = journal
            from_journal = _answer(history.orders, engine, who, params, now)
            engine.history = memory
            assert _answer(history.orders, engine, who, params, now) == from_journal
            trade_params = {k: v for k, v in params.items() if k != "orderid"}
            engine.history = journal
            fills = history.trades(engine, who, trade_params, now)
            flows = history.flows(engine, who, None, "", None, None, 1000, now)
            engine.history = memory
            assert history.trades(engine, who, trade_params, now) == fills
            assert history.flows(engine, who, None, "", None, None, 1000, now) == flows
            for placed in engine.orders(who, "BTCUSDT"):
                engine.history = journal
                moves = history.amendments(engine, who, placed, None, None, 100, now)
                engine.history = memory
                assert history.amendments(engine, who, placed, None, None, 100, now) == moves
    engine.history = journal


def test_past_the_memory_the_journal_still_answers(engine: Engine) -> None:
    first = new_order(engine, ALICE, order(quantity="0.001", price="50000", newClientOrderId="first"), NOW).order
    assert first is not None
    new_order(engine, ALICE, order(type="MARKET", quantity="0.001"), NOW)
    for i in range(ORDERS_KEPT + 250):  # past the memory (which keeps 200 more before it drops any)
        at = NOW + 60 * i  # within the order-rate limits
        placed = new_order(engine, ALICE, order(quantity="0.001", price="50000"), at).order
        assert placed is not None
        cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id)}, at)
    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(first.order_id)}, NOW + 80_000)
    one = first.order_id
    assert engine.find(ALICE, "BTCUSDT", one + 1, None) is None  # the memory no longer has it
    now = NOW + 90_000
    found = history.order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(one + 1)}, now, open_only=False)
    assert (found.order_id, found.status) == (one + 1, OrderStatus.FILLED)
    by_client_id = {"symbol": "BTCUSDT", "origclientorderid": "first"}
    assert history.order(engine, ALICE, by_client_id, now, open_only=False).order_id == first.order_id
    listed = history.orders(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(one), "limit": "3"}, now)
    assert [o.order_id for o in listed] == [one, one + 1, one + 2]
    second = {"symbol": "BTCUSDT", "orderid": str(one + 1)}
    assert refusal(history.order, engine, BOB, second, now, open_only=False) == (
        -2013, "Order does not exist.")  # fmt: skip


def test_binance_s_windows(engine: Engine) -> None:
    unfilled = new_order(engine, ALICE, order(quantity="0.001", price="50000"), NOW).order
    filled = new_order(engine, ALICE, order(type="MARKET", quantity="0.001"), NOW).order
    assert unfilled is not None and filled is not None
    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(unfilled.order_id)}, NOW)

    def ref(o: int) -> dict[str, str]:
        return {"symbol": "BTCUSDT", "orderid": str(o)}

    later = NOW + 3 * DAY_MS + 1  # an unfilled cancelled order is gone after 3 days, a filled one stays
    assert refusal(history.order, engine, ALICE, ref(unfilled.order_id), later, open_only=False)[0] == -2013
    assert history.order(engine, ALICE, ref(filled.order_id), later, open_only=False) is not None
    assert refusal(history.order, engine, ALICE, ref(filled.order_id), NOW + 90 * DAY_MS + 1, open_only=False)[
        0] == -2013  # fmt: skip
    # the last 7 days by default; at most 7 days a read
    assert history.orders(engine, ALICE, {"symbol": "BTCUSDT"}, NOW + 8 * DAY_MS) == []
    listed = history.orders(engine, ALICE, {"symbol": "BTCUSDT"}, NOW + DAY_MS)
    assert [o.order_id for o in listed] == [unfilled.order_id, filled.order_id]
    wide = {"symbol": "BTCUSDT", "starttime": str(NOW), "endtime": str(NOW + 7 * DAY_MS + 1)}
    assert refusal(history.orders, engine, ALICE, wide, NOW) == (-4165, "Maximum time interval is 7 days")
    assert refusal(history.trades, engine, ALICE, wide, NOW)[0] == -4165
    assert refusal(history.trades, engine, ALICE, {"symbol": "BTCUSDT", "fromid": "1", "starttime": str(NOW)}, NOW) == (
        -1128, "Combination of optional parameters invalid.")  # fmt: skip
    assert len(history.trades(engine, ALICE, {"symbol": "BTCUSDT"}, NOW + 8 * DAY_MS)) == 0
    assert len(history.trades(engine, ALICE, {"symbol": "BTCUSDT", "fromid": "0"}, NOW + 8 * DAY_MS)) == 1
    assert history.trades(engine, ALICE, {"symbol": "BTCUSDT", "fromid": "0"}, NOW + 91 * DAY_MS) == []  # 3 months
    flows = history.flows(engine, ALICE, None, "", NOW, None, 100, NOW + 8 * DAY_MS)
    assert [f.kind for f in flows] == ["COMMISSION"]
    assert history.flows(engine, ALICE, None, "", NOW, None, 100, NOW + 91 * DAY_MS) == []  # 3 months


@pytest.mark.parametrize("market", list(Market))
def test_a_window_too_wide_is_each_markets_invalid_time_interval(market: Market) -> None:
    """INVALID_TIME_INTERVAL is USDⓈ-M's -4165 and COIN-M's -4088, COIN-M's text with a full
    stop (part 1 §6.2's table): every read with a widest window answers its market's."""
    made = Engine(market, catalogue(market, NOW), Book(), Deposits(), Kept())
    symbol = "BTCUSDT" if market is Market.UM else "BTCUSD_PERP"
    code, stop = (-4165, "") if market is Market.UM else (-4088, ".")
    wide = {"symbol": symbol, "starttime": str(NOW), "endtime": str(NOW + 7 * DAY_MS + 1)}
    seven = (code, f"Maximum time interval is 7 days{stop}")
    assert refusal(history.orders, made, ALICE, wide, NOW + 8 * DAY_MS) == seven
    assert refusal(history.trades, made, ALICE, wide, NOW + 8 * DAY_MS) == seven
    late = NOW + 40 * DAY_MS
    assert refusal(history.margin_moves, made, ALICE, symbol, None, NOW, NOW + 31 * DAY_MS, 100, late) == (
        code, f"Maximum time interval is 30 days{stop}")  # fmt: skip
    if market is Market.CM:  # USDⓈ-M's income has no widest window, only its 3 months
        year = NOW + 366 * DAY_MS
        assert refusal(history.flows, made, ALICE, None, "", NOW, year, 100, year) == (
            -4088, "Maximum time interval is 365 days.")  # fmt: skip
