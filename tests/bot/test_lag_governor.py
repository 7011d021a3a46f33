"""``tickerplant run``'s lag rules (``bot/governor.py``), driven by hand: signed requests in,
with the market's time at their arrival and the wall's time of each look."""

from __future__ import annotations

import math

import pytest

from tickerplant.bot.governor import LagGovernor, Verdict, suggested_speed

T = 1_704_067_200_000  # the market's time


def _signed(governor: LagGovernor, *lags: int) -> None:
    for lag in lags:
        governor.signed(b"symbol=BTCUSDT&timestamp=%d&signature=ab" % (T - lag), b"", T)


def test_nothing_is_decided_on_fewer_requests_than_the_window() -> None:
    governor = LagGovernor(20.0, 1000, window=3)
    _signed(governor, 5000, 5000)
    assert governor.decide(0) == Verdict()


def test_a_bot_behind_by_more_than_a_quarter_of_the_bound_is_waited_for_by_its_fastest_request() -> None:
    governor = LagGovernor(20.0, 1000, window=3)
    _signed(governor, 900, 400, 700)  # all above 250: behind by 400 at least
    assert governor.decide(1_000) == Verdict(hold_ms=400)
    _signed(governor, 3000, 3000, 3000)  # arriving while the market is held: not counted
    assert governor.decide(1_019) == Verdict()  # 400 market ms at x20: 20 wall ms
    _signed(governor, 30, 40)
    assert governor.decide(1_020) == Verdict()  # held no more, two new requests only
    _signed(governor, 20)
    assert governor.decide(1_021) == Verdict()  # 20…40: within the bound
    assert governor.summary()[:2] == (9, 20) and governor.summary().held_ms == 400


def test_a_way_too_slow_for_the_speed_stops_the_run_naming_a_speed_that_would_hold() -> None:
    governor = LagGovernor(20.0, 1000, window=5)
    _signed(governor, 100, 1500, 1600, 1700, 1800)  # one fast request: no hold can help
    verdict = governor.decide(0)
    assert verdict.hold_ms == 0 and verdict.stop is not None
    assert "1600 ms behind" in verdict.stop and "×6.2 would hold" in verdict.stop  # 20 * 1000 / 3200
    assert governor.decide(1).stop == verdict.stop  # once stopped, stopped


def test_a_bot_ahead_of_the_market_is_never_caught_up_by_skipping() -> None:
    governor = LagGovernor(100.0, 1000, window=3)
    _signed(governor, -1200, -1300, 10)
    verdict = governor.decide(0)
    assert verdict.stop is not None and "1200 ms ahead of the market's at ×100" in verdict.stop
    assert "would hold" not in verdict.stop  # no speed mends a clock ahead


@pytest.mark.parametrize(
    ("market_speed", "lags", "way", "shown"),
    [(50.0, (100, 1800, 1900), "behind", "×50"), (2.0, (-1900, -1800, 10), "ahead of", "×2")],
)
def test_a_speed_set_on_the_admin_listener_is_named_as_the_cause_of_a_stop(
    market_speed: float, lags: tuple[int, ...], way: str, shown: str
) -> None:
    governor = LagGovernor(5.0, 1000, window=3)
    _signed(governor, *lags)  # one fast request: no hold (rule 2) can help
    verdict = governor.decide(0, market_speed)
    assert verdict.hold_ms == 0 and verdict.stop is not None
    assert f"1800 ms {way} the market's" in verdict.stop
    assert f"set to {shown} on the admin listener" in verdict.stop and "keeps the ×5 it started at" in verdict.stop
    assert "would hold" not in verdict.stop  # a speed suggested mends nothing: the clocks run apart
    flat_out = LagGovernor(5.0, 1000, window=3)
    _signed(flat_out, 100, 1900, 2100)
    assert "set to ×max" in str(flat_out.decide(0, math.inf).stop)
    unchanged = LagGovernor(5.0, 1000, window=3)
    _signed(unchanged, 100, 1900, 2100)
    assert "×1.3 would hold" in str(unchanged.decide(0, 5.0).stop)  # the market's own speed: rule 3


