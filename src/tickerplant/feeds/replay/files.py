"""What a replay reads: the files and folders given on the command line, found, sampled
and opened as time-ordered event iterators for the ``Replayer`` (``feeds/replay/replayer.py``).

This is the replay's I/O: it walks folders, samples each file's first rows to size the
instruments (``replay_instruments``), and chains each symbol's files of one kind, and each
recorder's rotated files, into one merge input that opens one file at a time. The file
formats themselves are ``public_files`` (Binance's public files) and
``tickerplant.recording.format`` (tickerplant recordings).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from tickerplant.feeds.replay.derivatives import derivative_events
from tickerplant.feeds.replay.file_columns import unread_row
from tickerplant.feeds.replay.instruments import FinestDigits
from tickerplant.feeds.replay.public_files import (
    DERIVATIVE_KINDS,
    FileKind,
    PublicFile,
    RowBlock,
    blocks,
    identify,
    lines,
    rows,
    sample_decimals,
    size_of,
)
from tickerplant.feeds.replay.recorded import recorded_events
from tickerplant.feeds.replay.replayer import Event, Passthrough, merge
from tickerplant.feeds.replay.runs import NEVER_MS, RowInput
from tickerplant.market.book.followed import book_streams
from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.messages import KLINE_ROW
from tickerplant.market.units import DAY_MS
from tickerplant.market.updates import FundingRate, IndexPrice, MarkPrice
from tickerplant.recording.format import RecordingHeader
from tickerplant.recording.reading import read_recording, size_on_disk, why_not_recording

__all__ = ["ReplayFiles", "find_files", "open_replay"]

log = logging.getLogger("tickerplant.replay")
_DERIVED = (FundingRate, IndexPrice, MarkPrice)  # the derivative files' rows (``derivatives.py``)
_PEEK_MOST = 100_000  # derivative rows looked past for the market's first (a year of a symbol's marks)


@dataclasses.dataclass
class ReplayFiles:
    """What was found: the files, the instruments they need, and the merged events."""

    public: list[PublicFile]
    recordings: list[Path]
    instruments: dict[Market, list[Instrument]]
    events: Iterator[tuple[int, int, Event]]  # (time µs, source index, event), ascending
    runs: list[RowInput]  # the public files' rows, for the Replayer to play in stretches
    total_bytes: int  # bytes to read (public files' CSV, recordings' compressed), for progress
    read_bytes: list[int]  # [bytes read so far], advanced as the events are consumed
    # the symbols whose recorded books are kept (diff streams with snapshots, version 2): their
    # views answer "no book" from the start until one syncs, never the top of book
    books: frozenset[str] = frozenset()

    def first_us(self) -> int | None:
        """When the first event is (reading as far as the start skips); None: no event. The
        market's rows go first (trades, bookTicker, kline files, recorded events): a month's
        funding file (or mark-price klines) beside a day of trades starts the replay at the
        trades, its earlier rows history, as the end is cut at the trades' last day
        (``public_files``). Derivative rows are looked past ``_PEEK_MOST`` at most."""
        peeked: list[tuple[int, int, Event]] = []
        for event in self.events:
            peeked.append(event)
            if not isinstance(event[2], _DERIVED) or len(peeked) >= _PEEK_MOST:
                break
        self.events = itertools.chain(peeked, self.events)
        live = [run for run in self.runs if run.next_ms != NEVER_MS]
        market = [run.next_ms * 1000 for run in live if run.kind not in DERIVATIVE_KINDS]
        market += [event[0] for event in peeked[-1:] if not isinstance(event[2], _DERIVED)]
        if market:
            return min(market)
        return min([run.next_ms * 1000 for run in live] + [event[0] for event in peeked[:1]], default=None)

def find_files(paths: Iterable[Path]) -> tuple[list[PublicFile], list[Path]]:
    """Public files and recordings among ``paths`` (folders are searched recursively)."""
    public: list[PublicFile] = []
    recordings: list[Path] = []
    unreadable: list[str] = []  # recordings by name that could not be read: each, and why
    for path in paths:
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        for candidate in candidates:
            identified = identify(candidate)
            why = None if identified is not None else why_not_recording(candidate)
            if identified is not None:
                public.append(identified)
            elif why is None:
                recordings.append(candidate)
            elif candidate.name.endswith(".jsonl.gz"):  # one by its name, not readable as one
                if not path.is_dir():
                    raise ValueError(f"{candidate}: not readable as a tickerplant recording ({why})")
                log.warning("%s: skipped, not readable as a tickerplant recording (%s)", candidate, why)
                unreadable.append(f"{candidate} ({why})")
            elif not path.is_dir():
                raise ValueError(
                    f"{candidate}: neither a Binance public file (<SYMBOL>-bookTicker|aggTrades|trades|"
                    "fundingRate-<date>.csv|.zip, or <SYMBOL>-1m-<date> in a markPriceKlines, "
                    "indexPriceKlines or premiumIndexKlines folder) nor a tickerplant recording (.jsonl.gz)"
                )
    if not public and not recordings:
        if unreadable:
            named = "; ".join(unreadable)
            raise ValueError(f"nothing to replay: not readable as tickerplant recordings: {named}")
        raise ValueError("nothing to replay: no Binance public files or tickerplant recordings found")
    return public, recordings


def open_replay(
    paths: Sequence[Path],
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    now_ms: int,
    warm_ms: int = DAY_MS,
    row_by_row: bool = False,
) -> ReplayFiles:
    """The files under ``paths``: the public files' rows as ``runs``, the rest merged
    into ``events``. Public rows start ``warm_ms`` before ``start_ms``, so that the 24 h
    statistics at the start hold the day before it (``Replayer.warm``).

    ``row_by_row``: the public rows merged into ``events`` too, one update each, as the
    replay played them before ``feeds/replay/runs.py``: the reference its tests hold the
    runs to."""
    public, recordings = find_files(paths)
    # Each symbol's units must hold the finest digits its files use.
    digits = FinestDigits()
    derivative = [file for file in public if file.kind in DERIVATIVE_KINDS]
    for file in public:
        if file.kind not in DERIVATIVE_KINDS:
            digits.add_public(file.symbol, file.market, *sample_decimals(file))  # its digits, its first price
        elif file.kind is not FileKind.INDEX_KLINES:
            # mark and funding files make their symbol served; their 8-decimal prices are
            # mark units (§4.6), not the book's, so they do not widen its price digits
            digits.add_public(file.symbol, file.market, 0, 0)
    headers: dict[Path, RecordingHeader] = {}
    for path in recordings:
        header, items = read_recording(path)
        headers[path] = header
        digits.add_recording(header.market, header.streams, items)
    known = {inst.symbol: inst for market in Market for inst in catalogue(market, now_ms)}
    instruments = digits.instruments(known)
    by_symbol = {inst.symbol: inst for insts in instruments.values() for inst in insts}
    read_bytes = [0]
    streams: list[Iterator[tuple[int, int, Event]]] = []
    runs: list[RowInput] = []
    klines = [file for file in public if file.kind is FileKind.KLINES]
    groups = _group([file for file in public if file.kind not in DERIVATIVE_KINDS and file not in klines])
    trade_kinds: dict[str, set[FileKind]] = {}
    for symbol, kind in groups:
        if kind is not FileKind.BOOK_TICKER:
            trade_kinds.setdefault(symbol, set()).add(kind)
    # trades before aggregates at equal times: a symbol's stats come from its trades
    order = {FileKind.TRADES: 0, FileKind.AGG_TRADES: 1, FileKind.BOOK_TICKER: 2}
    for (symbol, kind), files in sorted(groups.items(), key=lambda item: (order[item[0][1]], item[0][0])):
        alone = len(trade_kinds.get(symbol, ())) < 2
        warm_from = None if start_ms is None else start_ms - warm_ms
        inst = by_symbol[symbol]
        if row_by_row:
            streams.append(_chained(files, inst, alone, warm_from, end_ms, read_bytes, len(streams)))
        else:
            chained = _blocks(files, inst, warm_from, end_ms, read_bytes)
            runs.append(RowInput(chained, files[0].market, symbol, kind, alone))
    for interval in sorted({file.interval for file in klines}):
        for (symbol, _kind), files in sorted(_group([f for f in klines if f.interval == interval]).items()):
            if symbol in trade_kinds:
                log.warning("%s: klines come from its trades, not its %s kline files", symbol, interval)
                continue
            warm_from = None if start_ms is None else start_ms - warm_ms
            streams.append(_kline_rows(files, interval, warm_from, end_ms, read_bytes, len(streams)))
    if derivative:
        # the same checks: one day once, months and days not both
        derivative = [file for files in _group(derivative).values() for file in files]
        warm_from = None if start_ms is None else start_ms - warm_ms
        named = {file.symbol for file in public}
        served = {symbol: inst for symbol, inst in by_symbol.items() if symbol in named}
        # A month of funding or marks beside a day of trades ends with the trades' days,
        # not a month later.
        market_files = [file for files in groups.values() for file in files] + klines
        last = max((_end_of(file.date) for file in market_files), default=None)
        until = last if end_ms is None else end_ms if last is None else min(end_ms, last)
        events = derivative_events(
            derivative, served, start_ms=warm_from, end_ms=until, progress=read_bytes, index=len(streams)
        )
        streams.append(events)
    # One recorder's rotated files follow each other: one merge input, one open file at a time.
    sessions: dict[tuple[Market, str, tuple[str, ...]], list[tuple[int, Path]]] = {}
    for path, header in headers.items():
        key = (header.market, header.url, header.streams)
        sessions.setdefault(key, []).append((header.started_us, path))
    for files_of_one in sessions.values():
        paths_of_one = [path for _, path in sorted(files_of_one)]
        warm_from = None if start_ms is None else start_ms - warm_ms  # its trades, as the files' rows
        streams.append(_session(paths_of_one, start_ms, end_ms, len(streams), read_bytes, warm_from))
    # the public files' CSV bytes and the recordings' compressed bytes, read as they play
    total = sum(size_of(file.path) for file in public) + sum(size_on_disk(path) for path in headers)
    books = frozenset(
        symbol for header in headers.values() if header.version >= 2
        for symbol in book_streams(header.streams).values()
    )  # fmt: skip
    return ReplayFiles(public, recordings, instruments, merge(streams), runs, total, read_bytes, books)


def _end_of(date: str) -> int:
    """The last millisecond of a file's day ("2024-01-01") or month ("2024-01")."""
    parts = [int(part) for part in date.split("-")]
    if len(parts) == 3:
        day = datetime(parts[0], parts[1], parts[2], tzinfo=UTC)
        return int(day.timestamp() * 1000) + DAY_MS - 1
    year, month = parts[0] + parts[1] // 12, parts[1] % 12 + 1
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000) - 1


