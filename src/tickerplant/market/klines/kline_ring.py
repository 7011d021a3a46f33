"""A kline series' storage as preallocated integer columns, for the series that fills fast
(``1s``, a kline a second per symbol): its ``maxlen`` klines take ~104 bytes each, set
aside when the series is made, where ``Kline`` objects and their integers take ~500 bytes
each, made as the series fills. So a server's memory is at its steady size from its start
(docs/benchmarks.md, "memory": the 26 USDⓈ-M perpetuals' ``1s`` series filled for 25
minutes at ~0.8 MB a minute), and what the series holds is bounded by design at
``maxlen + 1`` rows.

``KlineRing`` stands where ``KlineSeries`` keeps a ``deque`` of klines, with the operations
it uses on one (``klines[-1]``, ``append``, ``popleft``, ``insert``, item get and set,
``len``, iteration) and ``span`` for its queries, and ``IntRing`` where it keeps the
``deque`` of their open times (read by ``bisect``). The latest kline is a live ``Kline``
that trades mutate in place, as in a deque; the ones before it are written into the
columns when the next one comes. A closed kline is made again as a ``Kline`` when it is
read, and that object kept until its slot changes: the REST answers' rows, kept by the
kline's identity and trade count (``protocol/encoded_rows.py``), are found again as from a
deque, and a series nobody reads holds no objects. A kline read and changed (a late
trade's) is written back (``ring[i] = kline``).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar, cast

# the kline's class (``candles.Kline``, which makes the rings: handed over, not imported),
# its fields the ``_FIELDS`` in order
K = TypeVar("K")

__all__ = ["IntRing", "KlineRing"]

_FIELDS = (
    "open_ms", "close_ms", "open", "high", "low", "close", "volume", "quote", "count", "taker_buy_volume",
    "taker_buy_quote", "first_id", "last_id",
)  # fmt: skip (``Kline``'s fields, in its order)


class _Ring:
    """Where ``maxlen + 1`` slots (a series inserts before it drops its oldest) hold a
    deque's items: from ``_start``, ``_size`` of them, wrapping round."""

    __slots__ = ("_cap", "_size", "_start")

    def __init__(self, maxlen: int) -> None:
        self._cap = maxlen + 1
        self._start = self._size = 0

    def __len__(self) -> int:
        return self._size

    def _slot(self, index: int) -> int:
        size = self._size
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("ring index out of range")
        return (self._start + index) % self._cap

    def _next(self) -> int:
        """The slot an item appended takes (counted in from now)."""
        if self._size == self._cap:
            raise IndexError("ring full")
        slot = (self._start + self._size) % self._cap
        self._size += 1
        return slot

    def _drop_first(self) -> None:
        self._start = (self._start + 1) % self._cap
        self._size -= 1

    def _make_room(self, columns: list[array[int]], index: int) -> int:
        """Room for an item inserted before position ``index`` (as ``list.insert`` reads it)
        in each of ``columns``: laid out from the first slot, the items from there on moved
        up one slot (in C). Returns that position, the slot the item is to be written in."""
        size = self._size
        if size == self._cap:
            raise IndexError("ring full")
        index = max(0, min(index + size if index < 0 else index, size))
        start = self._start
        for n, column in enumerate(columns):
            if start:
                column = columns[n] = column[start:] + column[:start]
            column[index + 1 : size + 1] = column[index:size]
        self._start, self._size = 0, size + 1
        return index


class IntRing(_Ring):
    """Integers in a preallocated ring, with a ``deque``'s ``append``, ``popleft``,
    ``insert``, item get and ``len``."""

    __slots__ = ("_values",)

    def __init__(self, maxlen: int, values: Iterable[int] = ()) -> None:
        super().__init__(maxlen)
        self._values = array("q", bytes(8 * self._cap))
        for value in values:
            self.append(value)

    def __getitem__(self, index: int) -> int:
        return self._values[self._slot(index)]

    def append(self, value: int) -> None:
        self._values[self._next()] = value

    def popleft(self) -> int:
        value = self[0]
        self._drop_first()
        return value

    def insert(self, index: int, value: int) -> None:
        """``value`` before position ``index`` (rare: a late trade's kline in a gap)."""
        columns = [self._values]
        slot = self._make_room(columns, index)
        self._values = columns[0]
        self._values[slot] = value

    def __iter__(self) -> Iterator[int]:
        return (self[i] for i in range(self._size))


