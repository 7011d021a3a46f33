"""``tickerplant run``: the server on a replay and the bot's command beside it, the bot's clock
the market's (docs/run.md).

The server serves on a ``clock.MarketClock`` that reads the replay's own clock, so
everything it stamps, checks and tells (``serverTime``, ``recvWindow``, order and event
times, GTD and countdown expiries, funding times) is the market's. The replay waits,
paused, until the bot's process is started under libfaketime (``faketime``) with its clock
set to the replay's start at the replay's speed; the two clocks then start together. Every
signed request the bot sends is weighed against the market's clock (``governor``): the
market is held while the bot's clock is behind it, and the run stops, naming a speed that
would hold, when it cannot be. The run ends with the bot, or with the replay (the bot is
sent SIGTERM, then SIGKILL after ``_GRACE_S``); its exit status is the bot's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from tickerplant.app import Tickerplant
from tickerplant.bot.faketime import Faketime, bot_environment
from tickerplant.bot.governor import LagGovernor, LagSummary
from tickerplant.bot.watchdog import Watchdog
from tickerplant.clock import MarketClock, SystemClock
from tickerplant.config import ServerConfig
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.market.instruments import Instrument, Market
from tickerplant.report.journal_rows import NoJournal, ahead_of_start, last_trading_ms, traded_accounts
from tickerplant.report.rows import PricePoint
from tickerplant.report.run_marks import RunMarks
from tickerplant.report.write import write_report

__all__ = ["SPEED_VARIABLE", "URL_VARIABLES", "WAITS_VARIABLE", "run_bot"]

# the bot is told where the server listens (REST; the streams are the same host and port),
# the speed, and whether its sleeps last market time or wall time (the libfaketime build)
URL_VARIABLES = {Market.UM: "TICKERPLANT_UM_URL", Market.CM: "TICKERPLANT_CM_URL"}
SPEED_VARIABLE, WAITS_VARIABLE = "TICKERPLANT_SPEED", "TICKERPLANT_WAITS"
_LOOK_S = 0.02  # how often (wall seconds) the governor is asked whether to hold the market
_GRACE_S = 10.0  # a bot told to stop (SIGTERM) at the replay's end has this long to exit
_STOPPING = (signal.SIGINT, signal.SIGTERM)


def _tell(text: str) -> None:
    # stderr: the bot's own output has stdout
    print(f"tickerplant run: {text}", file=sys.stderr, flush=True)


async def run_bot(
    config: ServerConfig,
    command: Sequence[str],
    library: Faketime,
    max_lag_ms: int,
    environ: Mapping[str, str],
    report_dir: Path | None = None,
) -> int:
    """Serve ``config``'s replay with ``command`` beside it; the exit status. ``report_dir``:
    where the report of each account that traded in the run is written when it ends
    (``report/write.py``; None: none)."""
    speed = config.replay.speed
    if not config.replay.paths:
        raise SystemExit("tickerplant run: a replay to run the bot on (--replay PATH…)")
    if speed is None:
        raise SystemExit("tickerplant run: --speed max has no pace a bot's clock can follow: give a number")
    if not command:
        raise SystemExit("tickerplant run: the bot's command after --")
    if max_lag_ms <= 0:
        raise SystemExit(f"tickerplant run: --max-lag is a positive number of ms, not {max_lag_ms}")
    if config.workers != 1:  # one process: the bot's clock follows its one market clock
        raise SystemExit("tickerplant run: --workers is serve's alone: a run is one process")
    if config.replay.paused:  # held until the bot starts, then played: the bot's clock runs from its start
        raise SystemExit("tickerplant run: --paused is serve's alone: a run's market starts with its bot")
    if report_dir is not None:  # found out now, not after the whole run
        _writable(report_dir)
    wall = SystemClock()
    # paused until the bot's process starts: the market's clock starts with the bot's
    paused = dataclasses.replace(config.replay, paused=True)
    source = ReplaySource(paused, wall, config.payload_format, exact=True)
    market = MarketClock(wall, source)
    server = Tickerplant(dataclasses.replace(config, clock_offset_ms=0), market, source, wall=wall)
    governor = LagGovernor(speed, max_lag_ms)
    try:
        await server.start()
    except (OSError, ValueError, zipfile.BadZipFile, sqlite3.Error) as exc:  # another's database among them
        await server.close()
        raise SystemExit(f"tickerplant run: cannot start: {exc}") from None
    start_ms = market.now_ms()
    if source.empty:  # a --start after the recordings, an --end before them, a header alone
        await server.close()
        raise SystemExit(f"tickerplant run: the replay holds no event in {_range(config)}: nothing to run on")
    if not Path(config.venue_db).exists():  # a typo's path: every signed request refused -2015
        _tell(f"no accounts database at {config.venue_db}: nothing can trade (tickerplant accounts create)")
    if (ahead := ahead_of_start(config.venue_db, start_ms)) is not None:  # an earlier run's, on the same days
        await server.close()  # the accounts and the report would mix them
        raise SystemExit(f"tickerplant run: {ahead}")
    marks = RunMarks(server.engines.values())  # the report's positions marked as the venue marks them
    for engine_market in server.engines:  # after the engines: the marks they read are the messages'
        server.bus.subscribe(engine_market, lambda messages: marks.heard(messages, market.now_ms()))
    for listener in server.listeners.values():
        listener.signed_lag = governor
    urls = {variable: server.url(which).replace("ws", "http", 1) for which, variable in URL_VARIABLES.items()}
    waits = "" if library.waits else "; its sleeps and timers run at the wall's pace (clock-only libfaketime)"
    _tell(f"the bot's clock starts at the replay's {_iso(start_ms)} ({start_ms} ms), ×{speed:g}{waits}")
    pace = {SPEED_VARIABLE: f"{speed:g}", WAITS_VARIABLE: "market" if library.waits else "wall"}
    env = {**bot_environment(environ, library, start_ms, speed), **urls, **pace}
    # The market's clock starts, then the bot's as its process is loaded a moment later
    # (vfork: the spawn well under a millisecond, the loading a few): the bot's clock is
    # behind the market's by that moment ×speed, which the governor holds the market for,
    # and never ahead of it (an asyncio subprocess forks this large process: ~35 ms).
    watchdog = Watchdog()  # the bot's group killed if this process dies without stopping it
    source.resume()
    try:
        bot = subprocess.Popen(list(command), env=env, start_new_session=True)
    except OSError as exc:  # as a shell says it: 127 not found, 126 found but not run
        watchdog.done()
        await server.close()
        _tell(f"cannot start {command[0]}: {exc}")
        return 127 if isinstance(exc, FileNotFoundError) else 126
    watchdog.watch(bot.pid)  # its process group's id: the bot leads a session of its own
    stop = _Stop(asyncio.get_running_loop())  # from now to the bot's end (and its group's)
    try:
        stopped = await _watch(server, source, bot, governor, wall, stop)
        if bot.poll() is None:  # told to stop: why, before its exit status (a replay's end is no failure)
            _tell(_why_stopping(source.ended_ms, stop.asked.is_set(), stopped))
        code = await _ended(bot, stop)
    finally:
        stop.close()
    watchdog.done()
    _tell(_summary(governor.summary(), speed, stopped=stopped is not None))
    _tell(_how_it_ended(bot.returncode))
    end_ms, ended = market.now_ms(), marks.at_end()  # at once: the market plays on until it closes
    await server.close()
    if source.ended_ms is not None:  # the replay ended first: the run's market time ends with it
        end_ms = _replay_end(config.venue_db, source.ended_ms, end_ms)
    prices = marks.points(end_ms, ended)  # each symbol's mark at the end its last point
    if report_dir is not None:
        instruments = [inst for listed in server.instruments.values() for inst in listed]
        await asyncio.to_thread(_reports, config.venue_db, start_ms, end_ms, instruments, prices, report_dir)
    if stopped is not None:
        _tell(f"stopped: {stopped}")
        return 1
    return code


def _writable(folder: Path) -> None:
    """``folder`` made if missing, and a file written in it and removed: else refused."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise SystemExit(f"tickerplant run: --report {folder}: cannot write there: {exc}") from None


