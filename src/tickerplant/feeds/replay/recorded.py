"""A recording's items (``recording/format.py``) as the replay's events (``replayer.py``):
what a recording holds between a start and an end, and before the start what the replay's
books and statistics read there (``Replayer.warm``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from tickerplant.feeds.replay.replayer import DepthSnapshot, Event, Passthrough, StreamsBroken
from tickerplant.market.instruments import Market
from tickerplant.market.messages import StreamKind
from tickerplant.recording.format import Item, Recorded, RecordedSnapshot

__all__ = ["recorded_events"]

_AGG_TRADE = "@" + StreamKind.AGG_TRADE.value


def recorded_events(
    market: Market,
    items: Iterable[Item],
    start_ms: int | None,
    end_ms: int | None,
    index: int,
    books: Mapping[str, str] | None = None,
    warm_ms: int | None = None,
) -> Iterator[tuple[int, int, Event]]:
    """A recording's items between ``start_ms`` and ``end_ms`` (inclusive) as events:
    messages pass through, losses break their streams, depth snapshots start books.

    ``books`` (stream name as received -> symbol, ``depth_sync.book_streams``) are the
    diff-depth streams books are kept from: their messages carry the symbol, and they and
    the snapshots are given before ``start_ms`` too, so that the book is known at the
    start (``Replayer.warm``). Without ``books`` no snapshot is given. From ``warm_ms`` on
    (before ``start_ms``), the ``@aggTrade`` messages are given too: the statistics and
    klines at the start hold what was traded before it (``Replayer.warm``), as a public
    file's rows of the day before do."""
    start_us = -1 if start_ms is None else start_ms * 1000
    warm_us = start_us if warm_ms is None else warm_ms * 1000
    end_us = 1 << 62 if end_ms is None else end_ms * 1000 + 999
    books = books or {}
    for item in items:
        t = item.received_us
        if t > end_us:
            return
        if isinstance(item, Recorded):
            book = books.get(item.stream, "")
            if t >= start_us or book or (t >= warm_us and item.stream.endswith(_AGG_TRADE)):
                yield t, index, Passthrough(market, item.stream, item.data, book)
        elif isinstance(item, RecordedSnapshot):
            if books:
                yield t, index, DepthSnapshot(market, item.symbol, item.data)
        elif t >= start_us or books:  # before the start, a loss still drops the books
            yield t, index, StreamsBroken(market, item.streams)
