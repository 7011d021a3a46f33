"""Binance's public historical futures files (data.binance.vision, spec §9): names, columns,
rows as market updates.

A file is named ``<SYMBOL>-<type>-<date>.(csv|zip)``; a zip holds one CSV of the same base
name. Futures CSVs have a header line, older ones do not: a first line whose first field
is not a number is a header (§9.2). Times are milliseconds.

| type         | columns used                                                          |
| ------------ | --------------------------------------------------------------------- |
| bookTicker   | update_id, best_bid_price, best_bid_qty, best_ask_price, best_ask_qty, |
|              | transaction_time, event_time                                          |
| aggTrades    | agg_trade_id, price, quantity, first_trade_id, last_trade_id,         |
|              | transact_time, is_buyer_maker                                         |
| trades       | id, price, qty, quote_qty (UM) / base_qty (CM), time, is_buyer_maker   |
| fundingRate  | calc_time, funding_interval_hours, last_funding_rate                  |
| klines       | the 12 columns of REST klines (§7.8, §9.2), every one                 |
| markPrice-,  | open_time, open, high, low, close, volume, close_time, … (the 12      |
| indexPrice-, | columns of klines, §9.2): the close and the close time are read       |
| premiumIndex-|                                                                       |
| Klines       |                                                                       |

The three price-kline kinds are named as klines are, ``<SYMBOL>-1m-<date>``: only their
folder says which they are (``…/markPriceKlines/BTCUSDT/1m/``, §9.1), so they are known
only inside a folder of that name, and only at the 1-minute interval (the finest there
is). Their rows are read by ``feeds/replay/derivatives.py``. The trade klines are named
``<SYMBOL>-<interval>-<date>`` (``1mo`` for ``1M``, §9.1) and known inside a ``klines``
folder; ``replay_files`` plays their rows to the market views.
"""

from __future__ import annotations

import bisect
import enum
import functools
import itertools
import logging
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple, cast

from tickerplant.feeds.replay.file_columns import ints, is_true, makers, unread_row
from tickerplant.market.instruments import Market
from tickerplant.market.units import (
    FinerDigits,
    Remembered,
    above_zero,
    bytes_units,
    decimals_of,
    fixed_texts,
)
from tickerplant.market.updates import AggTrade, TopOfBook, Trade

log = logging.getLogger("tickerplant.replay")

__all__ = [
    "DERIVATIVE_KINDS",
    "FileKind",
    "PublicFile",
    "RowBlock",
    "blocks",
    "identify",
    "lines",
    "market_of_symbol",
    "rows",
]


class FileKind(enum.Enum):
    BOOK_TICKER = "bookTicker"
    AGG_TRADES = "aggTrades"
    TRADES = "trades"
    MARK_KLINES = "markPriceKlines"
    INDEX_KLINES = "indexPriceKlines"
    PREMIUM_KLINES = "premiumIndexKlines"
    FUNDING_RATE = "fundingRate"
    KLINES = "klines"


# the kinds that are not market updates row by row: mark, index and funding data
DERIVATIVE_KINDS = frozenset(
    (FileKind.MARK_KLINES, FileKind.INDEX_KLINES, FileKind.PREMIUM_KLINES, FileKind.FUNDING_RATE)
)
_KLINE_FOLDERS = {
    kind.value: kind for kind in (FileKind.MARK_KLINES, FileKind.INDEX_KLINES, FileKind.PREMIUM_KLINES)
}

# a kline file's interval as its name writes it -> the interval (§9.1: `1M` is `1mo`)
KLINE_FILE_INTERVALS = {
    "1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1h", "2h": "2h", "4h": "4h",
    "6h": "6h", "8h": "8h", "12h": "12h", "1d": "1d", "3d": "3d", "1w": "1w", "1mo": "1M",
}  # fmt: skip
_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9_]+)-(?P<kind>bookTicker|aggTrades|trades|fundingRate|"
    + "|".join(KLINE_FILE_INTERVALS)
    + r")-(?P<date>[0-9-]+)\.(csv|zip)$"
)