def _replay_end(db: str, ended_ms: int, exited_ms: int) -> int:
    """The run's market time's end when the replay ended before the bot: the replay's last
    event (``ended_ms``), not the moment the bot got round to exiting (``exited_ms``: its
    flat minutes counted as returns, and no two runs alike), unless the bot traded after it
    (its fills and orders are the run's: up to the last of them)."""
    try:
        traded_ms = last_trading_ms(db)
    except NoJournal:
        traded_ms = None
    return min(exited_ms, max(ended_ms, traded_ms or 0))


def _range(config: ServerConfig) -> str:
    """The replay's range as given: its paths, and --start and --end where given."""
    replay = config.replay
    bounds = [f"from {_iso(replay.start_ms)}"] if replay.start_ms is not None else []
    bounds += [f"to {_iso(replay.end_ms)}"] if replay.end_ms is not None else []
    return " ".join([", ".join(str(p) for p in replay.paths), *bounds])


def _iso(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).isoformat(timespec="milliseconds")


def _reports(
    db: str, start_ms: int, end_ms: int, listed: list[Instrument], marks: list[PricePoint], out: Path
) -> None:
    """The reports of each account that traded between ``start_ms`` and ``end_ms`` (the run's
    market time), into ``out``, one per margin asset of the symbols it traded (a USDⓈ-M and a
    COIN-M account's trading are two): what the run did, for each of them (docs/report.md),
    its positions marked at ``marks`` (``RunMarks``) besides the fills."""
    try:
        traded = traded_accounts(db, start_ms, end_ms)
    except NoJournal as exc:  # no database: no account traded (told at the start)
        _tell(f"no report: {exc}")
        return
    margined = {inst.symbol: inst.margin_asset for inst in listed}
    for account_id, symbols in traded.items():
        # a symbol the run does not list: the asset most of its fills settle in (write_report's)
        assets: list[str | None] = [*sorted({margined[s] for s in symbols if s in margined})]
        for asset in assets or [None]:
            try:
                made = write_report(
                    db, account_id, out, start_ms=start_ms, end_ms=end_ms, asset=asset, instruments=listed,
                    marks=marks,
                )  # fmt: skip
            except (NoJournal, ValueError, OSError) as exc:
                _tell(f"no report of account {account_id}{f' in {asset}' if asset else ''}: {exc}")
                continue
            _tell(f"account {account_id}'s report: {made.html} ({made.json.name})")


