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