def _group(public: list[PublicFile]) -> dict[tuple[str, FileKind], list[PublicFile]]:
    """Files by (symbol, kind). The same day twice (a .csv unzipped next to its .zip) is
    played once; a monthly file and daily files of that month would play twice: refused."""
    groups: dict[tuple[str, FileKind], dict[str, PublicFile]] = {}
    for file in public:
        dates = groups.setdefault((file.symbol, file.kind), {})
        same = dates.get(file.date)
        if same is not None:
            log.warning("%s and %s hold the same data: playing %s", same.path, file.path, same.path.name)
            continue
        overlapping = [d for d in dates if d.startswith(file.date + "-") or file.date.startswith(d + "-")]
        if overlapping:
            raise ValueError(
                f"{file.path.name} overlaps {dates[overlapping[0]].path.name}: "
                "give either the monthly file or the daily ones"
            )
        dates[file.date] = file
    return {key: list(dates.values()) for key, dates in groups.items()}


def _chained(
    files: list[PublicFile],
    inst: Instrument,
    alone: bool,
    start_ms: int | None,
    end_ms: int | None,
    read_bytes: list[int],
    index: int,
) -> Iterator[tuple[int, int, Event]]:
    """One symbol's files of one kind, in date order, as (time µs, index, update)."""
    return itertools.chain.from_iterable(
        rows(
            file,
            inst.price_decimals,
            inst.qty_decimals,
            start_ms=start_ms,
            end_ms=end_ms,
            alone=alone,
            progress=read_bytes,
            index=index,
        )
        for file in sorted(files, key=lambda f: f.date)
    )