class KlineRing(_Ring, Generic[K]):
    """Klines in preallocated columns, the latest a live ``Kline`` (see the module's text).
    A closed kline read is made once and kept until its slot changes (``_made``), so the
    same kline is the same object to the REST answers' rows (``encoded_rows.py``) as a
    deque's is; a slot nobody read holds no object."""

    __slots__ = ("_columns", "_has", "_latest", "_made", "_make")

    def __init__(self, maxlen: int, make: Callable[..., K], klines: Iterable[K] = ()) -> None:
        super().__init__(maxlen)
        self._columns = [array("q", bytes(8 * self._cap)) for _ in _FIELDS]
        self._made: list[K | None] = [None] * self._cap  # by slot: read, or the latest
        self._has = bytearray(self._cap)  # 1 where ``_made`` holds one (a C search for a 0)
        self._make = make  # ``Kline``, from its fields in order
        self._latest: K | None = None
        for kline in klines:
            self.append(kline)

    def _write(self, slot: int, kline: K) -> None:
        for column, name in zip(self._columns, _FIELDS, strict=True):
            column[slot] = getattr(kline, name)

    def _read(self, slot: int) -> K:
        made = self._made[slot]
        if made is None:
            made = self._made[slot] = self._make(*(column[slot] for column in self._columns))
            self._has[slot] = 1
        return made

    def __getitem__(self, index: int) -> K:
        return self._read(self._slot(index))

    def __setitem__(self, index: int, kline: K) -> None:
        slot = self._slot(index)
        self._write(slot, kline)
        self._made[slot], self._has[slot] = kline, 1
        if slot == self._slot(-1):
            self._latest = kline

    def append(self, kline: K) -> None:
        if self._latest is not None:  # the latest so far is closed: its values into the columns
            last = self._slot(-1)
            self._write(last, self._latest)
            self._made[last], self._has[last] = None, 0  # (read again, made again: not kept unread)
        slot = self._next()
        self._write(slot, kline)
        self._made[slot] = self._latest = kline
        self._has[slot] = 1

    def popleft(self) -> K:
        slot = self._slot(0)
        first = self._read(slot)
        self._made[slot], self._has[slot] = None, 0
        self._drop_first()
        if not self._size:
            self._latest = None
        return first

    def insert(self, index: int, kline: K) -> None:
        """``kline`` before position ``index`` (rare: a late trade's kline in a gap, a kline
        file's row put between two); after the latest, it is an ``append``."""
        if index >= self._size:
            self.append(kline)
            return
        latest = self._latest  # (None only while the ring is empty)
        assert latest is not None
        self._write(self._slot(-1), latest)  # the latest's values, as they are
        slot = self._make_room(self._columns, index)
        self._made, self._has = [None] * self._cap, bytearray(self._cap)
        self._write(slot, kline)
        last = self._size - 1
        self._made[slot], self._made[last] = kline, latest
        self._has[slot] = self._has[last] = 1

    def span(self, lo: int, hi: int) -> list[K]:
        """The klines from position ``lo`` to ``hi``, those made before as they were (a
        REST answer's 1,500 in two list slices when nobody changed them)."""
        start, cap = self._start, self._cap
        a, b = start + lo, start + hi
        made, has = self._made, self._has
        if b <= cap:
            out, complete = made[a:b], 0 not in has[a:b]
        elif a < cap:
            out, complete = made[a:cap] + made[: b - cap], 0 not in has[a:cap] and 0 not in has[: b - cap]
        else:
            out, complete = made[a - cap : b - cap], 0 not in has[a - cap : b - cap]
        if not complete:
            out = [self._read(slot % cap) for slot in range(a, b)]
        return cast("list[K]", out)

    def __iter__(self) -> Iterator[K]:
        return iter(self.span(0, self._size))
