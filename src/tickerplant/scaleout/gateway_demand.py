"""A gateway's side of the demand over the bus: it announces the streams its clients hold.

The gateway's listeners hold and release each canonical name in one ``Subscribed`` as
their fan-outs route it (``gateway/fanout.py``), as the single process' do; here it is a
``Held``, which tells the ``DemandAnnouncer`` of each name that comes or goes. The
announcer publishes the whole set (``bus/demand.py``: subjects, payload, pacing) on the
loop's next turn after a change (every change of the turn in one announcement), paced by
``Pacing``, again every ``ANNOUNCE_MS``, at once when the plant asks (a plant that
starts), and an empty set as it closes, so a plant stops writing a stopped gateway's
streams at once, not after its silence.

A listen key's names are held too (they route its user data), and never announced: the
plant writes a key's events whoever holds it, and the keys are the accounts'.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tickerplant.bus.demand import (
    ANNOUNCE_MS,
    MOST_NAMES,
    Pacing,
    asked_subject,
    demand_subject,
    encode_announcement,
)
from tickerplant.bus.nats import NatsBus
from tickerplant.clock import Clock, Timer
from tickerplant.market.demand import Subscribed
from tickerplant.protocol.user_streams import listen_key_item

__all__ = ["DemandAnnouncer", "Held"]

log = logging.getLogger("tickerplant.gateway")


class Held(Subscribed):
    """The gateway's ``Subscribed``, which calls ``changed`` whenever a name comes or goes."""

    def __init__(self, changed: Callable[[], None]) -> None:
        super().__init__()
        self._changed = changed

    def hold(self, stream: str) -> None:
        version = self.version
        super().hold(stream)
        if self.version != version:
            self._changed()

    def release(self, stream: str) -> None:
        version = self.version
        super().release(stream)
        if self.version != version:
            self._changed()


class DemandAnnouncer:
    """Announces ``held``'s streams on the bus, as ``bus/demand.py`` says when."""

    def __init__(self, bus: NatsBus, clock: Clock) -> None:
        self.bus = bus
        self.clock = clock
        self.held = Held(self._changed)
        self.gateway = bus.epoch  # this gateway's run, as the plant tells its announcements apart
        self._subject = demand_subject(bus.prefix)
        self._pacing = Pacing()
        self._timer: Timer | None = None
        self._due_ms = 0  # when the timer announces
        self.announced = 0  # announcements made
        self._started = False

    async def start(self) -> None:
        """Answer the plant's asks from now, and announce."""
        await self.bus.on(asked_subject(self.bus.prefix), self._asked)
        self._started = True
        self._want(self.clock.now_ms())

    def _changed(self) -> None:
        if self._started:
            self._want(self.clock.now_ms())

    def _asked(self, data: bytes) -> None:
        if self._started:
            self._want(self.clock.now_ms())

    def _want(self, when_ms: int) -> None:
        """An announcement at ``when_ms``, or as soon after it as the pacing lets it go; one
        due earlier stands."""
        when_ms = self._pacing.earliest_ms(when_ms)
        if self._timer is not None:
            if self._due_ms <= when_ms:
                return
            self._timer.cancel()
        self._due_ms = when_ms
        if when_ms <= self.clock.now_ms():  # on the loop's next turn: this turn's changes in one
            self._timer = asyncio.get_running_loop().call_soon(self._announce)
        else:
            self._timer = self.clock.call_at(when_ms, self._announce)

    def _announce(self) -> None:
        self._timer = None
        now_ms = self.clock.now_ms()
        self._post(self._names())
        self._pacing.sent(now_ms)
        self._want(now_ms + ANNOUNCE_MS)  # the next, unless a change comes first

    def _names(self) -> list[str]:
        names = sorted(name for name in self.held if listen_key_item(name) is None)
        if len(names) > MOST_NAMES:  # more than a listing has streams: never, but said
            log.error("%d streams held; the plant is told the first %d", len(names), MOST_NAMES)
            del names[MOST_NAMES:]
        return names

    def _post(self, names: list[str]) -> None:
        self.bus.post(self._subject, encode_announcement(self.gateway, names))
        self.announced += 1

    def close(self) -> None:
        """Announce nothing held (the plant drops this gateway's streams at once), and stop."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._started:
            self._started = False
            self._post([])
