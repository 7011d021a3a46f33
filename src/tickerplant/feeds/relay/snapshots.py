"""When the relay fetches its books' depth snapshots from the upstream (spec §4.9 step 2,
§7.1, §7.4). Sans-I/O: time is an argument; ``books.RelayBooks`` does the fetching.

The rules:

- **Pacing.** An attempt starts ``interval_ms`` after the one before it at the earliest,
  refused or not (a refused request costs weight too, §7.1), and at most ``max_in_flight``
  are out at once, so a fetch that hangs until its timeout holds no other symbol's.
- **Order.** The symbols whose books asked, in the order they asked. A symbol whose attempt
  failed (an error answer such as 400, a timeout, a snapshot older than its stream or not
  readable) waits out its own backoff (``delays``: a series of its own, started over once
  it syncs) while the symbols behind it go first: one failing symbol holds no other.
- **A ban holds every symbol.** A 429 or a 418 is the IP's request weight spent (§7.1:
  limits are per IP, and carrying on after 429s turns into a ban of minutes to days): no
  attempt of any symbol until the answer's ``Retry-After`` has passed (at least a second),
  or, without one, a bounded exponential wait (``ban_delays``), and after a 418 two minutes
  at least, the shortest ban Binance names. The series goes on while refusals follow each
  other and starts over at the next snapshot answered.

Memory: an entry per symbol that asked and has not synced, the relayed symbols at most.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

__all__ = ["BAN_418_MIN_S", "MAX_IN_FLIGHT", "SnapshotSchedule", "UpstreamLimited"]

MAX_IN_FLIGHT = 4  # snapshots out at once: a hanging fetch holds one slot, not the market
BAN_418_MIN_S = 120.0  # §7.1: a 418 ban lasts 2 minutes at the least
_RETRY_AFTER_MIN_S = 1.0  # a Retry-After of 0 is no licence to ask again at once


class UpstreamLimited(OSError):
    """The upstream refused a snapshot for the IP's weight: ``status`` 429 or 418, with its
    ``Retry-After`` (seconds) when it gave one."""

    def __init__(self, message: str, status: int, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class SnapshotSchedule:
    """Which symbol's snapshot to fetch, and when; see the module docstring."""

    def __init__(
        self,
        interval_ms: float,
        delays: Callable[[], Iterator[float]],
        ban_delays: Callable[[], Iterator[float]],
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._interval_ms = interval_ms
        self._delays = delays
        self._ban_delays = ban_delays
        self._max_in_flight = max_in_flight
        self._wanted: dict[str, int] = {}  # symbol -> its ask's ticket, in the order asked
        self._tickets = 0
        self._retry_ms: dict[str, float] = {}  # symbol -> its next attempt at the earliest
        self._series: dict[str, Iterator[float]] = {}  # symbol -> its backoff, while failing
        self.in_flight: set[str] = set()
        self._next_ms = -math.inf  # the pacing: the next attempt at the earliest
        self.banned_until_ms = -math.inf
        self._ban_series: Iterator[float] | None = None  # while refusals follow each other
        self.refusals = 0  # 429s and 418s since the last snapshot answered

    # -- the books' asks -----------------------------------------------------------------

    def ask(self, symbol: str) -> None:
        """``symbol``'s book wants a snapshot (again, after a loss: a new ticket)."""
        if symbol not in self._wanted:
            self._tickets += 1
            self._wanted[symbol] = self._tickets

    def drop(self, symbol: str) -> None:
        """``symbol`` wants none now (synced, or lost: its stream will ask again); an answer
        already on its way is for a stream that is gone (``current`` says so)."""
        self._wanted.pop(symbol, None)

    def wants(self, symbol: str) -> bool:
        return symbol in self._wanted

    def ticket(self, symbol: str) -> int:
        return self._wanted[symbol]

    def current(self, symbol: str, ticket: int) -> bool:
        """Whether an answer fetched under ``ticket`` is still for the stream that asked."""
        return self._wanted.get(symbol) == ticket

    # -- the fetcher's questions ---------------------------------------------------------

    def due(self, now_ms: float) -> str | None:
        """The symbol to fetch now, if any may be."""
        if len(self.in_flight) >= self._max_in_flight or now_ms < max(self._next_ms, self.banned_until_ms):
            return None
        for symbol in self._wanted:
            if symbol not in self.in_flight and self._retry_ms.get(symbol, -math.inf) <= now_ms:
                return symbol
        return None

    def wake_ms(self) -> float:
        """When ``due`` may next name a symbol without anything else happening first (an
        ask, an attempt ending); ``inf``: not until something does."""
        if len(self.in_flight) >= self._max_in_flight:
            return math.inf
        waiting = [self._retry_ms.get(s, -math.inf) for s in self._wanted if s not in self.in_flight]
        if not waiting:
            return math.inf
        return max(self._next_ms, self.banned_until_ms, min(waiting))

    # -- what an attempt came to ---------------------------------------------------------

    def started(self, symbol: str, now_ms: float) -> None:
        self.in_flight.add(symbol)
        self._next_ms = now_ms + self._interval_ms

    def answered(self, symbol: str, now_ms: float, *, synced: bool) -> int:
        """A snapshot came: the book ``synced`` on it, or not (older than the stream,
        unreadable), when its symbol waits out its own backoff. Returns how many refusals
        the answer ended (0: there was no ban)."""
        self.in_flight.discard(symbol)
        ended, self.refusals, self._ban_series = self.refusals, 0, None
        if synced:
            self._wanted.pop(symbol, None)
            self._retry_ms.pop(symbol, None)
            self._series.pop(symbol, None)
        else:
            self._back_off(symbol, now_ms)
        return ended

    def failed(self, symbol: str, now_ms: float) -> float:
        """No snapshot (an error answer, a timeout): ``symbol`` alone waits; returns how long, s."""
        self.in_flight.discard(symbol)
        return self._back_off(symbol, now_ms)

    def limited(self, symbol: str, status: int, retry_after_s: float | None, now_ms: float) -> float:
        """A 429 or 418: every symbol waits; returns how long from now, s (``refusals`` counts
        it: 1 is the first of a run, the one worth a warning)."""
        self.in_flight.discard(symbol)
        self.refusals += 1
        if retry_after_s is not None:
            wait_s = max(retry_after_s, _RETRY_AFTER_MIN_S)
        else:
            if self._ban_series is None:
                self._ban_series = self._ban_delays()
            wait_s = next(self._ban_series)
            if status == 418:
                wait_s = max(wait_s, BAN_418_MIN_S)
        self.banned_until_ms = max(self.banned_until_ms, now_ms + wait_s * 1000)
        return wait_s

    def abandoned(self, symbol: str) -> None:
        """An attempt whose answer is not wanted any more (its stream was lost meanwhile)."""
        self.in_flight.discard(symbol)

    def _back_off(self, symbol: str, now_ms: float) -> float:
        series = self._series.get(symbol)
        if series is None:
            series = self._series[symbol] = self._delays()
        wait_s = next(series)
        self._retry_ms[symbol] = now_ms + wait_s * 1000
        return wait_s

    def failing(self, symbol: str) -> bool:
        """Whether ``symbol``'s last attempt failed (it waits out its own backoff)."""
        return symbol in self._series