# How each kind of row is read: (file column, how) for each field of its update after the
# symbol, in the update's order (``RowBlock``), and which of them is the time the rows are
# ordered and replayed by: the event time E for bookTicker (when it was published), the
# trade time for trades.
_INT, _PRICE, _QTY, _BOOL = range(4)
_LAYOUT: dict[FileKind, tuple[tuple[int, int], ...]] = {
    FileKind.BOOK_TICKER: ((0, _INT), (5, _INT), (6, _INT), (1, _PRICE), (2, _QTY), (3, _PRICE), (4, _QTY)),
    FileKind.AGG_TRADES: ((0, _INT), (3, _INT), (4, _INT), (5, _INT), (1, _PRICE), (2, _QTY), (6, _BOOL)),
    FileKind.TRADES: ((0, _INT), (4, _INT), (1, _PRICE), (2, _QTY), (5, _BOOL)),
}
_TIME_FIELD = {FileKind.BOOK_TICKER: 2, FileKind.AGG_TRADES: 3, FileKind.TRADES: 1}
_WIDEST = {kind: max(c for c, _ in fields) for kind, fields in _LAYOUT.items()}  # a row needs more
# the columns whose digits size an instrument's units (``sample_decimals``)
_PRICE_COLUMNS = {kind: tuple(c for c, how in fields if how == _PRICE) for kind, fields in _LAYOUT.items()}
_QTY_COLUMNS = {kind: tuple(c for c, how in fields if how == _QTY) for kind, fields in _LAYOUT.items()}
_PRICE_COLUMNS[FileKind.KLINES], _QTY_COLUMNS[FileKind.KLINES] = (1, 2, 3, 4), (5,)


@dataclass(frozen=True, slots=True)
class PublicFile:
    path: Path
    symbol: str  # as listed, e.g. "BTCUSDT", "BTCUSD_PERP"
    kind: FileKind
    date: str  # "2024-01-01" (daily) or "2024-01" (monthly), as in the name
    market: Market
    interval: str = ""  # a trade-kline file's interval ("1m", …, "1M")


def market_of_symbol(symbol: str) -> Market:
    """COIN-M symbols are pairs on USD (``BTCUSD_PERP``, ``ETHUSD_240329``); USDⓈ-M ones
    end in a stablecoin (``BTCUSDT``, ``BTCUSDT_240329``)."""
    pair = symbol.partition("_")[0]
    return Market.CM if pair.endswith("USD") else Market.UM


def identify(path: Path) -> PublicFile | None:
    """What a file is, from its name (and a ``/um/`` or ``/cm/`` folder, if any); None when
    the name is not one of Binance's."""
    match = _NAME.match(path.name)
    if match is None:
        return None
    symbol = match["symbol"]
    interval = KLINE_FILE_INTERVALS.get(match["kind"], "")
    if interval:  # a kline: a price kline or a trade kline, only its folder says
        parts = path.parent.parts
        folder = next((_KLINE_FOLDERS[p] for p in reversed(parts) if p in _KLINE_FOLDERS), None)
        if folder is not None and interval == "1m":
            kind, interval = folder, ""
        elif FileKind.KLINES.value in parts:
            kind = FileKind.KLINES
        else:
            return None
    else:
        kind = FileKind(match["kind"])
    market = market_of_symbol(symbol)
    for part in reversed(path.parent.parts):  # the nearest um/cm folder (Binance's layout)
        if part in ("um", "cm"):
            market = Market(part)
            break
    return PublicFile(path, symbol, kind, match["date"], market, interval)


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if n.endswith(".csv")]
        if len(names) != 1:
            archive.close()
            raise ValueError(f"{path}: expected one CSV inside, found {names or 'none'}")
        return archive.open(names[0])
    return path.open("rb")