class _Stop:
    """SIGINT and SIGTERM while the bot runs: the first stops the run (the bot told to stop,
    ``_GRACE_S`` given), a second stops it now (the bot's process group killed). Handled from
    the bot's start to its group's end, so that no second one finds Python's default (a
    ``KeyboardInterrupt`` while a thread still waited on the bot: the run hung)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.asked, self.again = asyncio.Event(), asyncio.Event()
        for sig in _STOPPING:
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self._signalled)

    def _signalled(self) -> None:
        (self.again if self.asked.is_set() else self.asked).set()

    def close(self) -> None:
        for sig in _STOPPING:
            self._loop.remove_signal_handler(sig)


async def _watch(
    server: Tickerplant, source: ReplaySource, bot: subprocess.Popen[bytes], governor: LagGovernor,
    wall: SystemClock, stop: _Stop,
) -> str | None:  # fmt: skip
    """Until the bot exits, the replay ends or a signal comes: the market held as the
    governor says; why the run stops, if the governor stops it."""
    loop = asyncio.get_running_loop()
    ended = asyncio.ensure_future(server.done.wait())
    signalled = asyncio.ensure_future(stop.asked.wait())
    watching = {ended, signalled}
    try:
        while bot.poll() is None:  # looked at as often as the governor is asked: no thread waits on it
            done, _ = await asyncio.wait(watching, timeout=_LOOK_S, return_when=asyncio.FIRST_COMPLETED)
            if done:
                if ended in done and server.failed:
                    _tell(f"the replay broke off: {server.finish_reason}")
                return None
            verdict = governor.decide(wall.now_ms(), source.speed)  # the speed now: set by hand?
            if verdict.stop is not None:
                return verdict.stop
            if verdict.hold_ms:
                # the release's timer may fire late: the clock goes on from its due time
                hold_ns = int(verdict.hold_ms / governor.speed * 1_000_000)
                source.hold()
                loop.call_later(hold_ns / 1e9, source.release, wall.now_ns() + hold_ns)
        return None
    finally:
        for waiting in watching:
            waiting.cancel()
        source.release()


async def _ended(bot: subprocess.Popen[bytes], stop: _Stop) -> int:
    """The bot's exit status, once it has exited: told to (SIGTERM to its process group),
    then made to (SIGKILL) if it has not after ``_GRACE_S`` or at a second signal; killed by
    a signal, 128 + it. Then what is left of its process group (what it started and left
    running) likewise: nothing the bot started outlives the run."""
    if bot.poll() is None:
        _signal(bot, signal.SIGTERM)
        if not await _within(lambda: bot.poll() is not None, stop, _GRACE_S):
            _signal(bot, signal.SIGKILL)
            await _within(lambda: bot.poll() is not None, None, math.inf)
    code = bot.returncode
    assert code is not None
    if _group_left(bot.pid):
        _signal(bot, signal.SIGTERM)
        if not await _within(lambda: not _group_left(bot.pid), stop, _GRACE_S):
            _signal(bot, signal.SIGKILL)
    return 128 - code if code < 0 else code


async def _within(done: Callable[[], bool], stop: _Stop | None, seconds: float) -> bool:
    """Whether ``done()`` holds within ``seconds`` (looked at every ``_LOOK_S``), unless a
    second signal comes first."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not done():
        if (stop is not None and stop.again.is_set()) or asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(_LOOK_S)
    return True


