"""The plant's side of the demand over the bus: the gateways' announcements, gathered.

Each gateway announces the canonical streams its clients hold (``bus/demand.py``,
``scaleout/gateway_demand.py``); the plant keeps each one's last set in
``market.demand.Announcements``, whose union its plants follow (``PlantProcess.demand``),
so it writes a client-facing payload only for a stream some gateway's client holds, as the
single process does for its own. It looks at them every second (``look``, on the plant's
heartbeat): a gateway not heard for ``SILENT_LOOKS`` looks has gone, and its streams go
with it.

From its start the plant writes the internal streams the views read (which every gateway
needs whatever its clients hold) and no other until a gateway names it. It asks the
gateways as it starts (``<prefix>.demand.ask``, after its subscription is in place), and
they answer at once: a plant that restarts under running gateways writes their streams
again a hop after its start, and a gateway started later announces as it starts. It asks
again when its connection to NATS comes back, which the gateways' announcements missed.

A gateway on the bus is trusted less than the plant: an announcement that does not read is
counted (``rejected``), logged within the bus log's budget and dropped; of one that reads,
only the names that are canonical streams of the plant's listing are kept (``known``: the
gateway's own rule, ``protocol.streams.resolve``), and one naming more than a few others
is dropped as well, as finding a name unknown costs ~30 µs of the plant's loop; and the
gateways kept are bounded (``market.demand``: ``MOST_ANNOUNCERS``, ``MOST_UNKNOWN``).
Nothing that comes on the subject can stop the plant, or hold its loop for more than
milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from tickerplant.bus.demand import Unreadable, asked_subject, decode_announcement, demand_subject
from tickerplant.bus.nats import NatsBus
from tickerplant.market.demand import Announcements, Heard, Subscribed
from tickerplant.market.instruments import Instrument, Market
from tickerplant.protocol.streams import Route, resolve
from tickerplant.scaleout.bus_log import BusLog

__all__ = ["PlantDemand", "known_streams"]

log = logging.getLogger("tickerplant.plant")


def known_streams(instruments: Mapping[Market, Sequence[Instrument]]) -> Callable[[str], str | None]:
    """``name`` if it is a canonical stream name of one of the markets listed (what a
    gateway's fan-out holds: a name that ``resolve`` gives back as its own key), else None.
    Those found are remembered, a set bounded by the listing; the others are not."""
    symbols = [{inst.symbol.lower(): inst for inst in insts} for insts in instruments.values()]
    found: dict[str, str] = {}

    def known(name: str) -> str | None:
        canonical = found.get(name)
        if canonical is not None:
            return canonical
        for listed in symbols:
            if resolve(name, listed, Route.UNROUTED, strict_routing=False, lenient_case=False).key == name:
                found[name] = name
                return name
        return None

    return known


class PlantDemand:
    """The gateways' announcements on the plant's bus, and the streams they hold."""

    def __init__(
        self, bus: NatsBus, instruments: Mapping[Market, Sequence[Instrument]], bus_log: BusLog
    ) -> None:
        self.bus = bus
        self.bus_log = bus_log
        self.announcements = Announcements(known_streams(instruments))
        self.heard = 0  # announcements taken
        self.rejected = 0  # announcements that did not read, or from a gateway over the bound

    def counts(self) -> tuple[int, int, int]:
        """The gateways followed now, the announcements taken and those dropped, ever (the
        plant's ``/metrics``)."""
        return len(self.announcements.announcers), self.heard, self.rejected

    @property
    def streams(self) -> Subscribed:
        """The union of the live gateways' streams, which the plants follow."""
        return self.announcements.streams

    async def start(self) -> None:
        """Hear the announcements, then ask every gateway for one."""
        await self.bus.on(demand_subject(self.bus.prefix), self._received)
        self.ask()

    def ask(self) -> None:
        """Ask every gateway to announce its streams at once (they answer on the subject)."""
        self.bus.post(asked_subject(self.bus.prefix), b"")

    def _received(self, data: bytes) -> None:
        try:
            announcement = decode_announcement(data)
        except Unreadable as exc:
            self.rejected += 1
            said = f"{len(data)} bytes on {demand_subject(self.bus.prefix)} dropped: {exc}"
            self.bus_log.say("demand", logging.WARNING, said)
            return
        gateway = announcement.gateway
        announcements = self.announcements
        heard = announcements.hear(gateway, announcement.names)
        if heard is Heard.CROWDED or heard is Heard.UNKNOWN:
            self.rejected += 1
            why = (
                f"{announcements.most_announcers} gateways kept already" if heard is Heard.CROWDED
                else f"more than {announcements.most_unknown} of its names are no stream of the listing"
            )  # fmt: skip
            said = f"an announcement from gateway {gateway:x} dropped: {why}"
            self.bus_log.say("demand", logging.WARNING, said)
            return
        self.heard += 1
        if heard is Heard.NEW:
            log.info("gateway %x announced %d streams", gateway, len(self.announcements.announcers[gateway]))

    def look(self) -> None:
        """One look (every second): the gateways not heard for a while have gone."""
        looks = self.announcements.silent_looks
        for gateway in self.announcements.look():
            log.info("gateway %x not heard for %d s: its streams are no longer written", gateway, looks)