def size_of(path: Path) -> int:
    """Bytes of CSV the file holds (uncompressed), for progress."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist() if info.filename.endswith(".csv"))
    return path.stat().st_size


def lines(path: Path) -> Iterator[bytes]:
    """The data lines of a file, the header (if any) skipped, line ends stripped."""
    for chunk in line_chunks(path):
        yield from chunk


# Read in blocks this large and split in one step: a line at a time through ``zipfile``'s
# readline costs more than converting the line's fields.
_BLOCK = 1 << 20


def line_chunks(path: Path) -> Iterator[list[bytes]]:
    """``lines`` a block at a time: each list holds the data lines of ~1 MiB of the file."""
    with _open(path) as raw:
        first = True
        rest = b""
        while True:
            block = raw.read(_BLOCK)
            if not block:
                break
            cut = block.rfind(b"\n") + 1
            if not cut:
                rest += block
                continue
            text, rest = rest + block[:cut], block[cut:]
            chunk = _split(text)
            if first and chunk:
                first = False
                if not chunk[0][:1].isdigit():
                    del chunk[0]  # a header row
            yield chunk
        if rest:
            chunk = _split(rest + b"\n")
            if first and chunk and not chunk[0][:1].isdigit():
                del chunk[0]
            yield chunk


def _split(text: bytes) -> list[bytes]:
    """Complete lines (``text`` ends with a line end) without their ends or empty lines."""
    chunk = text.split(b"\n")
    chunk.pop()  # after the last line end
    if b"\r" in text:
        chunk = [line.rstrip(b"\r") for line in chunk]
    if b"" in chunk:
        chunk = [line for line in chunk if line]
    return chunk


# The updates built as the tuples they are, skipping their constructors' Python frame (a
# NamedTuple's ``__new__``): ``rows`` makes one per row. The fields go in order, all given.
_top_of_book = cast(Callable[[tuple[Any, ...]], TopOfBook], functools.partial(tuple.__new__, TopOfBook))
_aggregate = cast(Callable[[tuple[Any, ...]], AggTrade], functools.partial(tuple.__new__, AggTrade))
_trade = cast(Callable[[tuple[Any, ...]], Trade], functools.partial(tuple.__new__, Trade))


def sample_decimals(file: PublicFile, rows_to_read: int = 5000) -> tuple[int, int, str]:
    """The finest price and quantity the first rows use, to size an instrument's units, and
    the first price (``""``: none), where its market stood (``replay_instrument``)."""
    price_cols, qty_cols = _PRICE_COLUMNS[file.kind], _QTY_COLUMNS[file.kind]
    price_d = qty_d = 0
    first = ""
    try:
        for i, line in enumerate(lines(file.path)):
            if i >= rows_to_read:
                break
            fields = line.split(b",")
            if not first and price_cols and above_zero(text := fields[price_cols[0]]):
                first = text.decode()
            for c in price_cols:
                price_d = max(price_d, decimals_of(fields[c]))
            for c in qty_cols:
                qty_d = max(qty_d, decimals_of(fields[c]))
    except IndexError:
        where = f"{file.path.name}, data row {i + 1}"
        raise ValueError(f"{where}: too few columns for {file.kind.value}") from None
    except (OSError, zlib.error, zipfile.BadZipFile) as exc:
        raise ValueError(f"{file.path.name}: unreadable: {exc}") from None
    return price_d, qty_d, first


class RowBlock(NamedTuple):
    """A block of one file's rows (~1 MiB of it) as columns: the replay core takes a file a
    time window at a time, in bulk (``feeds/replay/runs.py``), never row by row.

    ``columns`` are the fields of the kind's update after its symbol, in its order
    (``TopOfBook``: update id, T, E, bid, bid qty, ask, ask qty; ``AggTrade``: agg id,
    first and last trade id, T, price, qty, buyer is maker; ``Trade``: id, T, price, qty,
    buyer is maker), prices and quantities in integer units. ``times`` is each row's time
    (ms) as the replay plays it: the time column, never stepping back (see ``blocks``)."""

    times: list[int]
    columns: tuple[list[Any], ...]
    # bookTicker rows (``tops_as_texts``): prices and sizes are the texts the payloads carry
    # as they are (``units.fixed_texts``, ``plant_runs.apply_tops``), not units
    texts: bool = False


def blocks(
    file: PublicFile,
    price_decimals: int,
    qty_decimals: int,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    progress: list[int] | None = None,
    tops_as_texts: bool = False,
) -> Iterator[RowBlock]:
    """The file's rows between ``start_ms`` and ``end_ms`` (inclusive) a block at a time;
    a block is never empty. ``progress[0]`` is advanced by the bytes read (a block's at a
    time), for a progress display. ``tops_as_texts``: a bookTicker block whose prices and
    sizes are written as the payloads write them keeps them as texts (``RowBlock.texts``).

    bookTicker rows are in update-id order and their E can step back a little: such a row
    is played when due by the latest time so far (its payload keeps its own E)."""
    kind = file.kind
    start = -1 if start_ms is None else start_ms
    end = 1 << 62 if end_ms is None else end_ms
    # A day's rows repeat a few thousand prices and sizes: each text is converted once.
    price, qty = bytes_units(price_decimals), bytes_units(qty_decimals)
    counter = progress if progress is not None else [0]
    number = latest = 0  # data rows before this block; the latest time so far
    skipped = [0]  # rows skipped for finer digits so far
    texts = (price_decimals, qty_decimals) if tops_as_texts and kind is FileKind.BOOK_TICKER else None
    for chunk in line_chunks(file.path):
        counter[0] += sum(map(len, chunk)) + len(chunk)
        try:
            recorded, columns, as_texts = _columns(chunk, kind, price, qty, texts)
        except (IndexError, ValueError):  # FinerDigits too: the row by row path says which
            recorded, columns = _row_by_row(file, chunk, number, price, qty, skipped)
            as_texts = False
        number += len(chunk)
        if not recorded:
            continue
        times = list(itertools.accumulate(recorded, max, initial=latest))
        del times[0]
        latest = times[-1]
        lo = bisect.bisect_left(times, start) if times[0] < start else 0
        hi = bisect.bisect_right(times, end) if latest > end else len(times)
        if lo or hi < len(times):
            times = times[lo:hi]
            columns = tuple(column[lo:hi] for column in columns)
        if times:
            yield RowBlock(times, columns, as_texts)
        if latest > end:
            return


def _columns(
    chunk: list[bytes],
    kind: FileKind,
    price: Remembered[bytes, int],
    qty: Remembered[bytes, int],
    texts: tuple[int, int] | None = None,
) -> tuple[list[int], tuple[list[Any], ...], bool]:
    """A chunk's columns in one pass over all its fields: one split of the chunk, each
    column converted in C (a JSON array of integers or booleans, a ``map`` of the prices'
    and sizes' remembered units), and whether the prices and sizes were kept as texts
    instead: ``texts`` gives the (price, size) decimals they must be written at. Raises on
    any row this cannot take as it is (a row of another width, a field that is no number,
    finer digits)."""
    if not chunk:
        return [], (), False
    width = chunk[0].count(b",") + 1
    fields = b",".join(chunk).split(b",")
    if len(fields) != width * len(chunk) or len(set(map(bytes.count, chunk, itertools.repeat(b",")))) != 1:
        raise ValueError("rows of different widths")
    layout = _LAYOUT[kind]
    if width <= _WIDEST[kind]:  # every row short of a column: its columns were empty, its rows lost
        raise ValueError("too few columns")
    raw: list[list[Any]] = [fields[c::width] for c, _ in layout]
    as_texts = False
    if texts is not None:  # the prices and sizes as the payloads write them, if all are
        written = [
            fixed_texts(column, texts[1] if how == _QTY else texts[0]) if how in (_PRICE, _QTY) else column
            for column, (_, how) in zip(raw, layout, strict=True)
        ]
        if None not in written:
            raw, as_texts = cast(list[list[Any]], written), True
    convert = (ints, price.column, qty.column, makers)
    columns: tuple[list[Any], ...] = tuple(
        column if as_texts and how in (_PRICE, _QTY) else convert[how](column)
        for column, (_, how) in zip(raw, layout, strict=True)
    )
    return columns[_TIME_FIELD[kind]], columns, as_texts


def _row_by_row(
    file: PublicFile,
    chunk: list[bytes],
    before: int,
    price: Remembered[bytes, int],
    qty: Remembered[bytes, int],
    skipped: list[int],
) -> tuple[list[int], tuple[list[Any], ...]]:
    """``_columns`` a row at a time, for a chunk that has a row it cannot take: a row with
    finer digits than the instrument's is skipped, loudly; any other bad row is an error
    naming the file and the row (``before``: the file's data rows before the chunk)."""
    layout = _LAYOUT[file.kind]
    converted: list[tuple[Any, ...]] = []
    f: list[bytes] = []
    for number, line in enumerate(chunk, before + 1):  # data rows are numbered from 1
        f = line.split(b",")
        try:
            converted.append(tuple(
                int(f[c]) if how == _INT else price[f[c]] if how == _PRICE else qty[f[c]] if how == _QTY
                else is_true(f[c])
                for c, how in layout
            ))  # fmt: skip
        except FinerDigits as exc:
            # The instrument's digits were fixed from the first rows and are already
            # served (exchangeInfo): a finer row cannot be represented. Skip it, loudly.
            skipped[0] += 1
            if skipped[0] & (skipped[0] - 1) == 0:
                where = f"{file.path.name}, data row {number}"
                log.warning("%s: %s: %d rows skipped so far", where, exc, skipped[0])
        except (IndexError, ValueError) as exc:
            raise unread_row(file.path.name, number, exc, b",".join(f)) from None
    columns = tuple(map(list, zip(*converted, strict=True))) if converted else ()
    return (columns[_TIME_FIELD[file.kind]] if converted else []), columns


def rows(
    file: PublicFile,
    price_decimals: int,
    qty_decimals: int,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    alone: bool = True,
    progress: list[int] | None = None,
    index: int = 0,
) -> Iterator[tuple[int, int, TopOfBook | Trade | AggTrade]]:
    """``(time µs, index, update)`` for each row of ``blocks``: ready to merge with other
    files' rows (``index`` breaks ties in time).

    ``alone``: the symbol has no file of the other trade kind. When it has both a trades
    and an aggTrades file, only the trades feed the statistics (``in_stats`` False on the
    aggregates) and `@aggTrade` carries the recorded aggregates (``as_aggregate`` False on
    the trades); alone, either kind does both.
    """
    symbol, kind = file.symbol, file.kind
    make: Callable[[tuple[Any, ...]], TopOfBook | Trade | AggTrade]
    tail: tuple[Iterator[bool | int], ...] = ()
    if kind is FileKind.BOOK_TICKER:
        make = _top_of_book
    else:
        make = _aggregate if kind is FileKind.AGG_TRADES else _trade
    for times, columns, _ in blocks(
        file, price_decimals, qty_decimals, start_ms=start_ms, end_ms=end_ms, progress=progress
    ):
        if kind is FileKind.AGG_TRADES:
            tail = (itertools.repeat(alone),)
        elif kind is not FileKind.BOOK_TICKER:  # a trade's agg_id: 0, the file has none
            tail = (itertools.repeat(alone), itertools.repeat(0))
        updates = map(make, zip(itertools.repeat(symbol), *columns, *tail))
        yield from zip(map((1000).__mul__, times), itertools.repeat(index), updates)