def test_one_request_stamped_ahead_is_not_the_bots_clock() -> None:
    governor = LagGovernor(5.0, 1000, window=5)
    _signed(governor, 20, 30, -2980, 25, 40)  # one stamped 3 s ahead (refused -1021 by the checks)
    assert governor.decide(0) == Verdict()
    behind = LagGovernor(5.0, 1000, window=5)
    _signed(behind, 2000, 2100, -2980, 2200, 2050)  # behind: the others still hold the market
    assert behind.decide(0) == Verdict(2000)


def test_requests_without_a_readable_timestamp_tell_nothing() -> None:
    governor = LagGovernor(20.0, 1000, window=1)
    governor.signed(b"symbol=BTCUSDT&signature=ab", b"", T)
    governor.signed(b"timestamp=1&timestamp=2", b"", T)  # twice: -1101 at the checks
    governor.signed(b"timestamp=12x", b"", T)
    assert governor.requests == 0
    governor.signed(b"", b"timestamp=%d" % (T - 10), T)  # a POST's body
    assert governor.requests == 1 and governor.decide(0) == Verdict()


@pytest.mark.parametrize(
    ("speed", "bound", "lag", "suggested"),
    [(100.0, 1000, 2000.0, 25.0), (20.0, 1000, 1500.0, 6.6), (1.0, 1000, 3000.0, 0.16), (1000.0, 1000, 700.0, 710.0)],
)
def test_the_speed_suggested_halves_the_bound_at_two_significant_digits(
    speed: float, bound: int, lag: float, suggested: float
) -> None:
    assert suggested_speed(speed, bound, lag) == suggested


def test_a_market_without_a_set_speed_has_no_governor() -> None:
    with pytest.raises(ValueError, match="set speed"):
        LagGovernor(float("inf"))


def test_a_hold_that_overshoots_is_not_charged_to_the_bots_clock() -> None:
    # at ×1000 a wall millisecond of a request's way is the whole bound: a first window slowed
    # by connecting holds the market 6 s, and the quicker requests after it read ahead
    governor = LagGovernor(1000.0, 1000, window=5)
    _signed(governor, 6000, 6500, 7000, 6200, 8000)
    assert governor.decide(1_000) == Verdict(hold_ms=6000)
    assert governor.decide(1_006) == Verdict()  # 6 wall ms: held no more
    _signed(governor, -1500, -1200, -1800, -1100, -1300)
    stop = governor.decide(1_007).stop
    assert stop is not None and "1300 ms ahead of the market's at ×1000" in stop
    assert "within the 6000 ms the market was last held for it" in stop and "×380 would hold" in stop
    assert "does the bot add" not in stop  # the hold's doing, not the bot's
    beyond = LagGovernor(1000.0, 1000, window=5)
    _signed(beyond, 1500, 1500, 1500, 1500, 1500)
    assert beyond.decide(0) == Verdict(hold_ms=1500)
    assert beyond.decide(10) == Verdict()
    _signed(beyond, -3000, -3000, -3000, -3000, -3000)  # further ahead than the hold can explain
    assert "does the bot add to its timestamps?" in str(beyond.decide(11).stop)


def test_the_median_told_is_of_a_whole_window_since_the_last_hold_read_when_asked() -> None:
    governor = LagGovernor(20.0, 1000, window=5)
    _signed(governor, 1500, 1500, 1600, 1700, 1800)
    assert governor.summary().last_median_ms == 1600  # not weighed yet: read now, past the bound
    assert governor.decide(0) == Verdict(hold_ms=1500)
    assert governor.decide(100) == Verdict()  # held no more (75 wall ms at ×20)
    _signed(governor, 100, 120)
    summary = governor.summary()
    assert summary.last_median_ms is None and (summary.since_hold, summary.window) == (2, 5)  # the hold answered it
    _signed(governor, 90, 110, 130)
    assert governor.decide(120) == Verdict() and governor.summary().last_median_ms == 110
