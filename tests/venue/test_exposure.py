"""``exposure.each_account``: every account judged, in order, whatever one raises; the
first error raised once all are done (funding, margin checks and the automatic exchange
run their accounts through it)."""

from __future__ import annotations

import pytest

from tickerplant.venue.exposure import each_account


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


def test_one_makers_failure_settles_the_other_matches_of_the_book_and_journals_them() -> None:
    """The one book reports each match once (``resting.settle_matched``): a maker whose
    settlement raises must not take the other makers' fills with it."""
    from types import SimpleNamespace
    from typing import Any

    from tickerplant.venue.events import Batch
    from tickerplant.venue.orders import OrderStatus
    from tickerplant.venue.resting import receive

    orders = {n: SimpleNamespace(order_id=n, account_id=n, price=100, status=OrderStatus.NEW, queue_ahead=5,
                                 copy=lambda n=n: n) for n in (1, 2, 3)}  # fmt: skip
    settled: list[int] = []
    committed: list[Batch] = []

    def settle(ledger: Any, order: Any, price: int, qty: int, maker: bool, now_ms: int, batch: Batch,
               trade_id: int | None = None) -> None:  # fmt: skip
        settled.append(order.order_id)
        if order.order_id == 1:
            raise RuntimeError("order 1's account")

    engine = SimpleNamespace(
        book=SimpleNamespace(matched=lambda: [("BTCUSDT", n, 10 + n, 1) for n in (1, 2, 3)]),
        resting=lambda symbol: list(orders.values()), has_resting=lambda: True,
        ledger=lambda account: None, settle=settle, finish=lambda *a: None,
        journal=SimpleNamespace(commit=committed.append),
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="order 1's account"):
        receive(engine, [], 1_000)  # type: ignore[arg-type]
    assert settled == [1, 2, 3]
    (batch,) = committed
    assert batch.orders == [2, 3]  # the settled makers, journaled
