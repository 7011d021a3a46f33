"""``exposure.each_account`` and the loops that run through it (funding, margin checks, the
automatic exchange, the one book's matches, conditional orders' triggers): every account or
order judged, in order, whatever one raises; the first error raised once all are done."""

from __future__ import annotations

from typing import Any

import pytest

from tickerplant.venue.domain.commands import Trades
from tickerplant.venue.ledger.exposure import each_account


def test_every_account_is_judged_and_the_first_error_raised_after() -> None:
    judged: list[int] = []

    def judge(account_id: int) -> None:
        judged.append(account_id)
        if account_id in (2, 4):
            raise ValueError(f"account {account_id}")

    with pytest.raises(ValueError, match="account 2"):
        each_account([1, 2, 3, 4, 5], judge)
    assert judged == [1, 2, 3, 4, 5]
    each_account([1, 3], judge)  # none raises: nothing raised
    assert judged[-2:] == [1, 3]


def test_one_makers_failure_settles_the_other_matches_of_the_book_and_journals_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one book reports each match once (``resting.settle_matched``): a maker whose
    settlement raises must not take the other makers' fills with it."""
    from types import SimpleNamespace

    from tickerplant.venue.core.engine import Engine
    from tickerplant.venue.domain.events import Batch, Made
    from tickerplant.venue.domain.orders import OrderStatus
    from tickerplant.venue.engine import resting

    orders = {n: SimpleNamespace(order_id=n, account_id=n, price=100, status=OrderStatus.NEW, queue_ahead=5,
                                 copy=lambda n=n: n) for n in (1, 2, 3)}  # fmt: skip
    settled: list[int] = []
    committed: list[Batch] = []

    def settle(state: Any, seat: Any, order: Any, price: int, qty: int, maker: bool, now_ms: int, out: Made,
               trade_id: int | None = None) -> None:  # fmt: skip
        settled.append(order.order_id)
        if order.order_id == 1:
            raise RuntimeError("order 1's account")

    engine = SimpleNamespace(
        venue_market=SimpleNamespace(
            matched=lambda: [("BTCUSDT", n, 10 + n, 1, 0) for n in (1, 2, 3)], meets_itself=True
        ),
        resting_order=lambda symbol, order_id: orders.get(order_id), has_resting=lambda: True,
        seat=lambda account, symbol: None, finish=lambda *a: None,
        journal=SimpleNamespace(commit=committed.append), outbox=SimpleNamespace(extend=lambda events: None),
        operator_moves=None,  # no keyring beside it
    )  # fmt: skip
    monkeypatch.setattr(resting, "settle", settle)
    with pytest.raises(RuntimeError, match="order 1's account"):  # what was settled is journaled all the same
        Engine.apply(engine, Trades(()), 1_000)  # type: ignore[arg-type]
    assert settled == [1, 2, 3]
    (batch,) = committed
    assert batch.orders == [2, 3]  # the settled makers, journaled


def test_one_algo_orders_failure_triggers_the_others_all_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Conditional orders due at one mark: a child whose placement raises (not a refusal: a
    bug) keeps no other order from triggering, and the events taken before it stay."""
    from fractions import Fraction

    from test_engine import ALICE, BOB, NOW, Book, Deposits, Kept

    import tickerplant.venue.algo.triggers as triggers
    from tickerplant.market.instruments import Market, catalogue
    from tickerplant.venue.core.engine import Engine
    from tickerplant.venue.domain.commands import AlgoTriggers
    from tickerplant.venue.wire.algo_rest import new_algo

    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), Kept())
    stop = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
            "quantity": "0.001", "triggerprice": "61000", "workingtype": "MARK_PRICE"}  # fmt: skip
    alices, _ = new_algo(engine, ALICE, stop, NOW)
    bobs, _ = new_algo(engine, BOB, stop, NOW)
    engine.outbox.take()
    real_place = triggers.place

    def place(state: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        if command.account_id == ALICE:
            raise RuntimeError("alice's state")
        return real_place(state, command, *args, **kwargs)

    monkeypatch.setattr(triggers, "place", place)
    book.marks["BTCUSDT"] = Fraction(61000)
    with pytest.raises(RuntimeError, match="alice's state"):
        engine.apply(AlgoTriggers(()), NOW + 1)
    assert (alices.status, bobs.status) == ("TRIGGERING", "FINISHED")  # bob's child filled at once
    assert engine.ledger(BOB).position("BTCUSDT").amt == 1
    kinds = [type(event).__name__ for event in engine.outbox.take()]
    assert kinds.count("AlgoUpdate") >= 3  # alice's TRIGGERING kept, bob's TRIGGERING, TRIGGERED, FINISHED
