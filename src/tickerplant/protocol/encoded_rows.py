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

Rows joined are kept too (``span``): the same answer asked again (a client polling the
latest 1,500 klines, 200 clients asking the same) is then one lookup, not 1,500, when its
owner can say cheaply that the rows are unchanged: a kline series' settled klines (all but
its latest) while its ``revisions`` are unchanged, a span of aggregates by its first and
last id (an aggregate never changes), funding rows while the histories' ``funding_changes``
are unchanged. One span is kept per owner and kind (the last asked).

Bounded by design: at most ``max_rows`` rows (``MAX_ROWS``) kept, about 300 bytes each,
and ``max_span_bytes`` of joined spans (``MAX_SPAN_BYTES``); when either would pass its
bound, all of it is dropped and kept again as answers need it (O(1) per row, however many
distinct rows clients ask for; a client paging through everything pays what an answer cost
before, no more).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Protocol

from msgspec import Raw

__all__ = ["MAX_ROWS", "MAX_SPAN_BYTES", "EncodedRows", "Stamped", "array"]

MAX_ROWS = 100_000  # ~30 MB at most, per cache (a listener's REST answers have one)
MAX_SPAN_BYTES = 16 * 1024 * 1024


def array(*parts: bytes) -> Raw:
    """The JSON array of rows comma-joined in ``parts`` (an empty part adds nothing)."""
    return Raw(b"[" + b",".join(part for part in parts if part) + b"]")


class Stamped(Protocol):
    """A row's source that changes in place and counts its changes (a ``Kline``)."""

    count: int


_Entry = tuple[object, object, bytes]  # (the source or its values, its stamp, its row)


class EncodedRows:
    __slots__ = ("_owners", "_rows", "_span_bytes", "_spans", "max_rows", "max_span_bytes")

    def __init__(self, max_rows: int = MAX_ROWS, max_span_bytes: int = MAX_SPAN_BYTES) -> None:
        self.max_rows = max_rows
        self.max_span_bytes = max_span_bytes
        # (id of the owner, kind) -> (the owner, the span's key, its rows joined)
        self._spans: dict[tuple[int, Hashable], tuple[object, Hashable, bytes]] = {}
        self._span_bytes = 0
        # (id of the owner, kind) -> (the owner, its rows by key)
        self._owners: dict[tuple[int, Hashable], tuple[object, dict[Hashable, _Entry]]] = {}
        self._rows = 0  # rows kept, over every owner

    def __len__(self) -> int:
        return self._rows

    def span(self, owner: object, kind: Hashable, key: Hashable, join: Callable[[], bytes]) -> bytes:
        """``join()`` (rows joined, the answer or a part of it), kept under ``owner`` and
        ``kind`` while ``key`` (which says the rows are unchanged) is the same."""
        slot = (id(owner), kind)
        kept = self._spans.get(slot)
        if kept is not None and kept[0] is owner and kept[1] == key:
            return kept[2]
        joined = join()
        if kept is not None:
            self._span_bytes -= len(kept[2])
        if self._span_bytes + len(joined) > self.max_span_bytes:
            self._spans.clear()
            self._span_bytes = 0
        if len(joined) <= self.max_span_bytes:
            self._spans[slot] = (owner, key, joined)
            self._span_bytes += len(joined)
        return joined

    def holds_span(self, owner: object, kind: Hashable, key: Hashable) -> bool:
        """Whether ``span`` would answer from what it keeps (``join`` not called)."""
        kept = self._spans.get((id(owner), kind))
        return kept is not None and kept[0] is owner and kept[1] == key

    def span_bytes(self) -> int:
        """Bytes of joined spans kept (at most ``max_span_bytes``)."""
        return self._span_bytes

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
    ) -> bytes:
        """``encode(item)`` for each of ``items``, comma-joined (``keys[i]`` is
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
        return b",".join(out)

    def valued(
        self,
        owner: object,
        kind: Hashable,
        keys: Sequence[Hashable],
        values: Sequence[object],
        encode: Callable[[int], bytes],
    ) -> bytes:
        """``encode(i)`` for each ``i`` of ``range(len(keys))``, comma-joined: kept rows
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
        return b",".join(out)
