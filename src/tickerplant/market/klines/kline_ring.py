"""A kline series' storage as preallocated integer columns, for the series that fills fast
(``1s``, a kline a second per symbol): its ``maxlen`` klines take ~104 bytes each, set
aside when the series is made, where ``Kline`` objects and their integers take ~500 bytes
each, made as the series fills. So a server's memory is at its steady size from its start
(docs/benchmarks.md, "memory": the 26 USDⓈ-M perpetuals' ``1s`` series filled for 25
minutes at ~0.8 MB a minute), and what the series holds is bounded by design at
``maxlen + 1`` rows.

``KlineRing`` stands where ``KlineSeries`` keeps a ``deque`` of klines, with the operations
it uses on one (``klines[-1]``, ``append``, ``popleft``, ``insert``, item get and set,
``len``, iteration), and ``IntRing`` where it keeps the ``deque`` of their open times (read
by ``bisect``). The latest kline is a live ``Kline`` that trades mutate in place, as in a
deque; the ones before it are written into the columns when the next one comes, and read
back as new ``Kline`` objects (the REST answers' rows are then written again, not kept by
identity: ``protocol/encoded_rows.py``). A kline read from the columns and changed (a late
trade's) is written back (``ring[i] = kline``).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # candles.py makes the rings: the class is handed over, not imported
    from tickerplant.market.klines.candles import Kline

__all__ = ["IntRing", "KlineRing"]

_FIELDS = (
    "open_ms", "close_ms", "open", "high", "low", "close", "volume", "quote", "count", "taker_buy_volume",
    "taker_buy_quote", "first_id", "last_id",
)  # fmt: skip (``Kline``'s fields, in its order)


class IntRing:
    """Integers in a preallocated ring of ``maxlen + 1`` (a series inserts before it drops
    its oldest), with a ``deque``'s ``append``, ``popleft``, ``insert``, item get and ``len``."""

    __slots__ = ("_cap", "_size", "_start", "_values")

    def __init__(self, maxlen: int, values: Iterable[int] = ()) -> None:
        self._cap = maxlen + 1
        self._values = array("q", bytes(8 * self._cap))
        self._start = self._size = 0
        for value in values:
            self.append(value)

    def __len__(self) -> int:
        return self._size

    def _at(self, index: int) -> int:
        size = self._size
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("ring index out of range")
        return (self._start + index) % self._cap

    def __getitem__(self, index: int) -> int:
        return self._values[self._at(index)]

    def set(self, index: int, value: int) -> None:
        self._values[self._at(index)] = value

    def append(self, value: int) -> None:
        if self._size == self._cap:
            raise IndexError("ring full")
        self._values[(self._start + self._size) % self._cap] = value
        self._size += 1

    def popleft(self) -> int:
        value = self[0]
        self._start = (self._start + 1) % self._cap
        self._size -= 1
        return value

    def insert(self, index: int, value: int) -> None:
        """``value`` before position ``index`` (rare: a late trade's kline in a gap), the
        ring laid out from its first slot first, then the values after it moved up one."""
        size = self._size
        if size == self._cap:
            raise IndexError("ring full")
        index = max(0, min(index + size if index < 0 else index, size))
        values = self._values
        if self._start:
            values = self._values = values[self._start :] + values[: self._start]
            self._start = 0
        values[index + 1 : size + 1] = values[index:size]
        values[index] = value
        self._size = size + 1

    def __iter__(self) -> Iterator[int]:
        return (self[i] for i in range(self._size))


class KlineRing:
    """Klines in preallocated columns, the latest a live ``Kline`` (see the module's text)."""

    __slots__ = ("_columns", "_latest", "_make")

    def __init__(self, maxlen: int, make: Callable[..., Kline], klines: Iterable[Kline] = ()) -> None:
        self._columns = [IntRing(maxlen) for _ in _FIELDS]
        self._make = make  # ``Kline``, from its fields in order
        self._latest: Kline | None = None
        for kline in klines:
            self.append(kline)

    def __len__(self) -> int:
        return len(self._columns[0])

    def _write(self, index: int, kline: Kline) -> None:
        for column, name in zip(self._columns, _FIELDS, strict=True):
            column.set(index, getattr(kline, name))

    def _read(self, index: int) -> Kline:
        return self._make(*(column[index] for column in self._columns))

    def __getitem__(self, index: int) -> Kline:
        size = len(self)
        if index < 0:
            index += size
        if index == size - 1 and self._latest is not None:
            return self._latest
        return self._read(index)

    def __setitem__(self, index: int, kline: Kline) -> None:
        size = len(self)
        if index < 0:
            index += size
        if index == size - 1:
            self._latest = kline
        self._write(index, kline)

    def append(self, kline: Kline) -> None:
        if self._latest is not None:  # the latest so far is closed: its values into the columns
            self._write(len(self) - 1, self._latest)
        for column, name in zip(self._columns, _FIELDS, strict=True):
            column.append(getattr(kline, name))
        self._latest = kline

    def popleft(self) -> Kline:
        first = self[0]
        for column in self._columns:
            column.popleft()
        if not len(self):
            self._latest = None
        return first

    def insert(self, index: int, kline: Kline) -> None:
        """``kline`` before position ``index`` (rare: a late trade's kline in a gap, a kline
        file's row put between two): after the latest, it is an ``append``."""
        size = len(self)
        if index >= size:
            self.append(kline)
            return
        if self._latest is not None:
            self._write(size - 1, self._latest)
        for column, name in zip(self._columns, _FIELDS, strict=True):
            column.insert(index, getattr(kline, name))

    def __iter__(self) -> Iterator[Kline]:
        return (self[i] for i in range(len(self)))
