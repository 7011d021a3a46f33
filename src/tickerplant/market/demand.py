"""Which streams somebody takes, so that the plant writes a payload only for those.

Most of what a plant can push has nobody listening: a kline and a continuous kline per
symbol and interval every 250 ms, the depth streams at three speeds and three partial
sizes, the tickers' arrays. Writing them all for nobody was most of an idle server's CPU
and most of a replay's time at full speed. A plant that follows a ``Demand`` (``Plant.follow``)
still keeps every stream's state as if it pushed (the candles' changed marks, each depth
speed's U/u/pu chain, the tickers' changed marks), and only the writing of an unwanted
payload is skipped: a client that subscribes gets the very bytes it would have got had
the plant pushed everything (``tests/market/test_demand.py`` holds it to that).

The internal streams the market views read (`@bookTicker`, `@aggTrade`, `@ticker`,
`@depthDiff`, the mark-state and funding notes, open interest) are always written.

``Subscribed`` is the demand of one process: the stream listeners' fan-outs count each
canonical name while some connection holds it (``gateway/fanout.py``). A plant whose
clients are in other processes (``tickerplant plant``, behind the bus) follows
``Announcements.streams``: the union of what each gateway says its own ``Subscribed``
holds (``scaleout/gateway_demand.py`` and ``plant_demand.py`` carry it over the bus).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Container, Iterable, Mapping

__all__ = [
    "MOST_ANNOUNCERS", "MOST_UNKNOWN", "SILENT_LOOKS", "Announcements", "Demand", "Heard", "Subscribed",
]  # fmt: skip

# The streams wanted: ``name in demand`` (a dict's own lookup, in C, on the hot paths);
# None: every stream.
Demand = Container[str] | None


class Subscribed(dict[str, int]):
    """Canonical stream -> how many routing tables hold it (one per listener holding it).

    A dict so that ``name in subscribed`` is the dict's own lookup: the plant asks it for
    every payload it may skip. ``version`` changes whenever a name comes or goes, so that
    what is worked out from the membership can be kept until then (``KlineStreams``)."""

    version = 0

    def hold(self, stream: str) -> None:
        held = self.get(stream, 0)
        if not held:
            self.version += 1
        self[stream] = held + 1

    def release(self, stream: str) -> None:
        held = self.get(stream, 0) - 1
        if held > 0:
            self[stream] = held
        elif self.pop(stream, None) is not None:
            self.version += 1


MOST_ANNOUNCERS = 256  # announcers kept at once: gateways of one plant, with room to spare
SILENT_LOOKS = 10  # looks without an announcement after which an announcer has gone
# Names not known that an announcement may carry: a gateway names the listing's streams
# alone, and finding a name unknown is the costly look (~30 µs), so past these the
# announcement is refused rather than read on.
MOST_UNKNOWN = 64


class Heard(enum.Enum):
    """What an announcement did to the ``Announcements``."""

    NEW = "new"  # from an announcer not kept before
    AGAIN = "again"  # from one kept already (its set may have changed)
    CROWDED = "crowded"  # from a new one while ``most_announcers`` are kept: ignored
    UNKNOWN = "unknown"  # naming more than ``most_unknown`` names not known: ignored


class Announcements:
    """The streams other processes' clients hold, as each process last announced them, and
    their union (``streams``), which a plant follows as it follows one process' ``Subscribed``.

    An announcer (a gateway's run, by a number it drew) announces its whole set again and
    again (``hear``); one whose announcement has not come for ``silent_looks`` looks
    (``look``, a shell's every second or so) has gone (it was killed, or cannot reach the
    bus), and its names leave the union with it. Silence is counted in looks, not in clock
    time, as ``bus/liveness.py`` counts the plant's: a loop held up for a while is one look,
    never an announcer gone by itself.

    Bounded by design, as announcements come from other processes: a name is kept only as
    ``known`` gives it back (the canonical stream names of the listing, each kept once,
    whoever names it; any other name is dropped, and an announcement with more than
    ``most_unknown`` of them is ignored, so that each costs at most that many of ``known``'s
    misses), and at most ``most_announcers`` are kept (an announcement from another is
    ignored until one goes). So the union holds at most the listing's streams, and the sets
    at most ``most_announcers`` times as many references. An announcement ignored leaves
    its announcer's last set as it was, and is no sign that the announcer is there.
    """

    def __init__(
        self, known: Callable[[str], str | None], *, most_announcers: int = MOST_ANNOUNCERS,
        most_unknown: int = MOST_UNKNOWN, silent_looks: int = SILENT_LOOKS,
    ) -> None:  # fmt: skip
        self.streams = Subscribed()  # canonical stream -> how many announcers hold it
        self._known = known
        self.most_announcers = most_announcers
        self.most_unknown = most_unknown
        self.silent_looks = silent_looks
        self._sets: dict[int, frozenset[str]] = {}  # announcer -> the names it holds
        self._quiet: dict[int, int] = {}  # announcer -> looks since its last announcement
        self.dropped = 0  # names of announcements that ``known`` did not give back, ever

    @property
    def announcers(self) -> Mapping[int, frozenset[str]]:
        """Each announcer kept and the names it holds."""
        return self._sets

    def hear(self, announcer: int, names: Iterable[str]) -> Heard:
        """``announcer`` holds ``names`` (all of them: the names it held before and does not
        name now are released), and is there."""
        before = self._sets.get(announcer)
        if before is None and len(self._sets) >= self.most_announcers:
            return Heard.CROWDED
        known, kept, unknown = self._known, set(), 0
        for name in names:
            canonical = known(name)
            if canonical is not None:
                kept.add(canonical)
                continue
            unknown += 1
            if unknown > self.most_unknown:
                self.dropped += unknown
                return Heard.UNKNOWN
        self.dropped += unknown
        now = frozenset(kept)
        self._quiet[announcer] = 0
        self._sets[announcer] = now
        held = before or frozenset()
        if now != held:
            streams = self.streams
            for name in now - held:
                streams.hold(name)
            for name in held - now:
                streams.release(name)
        return Heard.NEW if before is None else Heard.AGAIN

    def look(self) -> list[int]:
        """One more look: the announcers that have gone at it (not heard for
        ``silent_looks`` looks), their names released."""
        gone = []
        for announcer, quiet in self._quiet.items():
            self._quiet[announcer] = quiet = quiet + 1
            if quiet >= self.silent_looks:
                gone.append(announcer)
        for announcer in gone:
            self.forget(announcer)
        return gone

    def forget(self, announcer: int) -> None:
        """``announcer`` has gone: its names are released."""
        del self._quiet[announcer]
        release = self.streams.release
        for name in self._sets.pop(announcer):
            release(name)