def _blocks(
    files: list[PublicFile], inst: Instrument, start_ms: int | None, end_ms: int | None, read_bytes: list[int]
) -> Iterator[RowBlock]:
    """One symbol's files of one kind, in date order, a block of rows at a time."""
    digits = inst.price_decimals, inst.qty_decimals
    return itertools.chain.from_iterable(
        blocks(file, *digits, start_ms=start_ms, end_ms=end_ms, progress=read_bytes, tops_as_texts=True)
        for file in sorted(files, key=lambda f: f.date)
    )


def _kline_rows(
    files: list[PublicFile], interval: str, start_ms: int | None, end_ms: int | None, read_bytes: list[int],
    index: int,
) -> Iterator[tuple[int, int, Event]]:
    """One symbol's kline files of one interval, in date order: each row, at its close time
    (a kline is known once it closed), as the market views' internal `<symbol>@klineRow`
    (``market/plant/view.py``): ``[interval, the row's 12 columns]``, the decimals as written."""
    start = -1 if start_ms is None else start_ms
    end = 1 << 62 if end_ms is None else end_ms
    for file in sorted(files, key=lambda f: f.date):
        name = f"{file.symbol.lower()}@{KLINE_ROW}"
        for number, line in enumerate(lines(file.path), 1):
            read_bytes[0] += len(line) + 1
            f = line.decode().split(",")
            try:
                close_ms = int(f[6])
                row = [interval, int(f[0]), *f[1:6], close_ms, f[7], int(f[8]), f[9], f[10]]
            except (IndexError, ValueError) as exc:
                raise unread_row(file.path.name, number, exc, line) from None
            if close_ms < start:
                continue
            if close_ms > end:
                return
            yield close_ms * 1000, index, Passthrough(file.market, name, msgspec.json.encode(row))


