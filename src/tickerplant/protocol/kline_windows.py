"""What every kline endpoint reads of its query (spec §7.8: `klines`, `continuousKlines`, the
mark-, index- and premium-index klines), its weight by `limit`, and COIN-M's window: at most
200 days, the most recent `limit` before the end."""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from tickerplant.market.klines.candles import INTERVALS, close_time, open_time
from tickerplant.market.units import DAY_MS
from tickerplant.protocol.errors import RequestRefused, mandatory, not_valid
from tickerplant.protocol.query_values import Params, int_param, text_param

__all__ = [
    "COIN_M_KLINE_SPAN_MS", "KLINE_LIMIT_MAX", "KlineQuery", "kline_query", "klines_weight", "open_before",
]  # fmt: skip

KLINE_LIMIT_MAX = 1500
COIN_M_KLINE_SPAN_MS = 200 * DAY_MS  # the widest COIN-M kline window (§7.8)


class KlineQuery(NamedTuple):
    interval: str
    start_ms: int | None  # startTime, inclusive
    end_ms: int | None  # endTime, inclusive
    limit: int


def kline_query(
    params: Params, intervals: Collection[str] = INTERVALS, *, coin_m_now: int | None = None
) -> KlineQuery:
    """What every kline endpoint reads (§7.8: klines, continuousKlines, the mark-, index-
    and premium-index klines): `interval` (mandatory, -1102; one of ``intervals``, else
    -1120), `startTime`, `endTime` (-1023 when the start is after the end) and `limit`
    (500 by default, 1 to 1,500, else -1130). ``coin_m_now``: a COIN-M endpoint's, at that
    time, whose window rules follow (``_coin_m_window``)."""
    interval = text_param(params, "interval")
    if interval is None:
        raise mandatory("interval")
    if interval not in intervals:
        raise RequestRefused(-1120, "Invalid interval.")
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    limit = int_param(params, "limit")
    limit = 500 if limit is None else limit
    if not 1 <= limit <= KLINE_LIMIT_MAX:
        raise not_valid("limit")
    if start is not None and end is not None and start > end:
        raise RequestRefused(-1023, "Start time is greater than end time.")
    if coin_m_now is not None and (start is not None or end is not None):
        start, end = _coin_m_window(interval, start, end, limit, coin_m_now)
    return KlineQuery(interval, start, end, limit)


def _coin_m_window(
    interval: str, start: int | None, end: int | None, limit: int, now_ms: int
) -> tuple[int, int]:
    """COIN-M's kline window (§7.8): at most 200 days between `startTime` and `endTime`
    (``-1127``, the code's documented text, in hours); a start alone ends 200 days after it,
    not past now; an end alone starts 200 days before it; and the most recent `limit`
    before the end are answered, so the start moves up to the `limit`-th kline back from
    the end's (ccxt sends an `endTime` with every inverse `since` for this)."""
    if start is not None and end is not None:
        if end - start > COIN_M_KLINE_SPAN_MS:
            hours = COIN_M_KLINE_SPAN_MS // 3_600_000
            raise RequestRefused(-1127, f"More than {hours} hours between startTime and endTime.")
    elif start is not None:
        end = max(start, min(start + COIN_M_KLINE_SPAN_MS, now_ms))
    else:
        assert end is not None
        start = end - COIN_M_KLINE_SPAN_MS
    # the most recent that exist: an end past now counts back from now's kline, not from slots
    # still to come (a future end answered fewer, or none)
    latest = min(end, now_ms)
    return max(start, open_before(interval, open_time(interval, latest), limit - 1)), end


def open_before(interval: str, open_ms: int, n: int) -> int:
    """The open time of the ``interval`` kline ``n`` before the one open at ``open_ms``."""
    if interval == "1M":  # months of their own lengths, stepped back one by one (n < 1,500)
        for _ in range(n):
            open_ms = open_time(interval, open_ms - 1)
        return open_ms
    return open_ms - n * (close_time(interval, open_ms) + 1 - open_ms)


def klines_weight(params: Params) -> int:
    """Klines' weight by `limit`, each band inclusive at the top, as measured (§7.8)."""
    limit = int_param(params, "limit")
    if limit is None:
        return 5
    return 1 if limit <= 100 else 2 if limit <= 500 else 5 if limit <= 1000 else 10
