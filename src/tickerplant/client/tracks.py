"""Where one (stream, symbol) stands for the ``Sequencer`` (``client/sequencing.py``): the
last event delivered, a loss not yet reported, the connections proven to carry it, and
what a newcomer holds.

A connection covers a (stream, symbol) only once it has *overlapped* the ones carrying it:
once it has brought an event already delivered (a duplicate), every event after that one
comes on it too, in order. A newcomer's event that is ahead of what was delivered (a higher
``u`` than the last, a trade id past the next, a depth event that does not chain) while
another connection carries the track is *held*, not delivered: the carrier may still have
older events in flight (a lagging socket), and delivering the newer one first would make
those look like duplicates, lost without a word (seen once in 1,029 forced reconnects on a
loaded machine). The carrier delivers them in its turn, and the held copies go; when the
last carrier goes first, ``connection_retired`` and ``connection_lost`` return the held
events still new, in order (after a gap for a loss: the carrier's last events may be lost),
and the newcomer carries the track. At most ``HOLD_MAX`` are held per track; past it the
oldest go, and their release starts with a gap.
"""

from __future__ import annotations

from typing import Any

from tickerplant.client.events import AggTrade, BookTicker, DepthUpdate, MiniTicker, Ticker, Trade

__all__ = ["HELD_KINDS", "HOLD_MAX", "NO_TRACK", "Keyed", "Track", "ahead", "hold", "key_of"]

# The kinds whose ids say whether an event is past what was delivered (``ahead``).
HELD_KINDS = frozenset({BookTicker, MiniTicker, Ticker, Trade, AggTrade, DepthUpdate})
# The payloads of every other kind, which name their symbol.
Keyed = BookTicker[Any] | MiniTicker[Any] | Ticker[Any] | Trade[Any] | AggTrade[Any] | DepthUpdate[Any]

# Connections remembered per track: two overlap in a rollover; a few more cover a rollover
# racing a reconnect. Older ids fall off, which can only cause a gap notice, never a loss.
_MAX_CONNECTIONS = 4


class Track:
    """Where one (stream, symbol) stands."""

    __slots__ = ("connections", "held", "holder", "last_id", "last_ms", "lost_ms", "overflowed", "stream")

    def __init__(self, stream: str, last_id: int, last_ms: int, connection_id: int | None) -> None:
        self.stream = stream  # the stream it tracks (a symbol on it)
        # dedup key of the last delivered event (u, t, a, depth u or E); for the derived
        # streams the second part of (E, second) key: a kline's k.t, a forceOrder's o.T, or 0
        self.last_id = last_id
        self.last_ms = last_ms  # its event time
        self.lost_ms: int | None = None  # set by an uncovered loss; cleared by the next new event
        # events held from ``holder``, a connection not yet overlapping the carriers (the
        # module's docstring), oldest first; ``overflowed``: some were let go (HOLD_MAX)
        self.held: list[Keyed] = []
        self.holder: int | None = None
        self.overflowed = False
        # live carriers seen, newest last
        self.connections: tuple[int, ...] = () if connection_id is None else (connection_id,)

    def seen_on(self, connection_id: int) -> None:
        self.connections = (*self.connections[1 - _MAX_CONNECTIONS :], connection_id)


# What ``Sequencer.deliver`` finds for a symbol with no bookTicker track yet: on no stream,
# carried by no connection, so the fast path's test fails without a test for None.
NO_TRACK = Track("", 0, 0, None)


# Held per track from a connection not yet overlapping the carriers (a rollover's
# successor ahead of a lagging predecessor): seconds of one stream at most, in practice.
HOLD_MAX = 4096


def hold(track: Track, event: Keyed, connection_id: int) -> None:
    if track.holder != connection_id:  # a newer newcomer: the older one's held go, so its
        # release starts with a gap if there were any
        track.overflowed = track.overflowed or bool(track.held)
        track.held, track.holder = [], connection_id
    held = track.held
    if len(held) >= HOLD_MAX:
        del held[: len(held) // 2]
        track.overflowed = True
    held.append(event)


def ahead(track: Track, event: Keyed) -> bool:
    """Whether ``event`` is past what the track's carriers delivered by more than they can
    prove continuous: a higher ``u`` or ``E`` (they skip), a trade id past the next, a depth
    event that does not chain on the last."""
    if isinstance(event, Trade | AggTrade):
        return key_of(event) > track.last_id + 1
    if isinstance(event, DepthUpdate):
        return event.final_update_id > track.last_id and event.previous_final_update_id != track.last_id
    return key_of(event) > track.last_id


def key_of(event: Keyed) -> int:
    if isinstance(event, BookTicker):
        return event.update_id
    if isinstance(event, Trade):
        return event.trade_id
    if isinstance(event, AggTrade):
        return event.agg_id
    if isinstance(event, DepthUpdate):
        return event.final_update_id
    return event.event_time


