"""The account's order-rate limits (trading part 1 §7.4): USDⓈ-M 300 orders per 10 s and
1200 per minute, COIN-M 1200 per minute (its orders count on the minute's counter alone:
part 1 §7.5's weights after the CM migration, "IP 0; 1m 1", and Unresolved 12), each
counted in fixed windows aligned to the interval, per account; since the migration the two
markets' orders are one budget (part 2 §3 and §11: "UM and CM share one order budget"):
each market counts its own (its windows saved and resumed as its own) and judges an order
by the sum with the other market's count of the same window (``peer``). Every order a key
places counts, refused ones too; the budget's counts after it go back as
``X-MBX-ORDER-COUNT-10S`` / ``-1M``, and the order past a limit is refused with 429
``-1015`` naming it. A batch (``POST``/``PUT …/batchOrders``) counts once, whatever it
holds: 5 on the 10 s counter, 1 on the minute's (part 1 §7's weights "10s 5; 1m 1", part 2
§7; COIN-M's minute the same, its table giving no other).

Bounded: one (window start, count) per limit and account that placed an order.

A restart does not refill them (docs/venue.md, "Order rate limits"): the windows still open
are saved beside the journal once a second and at a clean stop (``open_windows``), and at
start ``resume`` takes, per window, the larger of what was saved with the orders the journal
holds placed in it since, and every order the journal holds placed in it: every acknowledged
order was journaled before its answer went, so a ``kill -9`` forgets none of those, only
refusals counted since the last save (and what a batch counted since beyond its orders: the
journal holds orders, not batches).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused

__all__ = ["LIMITS", "OpenWindows", "OrderCounts"]

Key = tuple[int, int]  # (account, window ms)
Row = tuple[int, int]  # (window start, count)

# (window ms, limit, the interval as -1015 names it, the header)
LIMITS = {
    Market.UM: (
        (10_000, 300, "TEN_SECONDS", "X-MBX-ORDER-COUNT-10S"),
        (60_000, 1200, "MINUTE", "X-MBX-ORDER-COUNT-1M"),
    ),
    Market.CM: ((60_000, 1200, "MINUTE", "X-MBX-ORDER-COUNT-1M"),),
}
_BATCH = {10_000: 5, 60_000: 1}  # a batch's count on each window (the module's docstring)


class OrderCounts:
    def __init__(self, market: Market) -> None:
        self.limits = LIMITS[market]
        self.peer: OrderCounts | None = None  # the other market's: one budget (the docstring)
        self._windows: dict[Key, Row] = {}
        self.charged = 0  # orders counted, ever: whether anything changed since the last save
        # the windows counted on since a save's comparison last found them as saved, and the
        # window starts at the last comparison (OpenWindows.since_saved)
        self._unsaved: set[Key] = set()
        self._compared_starts: dict[int, int] = {}

    def charge(self, account_id: int, now_ms: int, *, batch: bool = False) -> list[tuple[str, int]]:
        """Count one order, or one ``batch``; the headers' (name, value) after it, or 429
        ``-1015``."""
        headers = []
        windows, peer = self._windows, self.peer
        self.charged += 1
        refused: RequestRefused | None = None
        for window_ms, limit, name, header in self.limits:
            start = now_ms - now_ms % window_ms
            key = (account_id, window_ms)
            began, count = windows.get(key, (start, 0))
            added = _BATCH[window_ms] if batch else 1
            count = count + added if began == start else added
            windows[key] = (start, count)
            self._unsaved.add(key)
            total = count if peer is None else count + peer.counted(key, start)
            # an order refused here counts on every window all the same, as any refused order
            # does; the first limit it passes names the refusal
            if total > limit and refused is None:  # Retry-After: to the window's end (part 1 Unresolved 9)
                text = f"Too many new orders; current limit is {limit} orders per {name}."
                refused = RequestRefused(-1015, text, 429, -(-(start + window_ms - now_ms) // 1000))
            headers.append((header, total))
        if refused is not None:
            raise refused
        return headers

    @property
    def unsaved(self) -> int:
        """How many windows a save's next comparison looks at (``OpenWindows.since_saved``)."""
        return len(self._unsaved)

    def open_windows(self, now_ms: int) -> OpenWindows:
        """The windows still open at ``now_ms``: what a restart must not forget (the closed
        ones count for nothing any more)."""
        return OpenWindows(self, now_ms)

    def resume(
        self, saved: Iterable[tuple[int, int, int, int]], placed: Iterable[tuple[int, int]], now_ms: int,
        saved_at: Mapping[Key, int] | None = None,
    ) -> None:  # fmt: skip
        """The windows open at ``now_ms`` after a restart: per account and limit, the larger
        of the count ``saved`` (``open_windows``' rows, refusals and batches as counted) with
        the orders ``placed`` in the window after it was read (``saved_at``: when, per window;
        an order of that very millisecond is taken for one it counted), and every order
        ``placed`` in the window, from the journal ((account, time ms)). Each is at least what
        Binance counted but where a batch counted more than its orders (5 on the 10 s window)
        since the save; the journal's alone forgot every order acknowledged since the save
        where batches had. A window already closed, or an order of another window, counts for
        nothing."""
        starts = {window_ms: now_ms - now_ms % window_ms for window_ms, *_ in self.limits}
        at = saved_at or {}
        counted: dict[tuple[int, int], int] = {}
        for account_id, window_ms, start, count in saved:
            if starts.get(window_ms) == start:
                counted[(account_id, window_ms)] = count
        journaled: dict[tuple[int, int], int] = {}  # every order of the window
        since: dict[tuple[int, int], int] = {}  # those since the window's count was read
        for account_id, time_ms in placed:
            for window_ms, start in starts.items():
                if start <= time_ms <= now_ms:
                    key = (account_id, window_ms)
                    journaled[key] = journaled.get(key, 0) + 1
                    if key in counted and time_ms > at.get(key, now_ms):
                        since[key] = since.get(key, 0) + 1
        for key in counted.keys() | journaled.keys():
            kept, orders = counted.get(key, 0), journaled.get(key, 0)
            if key in at and key in counted:
                kept += since.get(key, 0)
            self._windows[key] = (starts[key[1]], max(kept, orders))
            self._unsaved.add(key)

    def counted(self, key: Key, start: int) -> int:
        """What this market counted on ``key``'s window that began at ``start`` (0: none)."""
        began, count = self._windows.get(key, (-1, 0))
        return count if began == start else 0

    def current(self, account_id: int, now_ms: int) -> list[tuple[int, int, int]]:
        """(window ms, limit, orders the budget counted in the window now) per limit, counting
        nothing: the WebSocket API's ``ORDERS`` entries of ``rateLimits`` (part 1 §8.4)."""
        found = []
        for window_ms, limit, _, _ in self.limits:
            key, start = (account_id, window_ms), now_ms - now_ms % window_ms
            both = self.counted(key, start) + (0 if self.peer is None else self.peer.counted(key, start))
            found.append((window_ms, limit, both))
        return found