def _group_left(group: int) -> bool:
    """Whether a process of the bot's process group (its id the bot's pid) is left."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # one that changed its user: it is there
        return True
    return True


def _signal(bot: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(bot.pid, sig)


def _why_stopping(ended_ms: int | None, signalled: bool, stopped: str | None) -> str:
    """Why a bot still running is told to stop (SIGTERM, SIGKILL ``_GRACE_S`` later)."""
    if stopped is not None:
        why = "the run stops (below)"
    elif signalled:
        why = "the run was asked to stop"
    elif ended_ms is not None:
        why = f"the replay ended (its last event at {_iso(ended_ms)})"
    else:
        why = "the replay broke off"
    return f"{why}: the bot is sent SIGTERM, SIGKILL if it has not exited {_GRACE_S:g} s later"


def _how_it_ended(returncode: int | None) -> str:
    """How the bot ended, as its exit status says it (the run's is the same number)."""
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:  # a number with no name (between the real-time ones)
            name = f"signal {-returncode}"
        return f"the bot was ended by {name} (exit status {128 - returncode})"
    return f"the bot exited with {returncode}"


def _summary(summary: LagSummary, speed: float, *, stopped: bool = False) -> str:
    if not summary.requests:
        return "the bot signed no request: its clock was not measured against the market's"
    held = f"; the market held {summary.holds} times, {summary.held_ms} ms in all" if summary.holds else ""
    return (
        f"the bot's clock against the market's at ×{speed:g}, over {summary.requests} signed requests: "
        f"lag {summary.min_ms}…{summary.max_ms} ms{_median(summary, stopped)}{held}"
    )


def _median(summary: LagSummary, stopped: bool) -> str:
    """The last median as the rules weigh it: over a whole window since the last hold (one
    before it is what the hold answered); past the bound in a run that was not stopped for it
    (it ended before the rules looked again), said so, never shown as though the bound held."""
    middle, bound = summary.last_median_ms, summary.max_lag_ms
    if middle is None:
        since = " since the market was last held" if summary.holds else ""
        return f", too few signed requests{since} for a median ({summary.since_hold} of {summary.window})"
    if abs(middle) > bound and not stopped:
        past = f"past the {bound} ms bound: the run ended before the rules weighed it"
        return f", last median {middle:.0f}, {past}"
    return f", last median {middle:.0f}"
