"""The kline endpoints' windows as read from a query (``protocol.kline_windows.kline_query``,
spec §7.8): COIN-M's 200 days, its start moved up to the `limit`-th kline before the end."""

from __future__ import annotations

import pytest

from tickerplant.market.units import DAY_MS, MINUTE_MS
from tickerplant.protocol.errors import RequestRefused
from tickerplant.protocol.kline_windows import kline_query

T = 1_795_000_017_345  # 2026-11-18T11:06:57.345Z, a Wednesday
TODAY = T // DAY_MS * DAY_MS


def test_usd_m_windows_are_as_sent() -> None:
    q = kline_query({"interval": "1d", "startTime": str(T - 10 * DAY_MS), "limit": "3"})
    assert (q.start_ms, q.end_ms, q.limit) == (T - 10 * DAY_MS, None, 3)
    assert kline_query({"interval": "1m", "endTime": str(T)}).start_ms is None


def test_coin_m_windows() -> None:
    # an end alone: the 200 days before it, no more however large the limit
    q = kline_query({"interval": "1d", "endTime": str(T), "limit": "1500"}, coin_m_now=T)
    assert (q.start_ms, q.end_ms) == (T - 200 * DAY_MS, T)
    # a start alone: 200 days after it, not past now; the latest `limit` before that end
    q = kline_query({"interval": "1d", "startTime": str(T - 10 * DAY_MS), "limit": "3"}, coin_m_now=T)
    assert (q.start_ms, q.end_ms) == (TODAY - 2 * DAY_MS, T)
    q = kline_query({"interval": "1m", "startTime": str(T - 300 * DAY_MS), "limit": "5"}, coin_m_now=T)
    assert (q.start_ms, q.end_ms) == (T - 100 * DAY_MS - 4 * MINUTE_MS - T % MINUTE_MS, T - 100 * DAY_MS)
    # both: at most 200 days apart; the latest `limit` between them, a month stepping back
    # by calendar months
    with pytest.raises(RequestRefused) as wide:
        kline_query({"interval": "1d", "startTime": str(T - 200 * DAY_MS - 1), "endTime": str(T)}, coin_m_now=T)
    assert (wide.value.code, wide.value.msg) == (-1127, "More than 4800 hours between startTime and endTime.")
    q = kline_query({"interval": "1M", "startTime": str(T - 200 * DAY_MS), "endTime": str(T), "limit": "2"},
                    coin_m_now=T)  # fmt: skip
    assert q.start_ms == 1_790_812_800_000  # 2026-10-01: October and November


def test_a_coin_m_end_past_now_counts_back_from_now() -> None:
    """The most recent `limit` klines that exist (§7.8): an end ten minutes ahead starts the
    window two minutes before now's minute, as an end at now does."""
    at_now = kline_query({"interval": "1m", "endTime": str(T), "limit": "3"}, coin_m_now=T)
    ahead = kline_query({"interval": "1m", "endTime": str(T + 10 * MINUTE_MS), "limit": "3"}, coin_m_now=T)
    assert ahead.start_ms == at_now.start_ms == T - T % MINUTE_MS - 2 * MINUTE_MS
    assert ahead.end_ms == T + 10 * MINUTE_MS