def _session(
    paths: list[Path], start_ms: int | None, end_ms: int | None, index: int, read_bytes: list[int],
    warm_ms: int | None = None,
) -> Iterator[tuple[int, int, Event]]:  # fmt: skip
    """One recorder's files in turn, one open at a time. (A function, so that each session
    keeps its own merge index: a generator expression would read the loop's last one, and
    two recordings' events at the same microsecond would then be compared.)"""
    for n, path in enumerate(paths, 1):  # a file cut short before the last: a gap, told as a loss
        yield from _recorded(
            path, start_ms, end_ms, index, cut_is_loss=n < len(paths), progress=read_bytes, warm_ms=warm_ms
        )


def _recorded(
    path: Path, start_ms: int | None, end_ms: int | None, index: int, *, cut_is_loss: bool = False,
    progress: list[int] | None = None, warm_ms: int | None = None,
) -> Iterator[tuple[int, int, Event]]:  # fmt: skip
    # Opened only when the merge reaches this file: one open file per recorder.
    header, items = read_recording(path, cut_is_loss=cut_is_loss, progress=progress)
    # Books only where depth snapshots were recorded beside the diff streams (version 2).
    books = {} if header.version < 2 else {n.lower(): s for n, s in book_streams(header.streams).items()}
    yield from recorded_events(header.market, items, start_ms, end_ms, index, books, warm_ms)
