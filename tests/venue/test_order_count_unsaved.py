"""The order-rate windows' saves compare only what can have changed (``OpenWindows.since_saved``):
the windows counted on since a comparison last found them saved, and the saved ones a turned
window closed. Against the comparison of every open window with what was saved (the oracle:
a plain list of the windows), the same changes, whatever the orders, the saves' times, and
saves that did not commit."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.journal.counts import Change, Saved, applied, changes
from tickerplant.venue.risk.order_counts import OrderCounts

T0 = 1_767_225_600_000

# a step: (ms later, an order of this account; or a save, committed or not)
steps = st.lists(
    st.tuples(st.integers(0, 25_000), st.one_of(st.integers(1, 12), st.sampled_from(["save", "save-failed"]))),
    max_size=120,
)


def _sorted(found: list[Change]) -> list[Change]:
    return sorted(found, key=repr)


@settings(max_examples=150, deadline=None)
@given(steps, st.sampled_from(list(Market)), st.booleans())
def test_a_save_finds_what_the_comparison_of_every_open_window_finds(
    steps: list[tuple[int, int | str]], market: Market, known_at_start: bool
) -> None:
    counts = OrderCounts(market)
    now_ms = T0
    counts.resume([(3, 60_000, T0, 2)], [(4, T0)], now_ms)  # a restart's windows
    saved: dict[str, Saved] = {"um": {}} if known_at_start else {}
    for later_ms, what in steps:
        now_ms += later_ms
        if isinstance(what, int):
            with contextlib.suppress(RequestRefused):  # a refused order counts all the same
                counts.charge(what, now_ms)
            continue
        last = saved.get("um")
        whole = changes("um", list(counts.open_windows(now_ms)), last)  # every open window compared
        found = changes("um", counts.open_windows(now_ms), last)
        assert _sorted(found) == _sorted(whole)
        if what == "save":  # committed: what the next compares with
            applied(saved, found)
            assert saved["um"] == {(a, w): (s, c) for a, w, s, c in counts.open_windows(now_ms)}


def test_a_second_s_comparison_looks_at_the_windows_counted_on_not_every_open_one() -> None:
    # 300 accounts' windows saved; one account orders: the next save's comparison is of its
    # windows alone (what it finds, and what it leaves to look at next time)
    counts = OrderCounts(Market.UM)
    for account in range(1, 301):
        counts.charge(account, T0)
    saved: dict[str, Saved] = {}
    applied(saved, changes("um", counts.open_windows(T0), None))
    applied(saved, changes("um", counts.open_windows(T0), saved["um"]))  # all found saved: forgotten
    assert counts.unsaved == 0
    counts.charge(7, T0 + 5)
    found = changes("um", counts.open_windows(T0 + 5), saved["um"])
    assert _sorted(found) == _sorted([("um", (7, 10_000), (T0, 2)), ("um", (7, 60_000), (T0, 2))])
    assert counts.unsaved == 2


def test_the_two_markets_are_one_budget() -> None:
    """Part 2 §3, §11: an account's USDⓈ-M and COIN-M orders share 1200 a minute; the 10 s
    counter is USDⓈ-M's alone (COIN-M's orders count on the minute's, part 1 §7.5); each
    market's own windows are what it saves."""
    um, cm = OrderCounts(Market.UM), OrderCounts(Market.CM)
    um.peer, cm.peer = cm, um
    for window in range(4):  # 4 × 250 USDⓈ-M orders in the minute's first 40 s
        for _ in range(250):
            headers = um.charge(1, T0 + window * 10_000)
    assert headers == [("X-MBX-ORDER-COUNT-10S", 250), ("X-MBX-ORDER-COUNT-1M", 1000)]
    for _ in range(200):
        headers = cm.charge(1, T0 + 45_000)
    assert headers == [("X-MBX-ORDER-COUNT-1M", 1200)]
    assert cm.charge(2, T0 + 45_000) == [("X-MBX-ORDER-COUNT-1M", 1)]  # another account's budget
    for counts in (cm, um):  # the 1201st order of the minute, on either market
        with pytest.raises(RequestRefused, match="1200 orders per MINUTE"):
            counts.charge(1, T0 + 50_000)
    assert um.current(1, T0 + 50_000) == [(10_000, 300, 1), (60_000, 1200, 1202)]
    assert [row for row in cm.open_windows(T0 + 50_000)] == [(1, 60_000, T0, 201), (2, 60_000, T0, 1)]
