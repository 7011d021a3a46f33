"""The history answers' past (protocol/past.py), without sockets: the past's mark, index and
premium bars are kept as their encoded rows, so the same question asked again (a client
polling the latest 1,500 mark-price klines, a burst of them) writes only the bar open at the
live start, whose samples go on, and the view's bars after it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec
import pytest

from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import close_time, open_time
from tickerplant.market.klines.price_candles import PriceBar, PriceKind
from tickerplant.market.units import DAY_MS, MINUTE_MS
from tickerplant.protocol.derivatives_data import price_row
from tickerplant.protocol.encoded_rows import array
from tickerplant.protocol.past import PastAnswers

NOW = 1_795_000_000_123  # the live start
_encode = msgspec.json.Encoder().encode


def _past() -> PastAnswers:
    listed = [i for m in Market for i in catalogue(m, NOW)]
    return PastAnswers(SimulatedPast(listed, 1, 2000.0), PastSpec(1, 2000.0, NOW, None, NOW - DAY_MS))


def _live(interval: str, count: int) -> Callable[[int | None, int | None, int], list[PriceBar]]:
    """The view's bars: ``count`` of ``interval`` from the one open at the live start."""
    bars, t = [], open_time(interval, NOW - NOW % MINUTE_MS)
    for k in range(count):
        bars.append(PriceBar(t, close_time(interval, t), 100 + k, 120 + k, 90 + k, 110 + k, 5 + k))
        t = close_time(interval, t) + 1

    def live(start: int | None, end: int | None, limit: int) -> list[PriceBar]:
        held = [b for b in bars if (start is None or b.open_ms >= start) and (end is None or b.open_ms <= end)]
        return held[:limit] if start is not None else held[-limit:]

    return live


@pytest.mark.parametrize(("interval", "start"), [("1m", None), ("1h", NOW - 20 * DAY_MS)])
def test_the_same_price_klines_asked_again_write_only_the_bars_of_the_live_start_on(
    interval: str, start: int | None
) -> None:
    past, live = _past(), _live(interval, 3)
    rows = [0]

    def row(bar: PriceBar) -> list[int | str]:
        rows[0] += 1
        return price_row(bar)

    def render(bars: Sequence[PriceBar]) -> msgspec.Raw:
        return array(*(_encode(row(b)) for b in bars))

    first = past.price_klines("BTCUSDT", PriceKind.MARK, interval, start, None, 1500, live, render, row)
    opens = [r[0] for r in msgspec.json.decode(first)]
    assert len(opens) >= 480 and rows[0] == len(opens)  # every row written once
    assert opens == sorted(set(opens)) and opens[-1] == live(None, None, 1)[0].open_ms
    rows[0] = 0
    again = past.price_klines("BTCUSDT", PriceKind.MARK, interval, start, None, 1500, live, render, row)
    assert again == first
    assert rows[0] <= 3  # the boundary's bar (the past's part in front) and the view's two after it
