"""REST answers' rows kept as the bytes they are written as: the long history answers
(`klines`, `continuousKlines`, the price klines at up to 1,500 rows, `trades` and
`aggTrades` at up to 1,000, spec §7.8, §7.9) are made of rows that rarely change once
written, and writing one costs some 2 µs (its decimals, a dict or list, msgspec), so an
answer cost 2–4 ms of the loop every stream shares. Kept, a row costs a lookup; an answer
is its rows joined, written as they are (``msgspec.Raw``), the same bytes msgspec would
write for the list of rows.

A row is kept under its owner (the series, ring or history it was read from, held by the
entry so that its identity cannot be reused) and a key within it (an open time, an
aggregate id), with a stamp that says whether it is still the row it was: a kline is
mutated in place while open and by a late trade, so its entry holds the kline and its
trade count (every change to a kline adds to its count, ``market/klines/candles.py``); a
row read as values (an aggregate, a price bar) holds those values, compared whole.

Bounded by design: at most ``max_rows`` rows (``MAX_ROWS``) kept, about 300 bytes each;
when a row would pass the bound, every row is dropped and kept again as answers need them
(O(1) per row, however many distinct rows clients ask for; a client paging through
everything pays what an answer cost before, no more).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Protocol

from msgspec import Raw

__all__ = ["MAX_ROWS", "EncodedRows", "Stamped"]

MAX_ROWS = 100_000  # ~30 MB at most, per cache (a listener's REST answers have one)


class Stamped(Protocol):
    """A row's source that changes in place and counts its changes (a ``Kline``)."""

    count: int


_Entry = tuple[object, object, bytes]  # (the source or its values, its stamp, its row)


class EncodedRows:
    __slots__ = ("_owners", "_rows", "max_rows")

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        # (id of the owner, kind) -> (the owner, its rows by key)
        self._owners: dict[tuple[int, Hashable], tuple[object, dict[Hashable, _Entry]]] = {}
        self._rows = 0  # rows kept, over every owner

    def __len__(self) -> int:
        return self._rows

    def _table(self, owner: object, kind: Hashable) -> dict[Hashable, _Entry]:
        key = (id(owner), kind)
        held = self._owners.get(key)
        if held is None or held[0] is not owner:
            held = (owner, {})
            self._owners[key] = held
        return held[1]

    def _kept(self, added: int) -> None:
        self._rows += added
        if self._rows > self.max_rows:
            self._owners.clear()
            self._rows = 0

    def counted(
        self,
        owner: object,
        kind: Hashable,
        items: Sequence[Stamped],
        keys: Sequence[Hashable],
        encode: Callable[[Stamped], bytes],
    ) -> Raw:
        """The JSON array of ``encode(item)`` for each of ``items`` (``keys[i]`` is
        ``items[i]``'s key under ``owner``): kept rows where the item is the one kept and
        its count unchanged."""
        table = self._table(owner, kind)
        get = table.get
        out: list[bytes] = []
        append = out.append
        added = 0
        for item, key in zip(items, keys, strict=True):
            entry = get(key)
            count = item.count
            if entry is not None and entry[0] is item and entry[1] == count:
                append(entry[2])
                continue
            row = encode(item)
            table[key] = (item, count, row)
            added += 1 if entry is None else 0
            append(row)
        self._kept(added)
        return Raw(b"[" + b",".join(out) + b"]")

    def valued(
        self,
        owner: object,
        kind: Hashable,
        keys: Sequence[Hashable],
        values: Sequence[object],
        encode: Callable[[int], bytes],
    ) -> Raw:
        """The JSON array of ``encode(i)`` for each ``i`` of ``range(len(keys))``: kept rows
        where the row's values (``values[i]``, compared with ``==``) are those kept."""
        table = self._table(owner, kind)
        get = table.get
        out: list[bytes] = []
        append = out.append
        added = 0
        for i, (key, value) in enumerate(zip(keys, values, strict=True)):
            entry = get(key)
            if entry is not None and entry[1] == value:
                append(entry[2])
                continue
            row = encode(i)
            table[key] = (None, value, row)
            added += 1 if entry is None else 0
            append(row)
        self._kept(added)
        return Raw(b"[" + b",".join(out) + b"]")
