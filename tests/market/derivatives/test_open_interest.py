"""Open interest between the plant and the views (market/derivatives/open_interest.py): at most one
note a second per symbol, the value of a quantity on both markets, and a view's history of
5-minute points: contiguous, on each period's grid, bounded to 30 days."""

from __future__ import annotations

import msgspec

from tickerplant.market.derivatives.open_interest import (
    MAX_POINTS,
    PERIOD_MS,
    InterestHistory,
    InterestNote,
    value_units,
)
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import DAY_MS, HOUR_MS
from tickerplant.market.updates import OpenInterest

T0 = 1_767_225_600_000  # on every period's grid
UM = catalogue(Market.UM, T0)
CM = catalogue(Market.CM, T0)
BTCUSDT = next(i for i in UM if i.symbol == "BTCUSDT")
BTCUSD = next(i for i in CM if i.symbol == "BTCUSD_PERP")


def test_value_units() -> None:
    # 10 BTC at 90,000.00 USDT: 900,000 USDT, in units of 1e-8
    assert value_units(BTCUSDT, 10_000, 9_000_000) == 900_000 * 10**8
    # 100 contracts of 100 USD at 90,000.0: 0.11111111 BTC
    assert value_units(BTCUSD, 100, 900_000) == 11_111_111


def test_the_plant_tells_the_views_at_most_once_a_second() -> None:
    plant = Plant(Market.UM, UM, now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(OpenInterest("BTCUSDT", T0 + 10, 5_000, 9_000_000), T0 + 10, out)
    plant.apply(OpenInterest("BTCUSDT", T0 + 500, 6_000, 9_000_000), T0 + 500, out)
    plant.apply(OpenInterest("BTCUSDT", T0 + 700, 7_000, 9_000_000), T0 + 700, out)
    notes = [msgspec.json.decode(m.payload, type=InterestNote) for m in out if m.stream == "btcusdt@openInterest"]
    assert [n.oi for n in notes] == [5_000]
    assert plant.next_tick_ms <= T0 + 1000
    out.clear()
    plant.tick(T0 + 1000, out)
    notes = [msgspec.json.decode(m.payload, type=InterestNote) for m in out if m.stream == "btcusdt@openInterest"]
    assert [(n.T, n.oi) for n in notes] == [(T0 + 700, 7_000)]  # the latest waited for its second


def test_a_warm_past_goes_at_once_and_the_view_keeps_it() -> None:
    plant = Plant(Market.UM, UM, now_ms=T0)
    view = MarketView(Market.UM, UM)
    out: list[StreamMessage] = []
    past = tuple((T0 - k * PERIOD_MS, 1_000 + k, 9_000_000) for k in range(12, 0, -1))
    plant.apply(OpenInterest("BTCUSDT", T0, 2_000, 9_000_000, past), T0, out)
    view.receive(out)
    history = view.symbols["BTCUSDT"].open_interest
    assert len(history) == 13
    latest = history.latest
    assert latest is not None and (latest.T, latest.oi) == (T0, 2_000)
    assert history.points(PERIOD_MS, None, None, 3) == [
        (T0 - 2 * PERIOD_MS, 1_002, value_units(BTCUSDT, 1_002, 9_000_000)),
        (T0 - PERIOD_MS, 1_001, value_units(BTCUSDT, 1_001, 9_000_000)),
        (T0, 2_000, value_units(BTCUSDT, 2_000, 9_000_000)),
    ]


def _note(at_ms: int, oi: int) -> bytes:
    return msgspec.json.encode(InterestNote(at_ms, oi, oi * 10))


def test_points_are_the_first_note_after_each_boundary_and_gaps_carry_forward() -> None:
    history = InterestHistory()
    history.receive(_note(T0 + 1_000, 1))
    history.receive(_note(T0 + 2_000, 2))  # the boundary has its point already
    history.receive(_note(T0 + 3 * PERIOD_MS + 5, 3))  # two boundaries with no note
    points = history.points(PERIOD_MS, None, None, 10)
    assert [(t - T0, q) for t, q, _ in points] == [(0, 1), (PERIOD_MS, 1), (2 * PERIOD_MS, 1), (3 * PERIOD_MS, 3)]
    latest = history.latest
    assert latest is not None and latest.oi == 3


def test_longer_periods_are_on_their_grid_and_limits_and_times_select() -> None:
    history = InterestHistory()
    for k in range(0, 2 * 288):  # two days of 5-minute notes
        history.receive(_note(T0 - DAY_MS + k * PERIOD_MS + 1, k))
    hourly = history.points(HOUR_MS, None, None, 500)
    assert len(hourly) == 48 and all(t % HOUR_MS == 0 for t, _, _ in hourly)
    assert hourly[-1][0] == T0 + DAY_MS - HOUR_MS
    assert history.points(HOUR_MS, None, None, 30) == hourly[-30:]
    assert history.points(HOUR_MS, T0, None, 5) == [p for p in hourly if p[0] >= T0][:5]  # from startTime
    assert history.points(HOUR_MS, None, T0, 5) == [p for p in hourly if p[0] <= T0][-5:]  # up to endTime
    window = history.points(HOUR_MS, T0 - 3 * HOUR_MS - 1, T0 + 2 * HOUR_MS + 1, 500)
    assert [t for t, _, _ in window] == [T0 + k * HOUR_MS for k in range(-3, 3)]
    daily = history.points(DAY_MS, None, None, 30)
    assert [t for t, _, _ in daily] == [T0 - DAY_MS, T0]
    assert history.points(HOUR_MS, T0 + 10 * DAY_MS, None, 5) == []


def test_the_history_is_bounded_to_thirty_days() -> None:
    history = InterestHistory()
    for k in range(45 * 288):  # 45 days
        history.receive(_note(T0 + k * PERIOD_MS, k))
        assert len(history) <= MAX_POINTS + 288
    points = history.points(PERIOD_MS, None, None, 500)
    assert points[-1][1] == 45 * 288 - 1
    assert len(history.points(DAY_MS, None, None, 500)) >= 30
    # a month-long silence is carried forward, a month at most
    history.receive(_note(T0 + 200 * DAY_MS, 7))
    assert len(history) <= MAX_POINTS + 288
