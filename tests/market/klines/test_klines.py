from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kline_payloads import stream_kline

from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.klines.candles import (
    CONTINUOUS_INTERVALS_UM,
    INTERVALS,
    Kline,
    KlineSeries,
    close_time,
    open_time,
)
from tickerplant.market.klines.symbol_klines import SymbolKlines
from tickerplant.protocol.market_data import rest_row

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
DAY_MS = 86_400_000


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()) * 1000


def _reference_open(interval: str, t_ms: int) -> int:
    """Open times the slow way, through datetime, to check the integer arithmetic."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t_ms)
    count, unit = int(interval[:-1]), interval[-1]
    if unit == "m":
        start = moment.replace(minute=moment.minute - moment.minute % count, second=0, microsecond=0)
    elif unit == "h":
        start = moment.replace(hour=moment.hour - moment.hour % count, minute=0, second=0, microsecond=0)
    elif unit == "d":
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        days = (midnight - datetime(1970, 1, 1, tzinfo=UTC)).days
        start = midnight - timedelta(days=days % count)  # epoch-aligned, as Binance's 3d
    elif unit == "w":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=moment.weekday())
    else:
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


# --- alignment -----------------------------------------------------------------------------------


def test_intervals() -> None:
    assert INTERVALS == (
        "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
    )  # fmt: skip
    for bad in ("2m", "1y", "", "1W"):
        with pytest.raises(ValueError):
            open_time(bad, NOW_MS)
        with pytest.raises(ValueError):
            KlineSeries(bad)
    # `1s` is USDⓈ-M's continuous klines' alone (§4.12): aligned, but not a kline interval
    assert "1s" not in INTERVALS
    assert ("1s", *INTERVALS) == CONTINUOUS_INTERVALS_UM
    assert open_time("1s", 1_500) == 1_000 and close_time("1s", 1_000) == 1_999


LAST_OF_FEBRUARY = _ms(2026, 2, 28, 23, 59, 59) + 999
FIRST_OF_MARCH = _ms(2026, 3, 1)  # a Sunday


@pytest.mark.parametrize(
    ("interval", "before", "after"),
    [
        ("1m", _ms(2026, 2, 28, 23, 59), FIRST_OF_MARCH),
        ("3m", _ms(2026, 2, 28, 23, 57), FIRST_OF_MARCH),
        ("5m", _ms(2026, 2, 28, 23, 55), FIRST_OF_MARCH),
        ("15m", _ms(2026, 2, 28, 23, 45), FIRST_OF_MARCH),
        ("30m", _ms(2026, 2, 28, 23, 30), FIRST_OF_MARCH),
        ("1h", _ms(2026, 2, 28, 23), FIRST_OF_MARCH),
        ("2h", _ms(2026, 2, 28, 22), FIRST_OF_MARCH),
        ("4h", _ms(2026, 2, 28, 20), FIRST_OF_MARCH),
        ("6h", _ms(2026, 2, 28, 18), FIRST_OF_MARCH),
        ("8h", _ms(2026, 2, 28, 16), FIRST_OF_MARCH),
        ("12h", _ms(2026, 2, 28, 12), FIRST_OF_MARCH),
        ("1d", _ms(2026, 2, 28), FIRST_OF_MARCH),
        # 20 511 days after the epoch is a multiple of 3: the 3d kline opens at 2026-02-27
        ("3d", _ms(2026, 2, 27), _ms(2026, 2, 27)),
        # 2026-03-01 is a Sunday: both instants are in the week of Monday 2026-02-23
        ("1w", _ms(2026, 2, 23), _ms(2026, 2, 23)),
        ("1M", _ms(2026, 2, 1), FIRST_OF_MARCH),
    ],
)
def test_alignment_at_the_end_of_february(interval: str, before: int, after: int) -> None:
    assert open_time(interval, LAST_OF_FEBRUARY) == before
    assert open_time(interval, FIRST_OF_MARCH) == after
    if before != after:
        assert close_time(interval, before) == LAST_OF_FEBRUARY
        assert close_time(interval, before) + 1 == after


def test_week_opens_on_monday() -> None:
    monday = _ms(2026, 3, 2)
    assert datetime.fromtimestamp(monday / 1000, tz=UTC).weekday() == 0
    assert open_time("1w", monday) == monday
    assert open_time("1w", monday - 1) == _ms(2026, 2, 23)
    assert close_time("1w", monday) == _ms(2026, 3, 9) - 1
    assert open_time("1w", 0) == _ms(1969, 12, 29)  # the epoch was a Thursday


def test_month_lengths_and_year_end() -> None:
    assert close_time("1M", _ms(2026, 2, 1)) == _ms(2026, 3, 1) - 1  # 28 days
    assert close_time("1M", _ms(2028, 2, 1)) == _ms(2028, 3, 1) - 1  # leap year, 29 days
    assert close_time("1M", _ms(2026, 12, 1)) == _ms(2027, 1, 1) - 1
    assert open_time("1M", _ms(2027, 1, 1) - 1) == _ms(2026, 12, 1)
    assert open_time("1M", _ms(2026, 1, 31, 12)) == _ms(2026, 1, 1)


def test_three_days_are_epoch_aligned() -> None:
    assert open_time("3d", 0) == 0
    assert open_time("3d", 3 * DAY_MS - 1) == 0
    assert open_time("3d", 3 * DAY_MS) == 3 * DAY_MS
    assert close_time("3d", 0) == 3 * DAY_MS - 1
    assert open_time("3d", NOW_MS) % (3 * DAY_MS) == 0


@given(st.sampled_from(INTERVALS), st.integers(0, 4_102_444_800_000))  # up to 2100
def test_alignment_matches_datetime(interval: str, t_ms: int) -> None:
    start = open_time(interval, t_ms)
    end = close_time(interval, start)
    assert start == _reference_open(interval, t_ms)
    assert start <= t_ms <= end
    assert open_time(interval, end) == start
    assert open_time(interval, end + 1) == end + 1
    assert close_time(interval, t_ms) == end  # an unaligned time means its kline


# --- aggregation ---------------------------------------------------------------------------------

Trade = tuple[int, int, int, int, int, bool]  # time, id, price, qty, quote, buyer_is_maker


def _brute_force(interval: str, trades: list[Trade]) -> list[Kline]:
    groups: dict[int, list[Trade]] = {}
    for trade in trades:
        groups.setdefault(open_time(interval, trade[0]), []).append(trade)
    klines = []
    for start, group in sorted(groups.items()):
        prices = [t[2] for t in group]
        takers = [t for t in group if not t[5]]
        kline = Kline(
            start, close_time(interval, start), prices[0], max(prices), min(prices), prices[-1],
            sum(t[3] for t in group), sum(t[4] for t in group), len(group),
            sum(t[3] for t in takers), sum(t[4] for t in takers), group[0][1], group[-1][1],
        )  # fmt: skip
        klines.append(kline)
    return klines


@st.composite
def _trades(draw: st.DrawFn) -> list[Trade]:
    gaps = draw(st.lists(st.integers(0, 5 * DAY_MS), max_size=60))
    start = draw(st.integers(NOW_MS - 400 * DAY_MS, NOW_MS))
    trades: list[Trade] = []
    t = start
    for n, gap in enumerate(gaps):
        t += draw(st.sampled_from([0, 1, gap, gap // 1000]))
        price = draw(st.integers(1, 10**7))
        qty = draw(st.integers(1, 10**4))
        trades.append((t, 1000 + n, price, qty, draw(st.integers(0, 10**12)), draw(st.booleans())))
    return trades


@given(_trades())
def test_aggregation_equals_brute_force(trades: list[Trade]) -> None:
    klines = SymbolKlines()
    for trade in trades:
        klines.add(*trade)
    for interval in INTERVALS:
        series = klines.series(interval)
        expected = _brute_force(interval, trades)
        assert list(series) == expected
        assert series.latest() == (expected[-1] if expected else None)
        assert series.query(None, None, 1500) == expected


@given(
    _trades(), st.integers(0, 3), st.sampled_from([3, 1500]), st.sampled_from([INTERVALS, CONTINUOUS_INTERVALS_UM])
)
def test_rows_make_the_klines_trades_one_by_one_make(
    trades: list[Trade], late: int, maxlen: int, intervals: tuple[str, ...]
) -> None:
    """``add_rows`` (a view's backlog of trades at once, summed per minute, and per second
    for 1s when it is among the intervals) against ``add`` per trade, with a few late trades
    and a short series too: the same klines, the same evictions."""
    rows = [(*trade, 1 + trade[1] % 3) for trade in trades]
    for i in range(min(late, len(rows))):  # a trade an hour late, as a recording can deliver
        t, *rest = rows[-1 - 2 * i]
        rows.insert(len(rows) - i, (t - 3_600_000, *rest))
    one_by_one = SymbolKlines(intervals, maxlen)
    for row in rows:
        one_by_one.add(*row)
    at_once = SymbolKlines(intervals, maxlen)
    at_once.add_rows(rows[: len(rows) // 2])
    at_once.add_rows(rows[len(rows) // 2 :])
    for interval in intervals:
        assert list(at_once.series(interval)) == list(one_by_one.series(interval))
        assert at_once.series(interval).query(None, None, 1500) == one_by_one.series(interval).query(None, None, 1500)


def test_add_returns_the_kline_and_no_trade_no_kline() -> None:
    series = KlineSeries("1m")
    assert series.latest() is None and len(series) == 0
    k = series.add(NOW_MS + 5, 1, 100, 2, 200, True)
    assert series.add(NOW_MS + 59_999, 2, 90, 3, 270, False) is k
    assert k == Kline(NOW_MS, NOW_MS + 59_999, 100, 100, 90, 90, 5, 470, 2, 3, 270, 1, 2)
    # nothing trades for two minutes: the next kline is three minutes on, no empty ones between
    later = series.add(NOW_MS + 180_000, 3, 95, 1, 95, False)
    assert later is not k and len(series) == 2
    assert [kl.open_ms for kl in series] == [NOW_MS, NOW_MS + 180_000]


def test_late_trades_are_still_counted() -> None:
    series = KlineSeries("1m")
    series.add(NOW_MS, 1, 100, 1, 100, True)
    series.add(NOW_MS + 120_000, 3, 100, 1, 100, True)
    merged = series.add(NOW_MS + 10, 2, 120, 2, 240, False)  # into the first kline
    assert merged == Kline(NOW_MS, NOW_MS + 59_999, 100, 120, 100, 100, 3, 340, 2, 2, 240, 1, 2)
    gap = series.add(NOW_MS + 60_000, 4, 80, 1, 80, True)  # a new kline in the gap
    assert [k.open_ms for k in series] == [NOW_MS, NOW_MS + 60_000, NOW_MS + 120_000]
    assert gap.open == gap.close == 80
    assert series.query(NOW_MS + 60_000, NOW_MS + 60_000, 10) == [gap]
    full = KlineSeries("1m", maxlen=2)
    full.add(NOW_MS + 60_000, 1, 100, 1, 100, True)
    full.add(NOW_MS + 120_000, 2, 100, 1, 100, True)
    full.add(NOW_MS, 3, 100, 1, 100, True)  # older than a full series holds: dropped
    assert [k.open_ms for k in full] == [NOW_MS + 60_000, NOW_MS + 120_000]


# --- query ---------------------------------------------------------------------------------------


def _series_with_gaps() -> tuple[KlineSeries, list[int]]:
    """1m klines at minutes 0, 1, 2, 5, 6, 9 after NOW_MS."""
    series = KlineSeries("1m")
    opens = [NOW_MS + m * 60_000 for m in (0, 1, 2, 5, 6, 9)]
    for n, start in enumerate(opens):
        series.add(start + 30_000, n, 100 + n, 1, 100 + n, True)
    return series, opens


def _opens(klines: list[Kline]) -> list[int]:
    return [k.open_ms for k in klines]


def test_query_without_bounds_gives_the_most_recent() -> None:
    series, opens = _series_with_gaps()
    assert _opens(series.query(None, None, 500)) == opens
    assert _opens(series.query(None, None, 2)) == opens[-2:]
    assert series.query(None, None, 0) == []
    assert KlineSeries("1m").query(None, None, 10) == []


def test_query_start_is_inclusive_on_open_time() -> None:
    series, opens = _series_with_gaps()
    assert _opens(series.query(opens[2], None, 500)) == opens[2:]
    assert _opens(series.query(opens[2] + 1, None, 500)) == opens[3:]  # inside a kline: the next one
    assert _opens(series.query(opens[2], None, 2)) == opens[2:4]  # the first `limit` from start
    assert _opens(series.query(NOW_MS + 3 * 60_000, None, 1)) == [opens[3]]  # a gap: next kline
    assert series.query(opens[-1] + 1, None, 500) == []
    assert _opens(series.query(0, None, 1)) == [opens[0]]  # python-binance's earliest-kline probe


def test_query_end_is_inclusive_on_open_time() -> None:
    series, opens = _series_with_gaps()
    assert _opens(series.query(None, opens[3], 500)) == opens[:4]
    assert _opens(series.query(None, opens[3] - 1, 500)) == opens[:3]
    assert _opens(series.query(None, opens[4], 2)) == opens[3:5]  # the most recent `limit` before end
    assert series.query(None, opens[0] - 1, 500) == []


def test_query_with_both_bounds() -> None:
    series, opens = _series_with_gaps()
    assert _opens(series.query(opens[1], opens[4], 500)) == opens[1:5]
    assert _opens(series.query(opens[1], opens[4], 2)) == opens[1:3]  # from the start
    assert series.query(NOW_MS + 3 * 60_000, NOW_MS + 4 * 60_000, 500) == []  # only a gap
    assert series.query(opens[4], opens[1], 500) == []


def test_maxlen_drops_the_oldest() -> None:
    series = KlineSeries("1m", maxlen=3)
    for n in range(10):
        series.add(NOW_MS + n * 60_000, n, 100, 1, 100, True)
    assert len(series) == 3
    assert _opens(series.query(None, None, 500)) == [NOW_MS + n * 60_000 for n in (7, 8, 9)]
    assert _opens(series.query(NOW_MS, None, 1)) == [NOW_MS + 7 * 60_000]
    assert SymbolKlines(("1m", "1h"), maxlen=2).series("1h").maxlen == 2
    with pytest.raises(ValueError):
        KlineSeries("1m", maxlen=0)


def test_symbol_klines_keeps_the_intervals_it_is_given() -> None:
    klines = SymbolKlines(("1m", "1d"))
    assert klines.intervals == ("1m", "1d")
    klines.add(NOW_MS, 1, 100, 1, 100, True)
    assert klines.series("1d").latest() is not None
    with pytest.raises(KeyError):
        klines.series("1h")
    assert SymbolKlines().intervals == INTERVALS


# --- wire shapes ---------------------------------------------------------------------------------


def _inst(market: Market, symbol: str) -> Instrument:
    return next(i for i in catalogue(market, NOW_MS) if i.symbol == symbol)


# the spec's §4.7 example kline, in units: BTCUSDT prices 0.01, qty 0.001, quote 0.00001
UM_KLINE = Kline(
    1791382980000, 1791383039999, 8308490, 8309170, 8305120, 8309160,
    13551, 112571473960, 1027, 6426, 53385666860, 8153633367, 8153634395,
)  # fmt: skip


def test_rest_row_um() -> None:
    btc = _inst(Market.UM, "BTCUSDT")
    assert rest_row(UM_KLINE, btc, Market.UM) == [
        1791382980000, "83084.90", "83091.70", "83051.20", "83091.60", "13.551", 1791383039999,
        "1125714.73960", 1027, "6.426", "533856.66860", "0",
    ]  # fmt: skip


def test_rest_row_cm() -> None:
    btc = _inst(Market.CM, "BTCUSD_PERP")  # price 0.1, whole contracts of 100 USD
    kline = Kline(
        NOW_MS, NOW_MS + 59_999, 954810, 954830, 954790, 954820,
        52, 5_446_118, 3, 12, 1_256_824, 10, 12,
    )  # fmt: skip
    assert rest_row(kline, btc, Market.CM) == [
        NOW_MS, "95481.0", "95483.0", "95479.0", "95482.0", "52", NOW_MS + 59_999,
        "0.05446118", 3, "12", "0.01256824", "0",
    ]  # fmt: skip


def test_stream_payload_bytes_um() -> None:
    btc = _inst(Market.UM, "BTCUSDT")
    event = stream_kline(UM_KLINE, btc, Market.UM, "1m", False, 1791382992723)
    assert msgspec.json.encode(event) == (
        b'{"e":"kline","E":1791382992723,"s":"BTCUSDT","k":{"t":1791382980000,"T":1791383039999,"s":"BTCUSDT","i":"1m",'
        b'"f":8153633367,"L":8153634395,"o":"83084.90","c":"83091.60","h":"83091.70","l":"83051.20","v":"13.551","n":1027,'
        b'"x":false,"q":"1125714.73960","V":"6.426","Q":"533856.66860","B":"0"}}'
    )


def test_stream_payload_bytes_cm_closed() -> None:
    eth = _inst(Market.CM, "ETHUSD_PERP")
    kline = Kline(NOW_MS, NOW_MS + 3_599_999, 310000, 310100, 309900, 310050, 7, 2_258_000, 2, 0, 0, 5, 6)
    event = stream_kline(kline, eth, Market.CM, "1h", True, NOW_MS + 3_600_000)
    assert msgspec.json.encode(event) == (
        b'{"e":"kline","E":1767229200000,"s":"ETHUSD_PERP","k":{"t":1767225600000,"T":1767229199999,"s":"ETHUSD_PERP",'
        b'"i":"1h","f":5,"L":6,"o":"3100.00","c":"3100.50","h":"3101.00","l":"3099.00","v":"7","n":2,"x":true,'
        b'"q":"0.02258000","V":"0","Q":"0.00000000","B":"0"}}'
    )


def test_a_renumbered_kline_is_the_same_kline_with_its_trade_ids_moved() -> None:
    kline = Kline(*range(1, 14))
    assert kline.renumbered(100) == dataclasses.replace(kline, first_id=112, last_id=113)
    assert kline.last_id == 13  # a copy
