"""The replay's clock as the market's (``ReplaySource`` as a ``clock.Timeline``) and the
``MarketClock`` that serves on it (``tickerplant run``): driven by a manual wall clock, no
event loop turns needed but the prepare's."""

from __future__ import annotations

from pathlib import Path

import pytest
from public_data import BOOK_HEADER, T0, write

from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock, MarketClock
from tickerplant.config import ReplayConfig
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.feeds.replay.replayer import Replayer
from tickerplant.market.instruments import Market

WALL = 1_800_000_000_000  # the wall clock, years after the market


async def _replay(tmp_path: Path, speed: float) -> tuple[ManualClock, ReplaySource, MarketClock]:
    book = [f"{i + 1},42000.0,1.000,42000.1,1.000,{t},{t}" for i, t in enumerate(range(T0, T0 + 60_000, 1000))]
    write(tmp_path, "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, book, zipped=False)
    wall = ManualClock(WALL)
    source = ReplaySource(ReplayConfig(paths=(str(tmp_path),), speed=speed, paused=True), wall)
    await source.prepare()
    return wall, source, MarketClock(wall, source)


async def test_the_market_stands_at_the_start_until_resumed_then_runs_at_the_speed(tmp_path: Path) -> None:
    wall, source, market = await _replay(tmp_path, 20.0)
    assert (market.now_ms(), source.rate()) == (T0, 0.0)
    wall.advance(5_000)
    assert market.now_ms() == T0  # paused: the wall's time passes, the market's does not
    source.resume()
    wall.advance(150)
    assert (market.now_ms(), source.rate()) == (T0 + 3_000, 20.0)


async def test_a_hold_stands_the_market_still_for_exactly_its_length_however_late_its_release(
    tmp_path: Path,
) -> None:
    wall, source, market = await _replay(tmp_path, 20.0)
    source.resume()
    wall.advance(100)  # T0 + 2 s
    source.hold()
    due_ns = (WALL + 100 + 50) * 1_000_000  # a hold of 1 market second: 50 wall ms
    wall.advance(80)  # the release's timer fired 30 ms late
    assert market.now_ms() == T0 + 2_000
    source.release(due_ns)
    assert market.now_ms() == T0 + 2_000 + 30 * 20  # on from the due time, not from now
    assert source.status()["held"] is False


async def test_a_market_timer_waits_out_a_hold_and_fires_at_its_market_time(tmp_path: Path) -> None:
    wall, source, market = await _replay(tmp_path, 10.0)
    source.resume()
    fired: list[int] = []
    market.call_at(T0 + 1_000, lambda: fired.append(market.now_ms()))
    wall.advance(50)  # T0 + 500
    source.hold()
    wall.advance(1_000)  # a wall second held: the timer looks again and waits on
    assert fired == []
    source.release()
    wall.advance(49)
    assert fired == []
    wall.advance(1)
    assert fired == [T0 + 1_000]


async def test_the_market_never_goes_back_across_a_pause(tmp_path: Path) -> None:
    wall, source, market = await _replay(tmp_path, 20.0)
    source.resume()
    wall.advance(77)
    before = market.now_ms()
    source.pause()
    wall.advance(1_000)
    assert market.now_ms() == before
    source.resume()
    wall.advance(1)
    assert market.now_ms() == before + 20


async def _a_row_a_second(tmp_path: Path) -> tuple[ManualClock, ReplaySource, MarketClock, Replayer]:
    """A venue's replay (``exact``) at ×20 of a bookTicker row a second from T0, begun: the wall
    clock, the source, the market's clock and the replayer."""
    book = [f"{i + 1},42000.0,1.000,42000.1,1.000,{t},{t}" for i, t in enumerate(range(T0, T0 + 60_000, 1000))]
    write(tmp_path, "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, book, zipped=False)
    wall = ManualClock(WALL)
    source = ReplaySource(ReplayConfig(paths=(str(tmp_path),), speed=20.0, paused=True), wall, exact=True)
    await source.prepare()
    assert source.replayer is not None
    source.resume()
    return wall, source, MarketClock(wall, source), source.replayer


async def test_an_exact_replays_time_stands_before_an_event_due_and_not_delivered(tmp_path: Path) -> None:
    """``tickerplant run``'s replay (``exact``): while an event is due at the pace but not
    delivered yet (the loop turns between deliveries), the market's time stands just before
    it, so an order read then is stamped before it and meets the book it has. At its pace
    it met a book the next depth update had changed (a fill better than any recorded)."""
    wall, _, market, replayer = await _a_row_a_second(tmp_path)
    wall.advance(150)  # the pace: T0 + 3 s; the events at T0, T0 + 1 s, T0 + 2 s, T0 + 3 s due
    assert market.now_ms() == T0  # the first is at the start: the market stands there
    replayer.step((T0 + 1_500) * 1000, 1_000, {m: [] for m in Market}, [])  # T0 and T0 + 1 s delivered
    assert market.now_ms() == T0 + 1_999  # just before the next, T0 + 2 s
    replayer.step((T0 + 3_000) * 1000, 1_000, {m: [] for m in Market}, [])
    assert market.now_ms() == T0 + 3_000  # caught up: the pace again
    wall.advance(10)
    assert market.now_ms() == T0 + 3_200


@pytest.mark.parametrize("stop", ["hold", "pause"])
async def test_an_exact_replay_held_or_paused_stands_before_the_event_due(tmp_path: Path, stop: str) -> None:
    """Held (``tickerplant run``'s governor, a bot lagging) or paused (the operator), the
    market's time stands where it stood playing: before the event due and not delivered, not
    at its pace past it; and it runs on from there."""
    wall, source, market, replayer = await _a_row_a_second(tmp_path)
    replayer.step((T0 + 1_500) * 1000, 1_000, {m: [] for m in Market}, [])  # T0 and T0 + 1 s delivered
    wall.advance(150)  # the pace: T0 + 3 s; T0 + 2 s due, not delivered
    assert market.now_ms() == T0 + 1_999
    source.hold() if stop == "hold" else source.pause()
    wall.advance(1_000)
    assert market.now_ms() == T0 + 1_999  # not T0 + 3 s, past the event it has not had
    source.release() if stop == "hold" else source.resume()
    assert market.now_ms() == T0 + 1_999  # still before it: due, not delivered
    replayer.step((T0 + 2_000) * 1000, 1_000, {m: [] for m in Market}, [])
    wall.advance(10)
    assert market.now_ms() == T0 + 2_999  # T0 + 3 s due at the pace (T0 + 3.2 s), not delivered


@pytest.mark.parametrize("stop", ["hold", "pause"])
async def test_a_hold_costs_a_replay_behind_its_pace_the_hold_and_no_more(tmp_path: Path, stop: str) -> None:
    """A replay behind its pace (deliveries slower than ×speed) and held (or paused) goes on
    from where its pace stood, not from the next event it had not delivered: what was due
    before the hold is still due after it, so the market loses the hold and no more. Restarted
    at that event, it lost its backlog too (a market second here) on top of the hold."""
    wall, source, market, replayer = await _a_row_a_second(tmp_path)
    outs: dict[Market, list[StreamMessage]] = {m: [] for m in Market}
    wall.advance(150)  # the pace: T0 + 3 s
    replayer.step((T0 + 1_000) * 1000, 1_000, outs, [])  # T0 and T0 + 1 s: behind by two events
    source.hold() if stop == "hold" else source.pause()
    wall.advance(50)  # held one market second (50 wall ms at ×20)
    source.release() if stop == "hold" else source.resume()
    wall.advance(50)  # the pace: T0 + 4 s, the wall's 250 ms at ×20 but the 50 held
    assert market.now_ms() == T0 + 1_999  # T0 + 2 s, due before the hold, still due
    replayer.step((T0 + 4_000) * 1000, 1_000, outs, [])  # the loop's next turn: all that is due
    assert market.now_ms() == T0 + 4_000
    wall.advance(10)
    assert market.now_ms() == T0 + 4_200


@pytest.mark.parametrize(("before_ms", "warned"), [(90 * 86_400_000, True), (60_000, False)])
async def test_a_start_long_before_the_data_is_warned_of_once_naming_both(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, before_ms: int, warned: bool
) -> None:
    book = [f"{i + 1},42000.0,1.000,42000.1,1.000,{t},{t}" for i, t in enumerate(range(T0, T0 + 10_000, 1000))]
    write(tmp_path, "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, book, zipped=False)
    config = ReplayConfig(paths=(str(tmp_path),), speed=1.0, paused=True, start_ms=T0 - before_ms)  # a TOML's start_ms
    with caplog.at_level("WARNING", logger="tickerplant.replay"):
        await ReplaySource(config, ManualClock(WALL)).prepare()
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if warned:
        assert said == [
            "the replay starts at 2023-10-03 00:00:00.000 UTC, but its data begins at 2024-01-01 00:00:00.000 UTC: "
            "the time between plays empty"
        ]
    else:
        assert said == []
