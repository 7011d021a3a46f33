"""The asyncio shell of a replay: asks the ``ReplayClock`` how far the replay may go at
×speed of its ``Clock`` (or runs flat out), hands that to the ``Replayer``, publishes what
it makes, sleeps on the Clock until the next event is due, and says when it has ended.
Its status is served by the market listeners, read-only (``GET /tickerplant/v1/replay``:
``{"state": "paused"|"playing"|"finished", …}``); its controls (resume a replay begun with
``--paused``, pause, speed) by the admin listener only, as POSTs (``admin/server.py``): the
market port is the one users expose, and a GET that changed state could be sent by any page
(an ``<img>`` tag).

At ``--speed max`` it waits for its clients between batches, within their send buffers'
bounds, as ``replay_waits`` says: a client that reads slower than the replay makes events
but keeps up on average gets everything; one that stops reading is cut off as a slow
consumer, holding the others back ``patience_ms`` at most.

Its clock is a market's time (a ``clock.Timeline``: ``market_ns``, ``rate``,
``delivering_ns``), which ``tickerplant run`` serves on; there it may be held (``hold``,
``release``) apart from the operator's pause, and played ``exact``: each event time
delivered on its own, stamped with that time; ``serve --replay`` plays exact only while its
venue has something the market can act on (``exact_while``), the recorded order across
streams kept across a turn's deliveries (``turn_streams.py``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from tickerplant.bus import StreamMessage
from tickerplant.clock import Clock, check_speed
from tickerplant.config import ReplayConfig
from tickerplant.feeds import Prepared, Sink
from tickerplant.feeds.replay.files import ReplayFiles, open_replay
from tickerplant.feeds.replay.progress import ProgressBar, progress, utc_text, wants_progress
from tickerplant.feeds.replay.replayer import ReplayClock, Replayer, StreamsBroken
from tickerplant.feeds.replay.turn_streams import TurnStreams
from tickerplant.feeds.replay.waits import ConsumerWaits
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.market.plant.plant import Plant

__all__ = ["CONTROL_PATHS", "ReplaySource"]

log = logging.getLogger("tickerplant.replay")

STATUS_PATH = "/tickerplant/v1/replay"
CONTROL_PATHS = (STATUS_PATH,)  # the market listeners' paths: the status only
FINISHED = "Replay finished"
_ALL = 1 << 62  # at speed max, every event is due
_MAX_SLEEP_NS = 50_000_000  # wake at least this often at ×N speed: periodic streams fall due
# Bytes leaving a socket have no event of their own: a replay waiting for its clients looks
# again this often.
_LOOK_AGAIN_MS = 1
_EMPTY_START_US = 3_600_000_000  # a start this far before the first event plays that long empty: told
_EMPTY_START = "the replay starts at %s, but its data begins at %s: the time between plays empty"


class ReplaySource:
    """The files of ``config.paths``, played at ``config.speed`` of ``clock``."""

    def __init__(
        self,
        config: ReplayConfig,
        clock: Clock,
        payload_format: PayloadFormat = PayloadFormat.CLASSIC,
        *,
        patience_ms: int = 2_000,
        exact: bool = False,
    ) -> None:
        """``patience_ms``: at ``--speed max``, how long at a time the replay waits for a
        client over half its send buffer before it goes on without it (``replay_waits``).
        ``exact``: each event time is played and delivered on its own, and the market's
        time (``market_ns``) reads that time while it is delivered, so what the deliveries
        make (a venue's fills, the fundings after them) is stamped alike whatever the speed
        and however late the loop woke (``tickerplant run``, ``serve --replay``'s venue).
        With ``exact_while`` (set by the composition, ``serve --replay``), only while it says
        the venue has an order or a position the market can act on: delivered an event time at a
        time, a replay at max plays about a quarter as many events a second, and its
        streams' cadences fall between the events of a batch otherwise delivered whole."""
        self._config = config
        self._clock = clock
        self._payload_format = payload_format  # what the plants of public files write
        self.files: ReplayFiles | None = None
        self.replayer: Replayer | None = None
        self.state = "paused" if config.paused else "playing"
        self._playing = asyncio.Event()
        if not config.paused:
            self._playing.set()
        self._start_us = 0
        self._history: dict[Market, list[StreamMessage]] = {}
        self._speed = config.speed  # None: as fast as it goes; changed by set_speed
        self._pace: ReplayClock | None = None  # the replay clock once playing at a speed
        self._begun = False  # the playing loop has started (its first resume)
        self._held = False  # held by tickerplant run's lag governor (``hold``), apart from a pause
        self._stood_us: int | None = None  # where its pace stood when paused or held (``_stand``)
        self.waits = ConsumerWaits(patience_ms)  # for its clients, at speed max
        self._exact = exact
        self.exact_while: Callable[[], bool] | None = None  # exact only while it says so
        self._delivering_us: int | None = None  # the event time being delivered (exact)
        self.empty = False  # the recordings hold no event in the range (prepare)
        self.ended_ms: int | None = None  # its last event's time, once it has played them all

    async def prepare(self) -> Prepared:
        config = self._config
        paths = [Path(p) for p in config.paths]
        now_ms = self._clock.now_ms()
        # Opening samples every file's first rows: off the loop, it can take a while.
        self.files = await asyncio.to_thread(
            open_replay, paths, start_ms=config.start_ms, end_ms=config.end_ms, now_ms=now_ms
        )
        first_us = await asyncio.to_thread(self.files.first_us)  # may skip a long way
        start_us = first_us if first_us is not None else now_ms * 1000
        if config.start_ms is not None:
            start_us = config.start_ms * 1000
        self._start_us = start_us
        # Plants only for what the plant derives: recorded payloads pass it by, and a plant
        # for their symbols would add tickers the recording never had.
        public_symbols = {file.symbol for file in self.files.public}
        plants = {
            # Public files hold no depth (spec §9.2): no depth streams of a recorded top of book
            market: Plant(
                market,
                [i for i in insts if i.symbol in public_symbols],
                now_ms=start_us // 1000,
                depth_streams=False,
                payload_format=self._payload_format,
            )
            for market, insts in self.files.instruments.items()
        }
        # the recordings' books are kept in the instruments served (their units)
        served = {inst.symbol: inst for insts in self.files.instruments.values() for inst in insts}
        files = self.files
        self.replayer = Replayer(files.events, plants, start_us, served, files.runs, files.books)
        # The day before --start, into the plants (off the loop: it is a day of rows).
        self._history = await asyncio.to_thread(self.replayer.warm, start_us)
        # no event from the start to the end: every one before --start, or after --end, or none
        next_us, end_ms = self.replayer.next_us, config.end_ms
        self.empty = next_us is None or (end_ms is not None and next_us > end_ms * 1000 + 999)
        if not self.empty and next_us is not None and next_us - start_us > _EMPTY_START_US:
            log.warning(_EMPTY_START, utc_text(start_us), utc_text(next_us))
        log.info(
            "replaying %d public files and %d recordings from %s",
            len(self.files.public), len(self.files.recordings), utc_text(start_us),
        )  # fmt: skip
        return Prepared(self.files.instruments, start_us // 1000)

    # -- controls --------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        replayer, files = self.replayer, self.files
        replay_ms = (replayer.now_us // 1000) if replayer else None
        start_ms = self._start_us // 1000 if replayer else None
        end_ms = self._config.end_ms
        if self.ended_ms is not None:  # played: its time is its last event's (not the cadences' flush
            replay_ms = self.ended_ms  # 5 s on), the files' end once reached when no --end was given
            end_ms = self.ended_ms if end_ms is None else end_ms
        read, total = (files.read_bytes[0], files.total_bytes) if files else (0, 0)
        return {
            "state": self.state,
            "held": self._held,
            "speed": "max" if self._speed is None else self._speed,
            "replayTime": replay_ms,
            "events": replayer.events if replayer else 0,
            "bytesRead": read,
            "bytesTotal": total,
            "startTime": start_ms,
            "endTime": end_ms,  # --end, when given; else the files' end, null until reached
            "progress": progress(self.state, start_ms, replay_ms, end_ms, read, total),
        }

    def set_speed(self, speed: float | None) -> None:
        """Play at ``speed`` replay seconds per second from now on (None: flat out); the
        replay clock re-anchors where it stands, so it neither jumps nor goes back."""
        if speed is not None:
            check_speed(speed)
        self._speed = speed
        if (not self._begun and self._pace is None) or self.replayer is None:
            return  # the replay makes its clock from the speed when it begins
        now_ns = self._clock.now_ns()
        pace = self._pace
        at_us = self.replayer.now_us
        if pace is not None and self._playing.is_set():
            at_us = max(at_us, pace.replay_us(now_ns))
        self._pace = None if speed is None else ReplayClock(speed, at_us, now_ns)

    def resume(self) -> None:
        if self.state == "paused":
            self.state = "playing"
            if not self._held:
                self._go_on()

    def pause(self) -> None:
        if self.state == "playing":
            self._stand()
            self.state = "paused"
            self._playing.clear()

    def hold(self) -> None:
        """Hold the replay clock until ``release`` (``tickerplant run`` holds the market for
        a bot whose clock is behind it): the operator's pause and resume are apart from it,
        and the status stays ``playing``, with ``held``."""
        if not self._held:
            self._stand()
            self._held = True
            self._playing.clear()

    def release(self, from_ns: int | None = None) -> None:
        """End a hold; the replay clock runs on from ``from_ns`` (a wall time, at the latest
        now), so that a hold lasts what it was meant to however late its timer fires."""
        if self._held:
            self._held = False
            if self.state == "playing":
                self._go_on(from_ns)

    def _go_on(self, from_ns: int | None = None) -> None:
        """The replay clock runs on from now, where it stood, not from when the loop next
        wakes (``tickerplant run`` starts a bot's clock at the instant it resumes the replay)."""
        now_ns = self._clock.now_ns()
        if from_ns is not None:
            now_ns = min(now_ns, from_ns)
        replayer, speed = self.replayer, self._speed
        if self._pace is not None and replayer is not None:
            self._pace.restart(max(replayer.now_us, self._stood_us or 0), now_ns)
        elif not self._begun and replayer is not None and speed is not None:
            self._pace = ReplayClock(speed, self._start_us, now_ns)
        self._playing.set()

    def _stand(self) -> None:
        """Where the replay's pace stands as it stops: it goes on from there, so a replay
        behind its pace is as far behind after a hold or a pause as before it (what was due
        is still due, and played as fast as the loop goes) and the stop costs the market its
        own length. Gone on from the next event not delivered, it lost its backlog too."""
        if self._playing.is_set() and self._pace is not None:
            self._stood_us = self._pace.replay_us(self._clock.now_ns())

    def _before_due(self, replay_us: int) -> int:
        """``replay_us``, or for a venue's replay (``exact``) just before an event due by then
        and not delivered yet (``market_ns``)."""
        replayer = self.replayer
        if replayer is not None and self._exact:  # a venue on it (delivered exactly or in batches)
            next_us = replayer.next_us
            if next_us is not None and next_us <= replay_us:
                return max(next_us - 1, replayer.now_us)
        return replay_us

    # -- the market's time (a clock.Timeline: tickerplant run serves on it) ----------------

    def delivering_ns(self) -> int | None:
        """While an ``exact`` replay delivers an event time, that time."""
        return None if self._delivering_us is None else self._delivering_us * 1000

    def market_ns(self, wall_ns: int) -> int:
        """The replay clock when the wall clock reads ``wall_ns``: ×speed while it plays,
        still while it is paused or held, where the replay stands when it is unpaced. A
        venue's replay (``exact``) stands just before an event that is due but not delivered yet
        (the loop turns between deliveries): an order read then meets the market as it stands,
        at a time before that event. Read at its pace, an order met a book the next depth
        update (100 ms of the market before) had already changed, and a fill was 1-4 ticks
        better than any the recording offered (one MARKET order in fifteen at ×10)."""
        pace = self._pace
        if pace is not None and self._playing.is_set():
            return self._before_due(pace.replay_us(wall_ns)) * 1000
        # paused or held: where its pace stood as it stopped (``_stand``), before an event due then
        stood = self.replayer.now_us if self.replayer is not None else self._start_us
        return self._before_due(max(stood, self._stood_us or 0)) * 1000

    @property
    def speed(self) -> float:
        """The speed set now, paused or not (``math.inf``: flat out)."""
        return math.inf if self._speed is None else self._speed

    def rate(self) -> float:
        """Replay seconds per wall second now: 0 while paused or held."""
        if not self._playing.is_set() or self.state != "playing":
            return 0.0
        return self.speed

    def http(self, path: str, method: str) -> tuple[int, bytes]:
        """The market listeners' ``GET /tickerplant/v1/replay``: the status, nothing else."""
        if method != "GET":
            return 405, b'{"code":-1,"msg":"use GET"}'
        return 200, msgspec.json.encode(self.status())

    # -- playing ---------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        replayer = self.replayer
        assert replayer is not None, "prepare() first"
        config = self._config
        files = self.files
        shown = wants_progress(config)
        bar = ProgressBar(self.status, files.total_bytes if files else None) if shown else None
        replayer.follow(sink.demand)  # only what somebody takes is written (market/demand.py)
        try:
            await self._play(replayer, sink, config)
        except Exception:  # (a row it cannot read): the status says so, the server says why
            self.state = "failed"
            raise
        finally:
            if bar is not None:
                bar.close()
        self.ended_ms = replayer.now_us // 1000  # (before ``finish``'s cadences, 5 s on)
        outs = _outs()
        replayer.finish(outs)
        _publish(sink, outs, [])
        self.state = "finished"
        log.info("%s: %d events up to %s", FINISHED, replayer.events, utc_text(replayer.now_us))
        sink.finished(FINISHED)

    async def _play(self, replayer: Replayer, sink: Sink, config: ReplayConfig) -> None:
        batch = config.batch_events
        # the market views' past (klines, last tops), before anybody can have subscribed
        _publish(sink, self._history, [])
        self._history = {}
        await self._playing.wait()
        clock = self._clock
        speed = self._speed
        if self._pace is None and speed is not None:  # not begun by a resume (_go_on)
            self._pace = ReplayClock(speed, self._start_us, clock.now_ns())
        self._begun = True
        while replayer.next_us is not None:
            if not self._playing.is_set():
                await self._playing.wait()  # the clock goes on from where it stood (_go_on)
            pace = self._pace  # set_speed replaces it between batches
            now_ns = clock.now_ns()
            until_us = _ALL if pace is None else pace.replay_us(now_ns)
            if self._exact and (self.exact_while is None or self.exact_while()):
                self._deliver_exactly(replayer, sink, until_us, batch)
            else:
                outs = _outs()
                broken: list[StreamsBroken] = []
                replayer.step(until_us, batch, outs, broken)
                _publish(sink, outs, broken)
            # The gateways write this batch before the next is made, even when more is
            # due already (a full batch, or a stream's next frame held for the next one):
            # their fan-out joins frames per stream within a turn of the loop.
            await asyncio.sleep(0)
            if pace is None:
                await self._wait_for_clients(sink)
            next_us = replayer.next_us
            if pace is not None and next_us is not None and next_us > until_us:
                await clock.sleep_until(min(pace.due_ns(next_us), now_ns + _MAX_SLEEP_NS) / 1_000_000)

    def _deliver_exactly(self, replayer: Replayer, sink: Sink, until_us: int, batch: int) -> None:
        """What is due by ``until_us``, one event time a delivery (up to ``batch`` events
        in this turn of the loop), the market's time reading each while it is delivered;
        with nothing due, the cadences up to ``until_us``."""
        played = 0
        turn = TurnStreams()  # the recorded order across streams, kept across the turn's deliveries
        while True:
            next_us = replayer.next_us
            due_us = until_us if next_us is None else min(until_us, next_us)
            outs = _outs()
            broken: list[StreamsBroken] = []
            step = replayer.step(due_us, batch - played, outs, broken, turn)
            played += step
            self._delivering_us = due_us
            try:
                _publish(sink, outs, broken)
            finally:
                self._delivering_us = None
            if due_us >= until_us or played >= batch or not step or turn.stopped:
                return

    async def _wait_for_clients(self, sink: Sink) -> None:
        """Until no client the replay waits for holds more than its share of unsent bytes."""
        clock, waits = self._clock, self.waits
        while waits.waiting(sink.backlogs(), clock.now_ms()):
            await clock.sleep_until(clock.now_ms() + _LOOK_AGAIN_MS)


def _outs() -> dict[Market, list[StreamMessage]]:
    return {market: [] for market in Market}


def _publish(sink: Sink, outs: dict[Market, list[StreamMessage]], broken: list[StreamsBroken]) -> None:
    bus = sink.bus
    for market, out in outs.items():
        if out:
            bus.publish(market, out)
    for loss in broken:
        sink.interrupt(loss.market, loss.streams, "The recording lost these streams here")
