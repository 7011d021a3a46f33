"""The streams a gateway's clients hold, told to the plant over the bus: sans-I/O.

A plant writes a client-facing payload only for the streams somebody takes
(``market/demand.py``); behind the bus its clients are the gateways', so each gateway
announces the canonical names its own ``Subscribed`` holds, and the plant follows their
union (``scaleout/gateway_demand.py`` announces, ``scaleout/plant_demand.py`` gathers).

Subjects (``prefix`` is the bus's, ``tp`` unless told otherwise):

- ``<prefix>.demand``: every gateway's announcements, msgpack ``[version, gateway, names]``
  (``Announcement``): ``BUS_VERSION`` first as in every message on the bus, the gateway's
  run (a number it drew at its start: its bus's epoch) and the whole set, sorted. Whole
  each time, never a change: an announcement lost, or a plant that restarted, is made
  good by the next one;
- ``<prefix>.demand.ask``: the plant's question as it starts (an empty message), which
  every gateway answers at once on ``<prefix>.demand``: a plant that restarts under
  running gateways writes their clients' streams a hop after its start, not a heartbeat.

A gateway announces at once after a change, batched per loop turn, paced to ``BURST`` at
once and then one each ``PACE_MS`` (``Pacing``: a wave of connections is a few
announcements, not one each), and again at least every ``ANNOUNCE_MS`` whether or not
anything changed: the plant's sign that it is there. (The plant takes a gateway it has not
heard for ``market.demand.SILENT_LOOKS`` looks a second apart for gone.)

An announcement is validated as it arrives (``decode_announcement``): one that is
malformed, of another version or over its bounds (``MOST_NAMES`` names, each at most
``NAME_CHARS`` characters) raises ``frames.Unreadable``, and the plant counts, logs and
drops it; the names of one that reads are kept only if they are the listing's streams.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from tickerplant.bus.frames import BUS_VERSION, Unreadable, unreadable

__all__ = [
    "ANNOUNCE_MS", "BURST", "MOST_NAMES", "NAME_CHARS", "PACE_MS", "Announcement", "Pacing", "Unreadable",
    "asked_subject", "decode_announcement", "demand_subject", "encode_announcement",
]  # fmt: skip

ANNOUNCE_MS = 1000  # a gateway's set, told again at least this often
PACE_MS = 25  # after a burst, one announcement each PACE_MS at most
BURST = 4  # announcements a gateway may make at once, after a quiet while
# Names an announcement may carry, and a name's characters: far over the canonical streams
# a listing has (~75 a symbol: 3,016 for the simulator's 40) and their longest (42:
# ``btcusd_current_quarter@continuousKline_12h``), while 30,000 names of 30 bytes stay
# under NATS's 1 MiB message.
MOST_NAMES = 30_000
NAME_CHARS = 100


def demand_subject(prefix: str) -> str:
    return f"{prefix}.demand"


def asked_subject(prefix: str) -> str:
    return f"{prefix}.demand.ask"


_Name = Annotated[str, msgspec.Meta(max_length=NAME_CHARS)]


class Announcement(msgspec.Struct, frozen=True, array_like=True):
    version: int  # BUS_VERSION
    gateway: int  # the announcing gateway's run: a number it drew as it started
    # the canonical streams its clients hold, sorted
    names: Annotated[list[_Name], msgspec.Meta(max_length=MOST_NAMES)]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Announcement)


def encode_announcement(gateway: int, names: list[str]) -> bytes:
    return _encoder.encode(Announcement(BUS_VERSION, gateway, names))


def decode_announcement(data: bytes) -> Announcement:
    """An announcement from its bytes; ``Unreadable`` when they are not one of this version's
    or are over its bounds."""
    try:
        announcement = _decoder.decode(data)
    except msgspec.DecodeError as exc:  # msgspec.ValidationError, the bounds, is one too
        raise unreadable("demand announcement", data, exc) from None
    if announcement.version != BUS_VERSION:
        raise unreadable("demand announcement", data, ValueError(f"version {announcement.version}"))
    return announcement


class Pacing:
    """When the next announcement may go: ``burst`` at once, then one each ``interval_ms``
    (the generic cell rate algorithm: a virtual time that each announcement moves on by
    ``interval_ms``, and that may run ahead of the clock by ``burst`` intervals). Time comes
    in as an argument."""

    __slots__ = ("_ahead_ms", "_interval_ms", "_virtual_ms")

    def __init__(self, interval_ms: int = PACE_MS, burst: int = BURST) -> None:
        self._interval_ms = interval_ms
        self._ahead_ms = (burst - 1) * interval_ms  # how far the virtual time may run ahead
        self._virtual_ms = 0

    def earliest_ms(self, now_ms: int) -> int:
        """When an announcement may go: ``now_ms`` within the burst, else later."""
        return max(now_ms, self._virtual_ms - self._ahead_ms)

    def sent(self, now_ms: int) -> None:
        self._virtual_ms = max(self._virtual_ms, now_ms) + self._interval_ms
