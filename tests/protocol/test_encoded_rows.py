"""Rows kept encoded (protocol/encoded_rows.py): the same bytes msgspec writes for the
rows, a row written again when its source changed, and never more than the bound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import Kline, KlineSeries
from tickerplant.protocol.encoded_rows import EncodedRows, Stamped, array
from tickerplant.protocol.market_data import kline_rows, rest_row

T0 = 1_767_225_600_000
MINUTE = 60_000
BTC = next(i for i in catalogue(Market.UM, T0) if i.symbol == "BTCUSDT")


def plain(series: KlineSeries) -> bytes:
    return msgspec.json.encode([rest_row(k, BTC, Market.UM) for k in series])


def answer(rows: EncodedRows, series: KlineSeries) -> bytes:
    return bytes(msgspec.json.encode(kline_rows(rows, series, list(series), BTC, Market.UM)))


def test_kline_rows_are_msgspecs_bytes_and_follow_every_change() -> None:
    series = KlineSeries("1m")
    rows = EncodedRows()
    for n in range(10):
        series.add(T0 + n * MINUTE, n, 9_000_000 + n, 1000, 9_000_000_000 + n, n % 2 == 0)
    assert answer(rows, series) == plain(series)
    assert len(rows) == 10
    series.add(T0 + 9 * MINUTE + 5, 10, 9_100_000, 7, 63_700_000, False)  # the open kline moves
    assert answer(rows, series) == plain(series)
    series.add(T0 + 2 * MINUTE + 5, 11, 8_000_000, 3, 24_000_000, True)  # a late trade, closed kline
    assert answer(rows, series) == plain(series)
    series.put(Kline(T0 + 4 * MINUTE, T0 + 5 * MINUTE - 1, 1, 2, 1, 2, 5, 10, 1, 0, 0, 99, 99))
    assert answer(rows, series) == plain(series)  # replaced by a kline of the same count
    assert len(rows) == 10  # rewritten in place: no row counted twice


def test_another_series_is_another_owner() -> None:
    rows = EncodedRows()
    first, second = KlineSeries("1m"), KlineSeries("1m")
    first.add(T0, 1, 9_000_000, 1000, 9_000_000_000, True)
    second.add(T0, 1, 9_500_000, 1000, 9_500_000_000, True)  # same open time, same count
    assert answer(rows, first) == plain(first)
    assert answer(rows, second) == plain(second)


def test_the_bounds_drop_everything_and_answers_stay_right() -> None:
    rows = EncodedRows(max_rows=25, max_span_bytes=3000)
    series = KlineSeries("1m")
    for n in range(20):
        series.add(T0 + n * MINUTE, n, 9_000_000 + n, 1000, 9_000_000_000, True)
    assert answer(rows, series) == plain(series)
    assert len(rows) == 20  # 19 settled, joined as a span, and the latest
    assert 0 < rows.span_bytes() <= 3000
    other = KlineSeries("1m")
    for n in range(10):
        other.add(T0 + n * MINUTE, n, 9_000_000 - n, 1000, 9_000_000_000, True)
    assert answer(rows, other) == plain(other)
    assert len(rows) == 1  # 20 + 9 > 25: all dropped, then the latest kept
    assert rows.span_bytes() <= 3000  # the second span passed the bound: the first dropped
    for _ in range(3):
        assert answer(rows, series) == plain(series)
        assert answer(rows, other) == plain(other)
        assert len(rows) <= 25 and rows.span_bytes() <= 3000


def test_a_span_is_joined_once_while_its_rows_are_unchanged() -> None:
    joins: list[int] = []

    class Counting(EncodedRows):
        __slots__ = ()

        def counted(self, *args: Any) -> bytes:
            joins.append(len(args[2]))
            return super().counted(*args)

    rows = Counting()
    series = KlineSeries("1m")
    for n in range(30):
        series.add(T0 + n * MINUTE, n, 9_000_000 + n, 1000, 9_000_000_000, True)
    for _ in range(5):
        assert answer(rows, series) == plain(series)
    assert joins == [29, 1, 1, 1, 1, 1]  # the settled span once, the latest each time
    series.add(T0 + 30 * MINUTE, 30, 9_000_000, 1000, 9_000_000_000, True)  # a new latest
    assert answer(rows, series) == plain(series)
    assert joins[-2:] == [30, 1]


def test_valued_rows_are_rewritten_when_their_values_change() -> None:
    rows = EncodedRows()
    owner = object()
    written: list[int] = []

    def encode_from(values: list[tuple[int, int]]) -> Callable[[int], bytes]:
        def encode(i: int) -> bytes:
            written.append(i)
            return msgspec.json.encode({"k": values[i][0], "v": values[i][1]})

        return encode

    values = [(1, 10), (2, 20), (3, 30)]
    raw = array(rows.valued(owner, "x", [k for k, _ in values], values, encode_from(values)))
    assert msgspec.json.decode(msgspec.json.encode(raw)) == [{"k": k, "v": v} for k, v in values]
    assert written == [0, 1, 2]
    values = [(2, 20), (3, 31), (4, 40)]
    raw = array(rows.valued(owner, "x", [k for k, _ in values], values, encode_from(values)))
    assert msgspec.json.decode(msgspec.json.encode(raw)) == [{"k": k, "v": v} for k, v in values]
    assert written == [0, 1, 2, 1, 2]  # (2, 20) kept; (3, 31) changed, (4, 40) new


def test_stamped_is_what_a_kline_is() -> None:
    k: Stamped = Kline(T0, T0 + MINUTE - 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1)
    assert k.count == 1