class OpenWindows:
    """``OrderCounts.open_windows(now_ms)``. Iterated: (account, window ms, window start,
    count) of each window open at ``now_ms``. ``since_saved``: what of them a save writes.

    A save once a second compared every open window with what was saved (~0.7 ms with 300
    accounts, the loop held); the windows that can differ are known where they change: the
    ones counted on since a comparison last found them saved (``charge``, ``resume``), and,
    when a limit's window turned since the last comparison, the saved ones it closed. A
    comparison costs what traded since, and a turn what it closed."""

    __slots__ = ("_counts", "now_ms")

    def __init__(self, counts: OrderCounts, now_ms: int) -> None:
        self._counts = counts
        self.now_ms = now_ms

    def __iter__(self) -> Iterator[tuple[int, int, int, int]]:
        now_ms = self.now_ms
        for (account_id, window_ms), (start, count) in self._counts._windows.items():
            if start == now_ms - now_ms % window_ms:
                yield account_id, window_ms, start, count

    def since_saved(self, saved: Mapping[Key, Row]) -> list[tuple[Key, Row | None]]:
        """Each window whose row differs from ``saved`` (the last save that committed), with
        its row now (None: closed, its row to delete), in no particular order. The windows
        found as saved are forgotten until counted on again; the ones found are looked at
        again by the next call, whether or not what this found was committed."""
        counts, now_ms = self._counts, self.now_ms
        windows = counts._windows
        starts = {window_ms: now_ms - now_ms % window_ms for window_ms, *_ in counts.limits}
        found: list[tuple[Key, Row | None]] = []
        for key in counts._unsaved:
            row = windows.get(key)
            if row is not None and row[0] != starts[key[1]]:
                row = None  # closed
            if saved.get(key) != row:
                found.append((key, row))
        compared = counts._compared_starts
        turned = {window_ms for window_ms, start in starts.items() if compared.get(window_ms) != start}
        counts._compared_starts = starts
        if turned:  # the saved windows that closed since (not counted on: their row is as saved)
            unsaved = counts._unsaved
            for key, (start, _) in saved.items():
                if key[1] in turned and start != starts[key[1]] and key not in unsaved:
                    found.append((key, None))
        counts._unsaved = {key for key, _ in found}
        return found
