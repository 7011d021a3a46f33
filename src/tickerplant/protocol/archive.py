"""Binance's public archive (data.binance.vision, spec §9) served from the simulated past:
``GET /data/futures/<um|cm>/<daily|monthly>/<type>/<SYMBOL>/[<interval>/]<file>.zip`` and
its ``.CHECKSUM``, on the market listeners, so that a tool that downloads the archive works
against tickerplant by base URL.

**Files** (§9.1, §9.2): each zip holds one CSV of the same base name, with its header line;
``<file>.zip.CHECKSUM`` is ``<sha256>  <file>.zip``.

| type | files | rows |
| --- | --- | --- |
| ``klines`` | ``<SYMBOL>-<interval>-<date>``; ``1mo`` for ``1M`` | REST klines' 12 columns (§7.8) |
| ``markPriceKlines``, ``premiumIndexKlines`` | the same | the price klines' rows (§7.8) |
| ``indexPriceKlines`` | the same, the pair for the symbol | the same |
| ``fundingRate`` | monthly, ``<SYMBOL>-fundingRate-<YYYY-MM>`` | ``calc_time``, 8, the rate |
| ``aggTrades``, ``trades`` | daily, ``<SYMBOL>-aggTrades-<date>`` | REST's, ``true``/``false`` |

A daily file covers one UTC day, a monthly one a calendar month; the intervals are
Binance's (a daily folder up to ``1d``; a monthly one up to ``1mo``). As Binance publishes
a day's file the next day, a file is served once its whole span lies before the live start
(the past's end) and, from the listing's day, after the listing. Anything else is 404 with
S3's ``NoSuchKey`` body, as data.binance.vision answers.

Trades are daily files only (Binance ended monthly files of some USDⓈ-M series, §9.2): a
day of BTCUSDT at the default rate is ~600,000 trades, ~10 MB zipped, ~2 s to make.

**Bytes.** The rows are the REST answers' (the same past, the same texts), and the zip is
the same bytes whenever made (its entry dated the file's first day, deflated at level 6),
so a checksum holds across servers of one seed. A file is made in pieces (an hour of its
rows, or the parts of a longer kline, a piece: ``later.py``), at most ``BUILDS_AT_ONCE`` at
a time in a process (the rest wait their turn, pieces of nothing); the files made are kept
up to ``KEPT_BYTES`` in all, their checksums longer (``CHECKSUMS_KEPT``).
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date
from typing import NamedTuple, Protocol

from tickerplant.market.derivatives.mark_price import FUNDING_INTERVAL_MS
from tickerplant.market.history.marks import PastFunding
from tickerplant.market.history.path import Lru
from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.market.klines.candles import BASE_DECIMALS, INTERVALS, close_time, open_time
from tickerplant.market.klines.price_candles import PriceKind
from tickerplant.market.payloads.builders import quote_units
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS, fixed
from tickerplant.market.updates import MARK_DECIMALS
from tickerplant.protocol.derivatives_data import price_row
from tickerplant.protocol.later import Later, Pending
from tickerplant.protocol.market_data import rest_row
from tickerplant.protocol.past import PastAnswers

__all__ = [
    "BUILDS_AT_ONCE", "KEPT_BYTES", "Archive", "ArchiveAnswer", "Pack", "Packing", "is_archive_path",
    "missing_file",
]  # fmt: skip

BUILDS_AT_ONCE = 4  # files being made in a process at once
KEPT_BYTES = 64 << 20  # made files kept, in all
CHECKSUMS_KEPT = 16_384
_PREFIX = "/data/futures/"
_PATH = re.compile(
    r"/data/futures/(um|cm)/(daily|monthly)/([A-Za-z]+)/([A-Z0-9_]+)/(?:([0-9a-z]+)/)?"
    r"([A-Za-z0-9_-]+)\.zip(\.CHECKSUM)?"
)
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_PRICE_KINDS = {
    "markPriceKlines": PriceKind.MARK,
    "indexPriceKlines": PriceKind.INDEX,
    "premiumIndexKlines": PriceKind.PREMIUM,
}
_DAILY_INTERVALS = INTERVALS[: INTERVALS.index("1d") + 1]
_KLINE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
)
_FUNDING_HEADER = "calc_time,funding_interval_hours,last_funding_rate\n"
_AGG_HEADER = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
_UM_TRADES_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker\n"
_CM_TRADES_HEADER = "id,price,qty,base_qty,time,is_buyer_maker\n"
_NO_SUCH_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message></Error>"
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ARCHIVES: weakref.WeakKeyDictionary[PastAnswers, Archive] = weakref.WeakKeyDictionary()


class ArchiveAnswer(NamedTuple):
    status: int
    content_type: bytes
    body: bytes


_MISSING = ArchiveAnswer(404, b"application/xml", _NO_SUCH_KEY)


def is_archive_path(path: str) -> bool:
    return path.startswith(_PREFIX)


def missing_file() -> ArchiveAnswer:
    """S3's 404 for a key it does not hold (a source without a past holds none)."""
    return _MISSING


class Packing(Protocol):
    """A zip of one CSV being written (``gateway/archive_files.py``: the cores write no
    file formats' containers)."""

    def write(self, data: bytes) -> None: ...

    def finish(self) -> bytes:
        """The zip's bytes: the same for the same name, day and data."""
        ...

    def discard(self) -> None: ...


# (the CSV's name, the file's first day, for its entry's date) -> the zip being written
Pack = Callable[[str, date], Packing]


class _File(NamedTuple):
    """One file the archive holds: what it covers and how its rows are made."""

    name: str  # the zip's name, without ``.zip``
    first_ms: int
    end_ms: int  # exclusive
    rows: Callable[[int, int], list[str]]  # CSV lines of what opens in [a, b)
    pieces: Callable[[int, int], Iterator[Pending | None]]  # what ``rows`` reads, made a piece at a time
    chunk_ms: int  # the span one piece of rows covers
    header: str


class Archive:
    """The files of ``past``'s instruments (both markets), made on demand: one a process,
    shared by its listeners (``of``)."""

    @classmethod
    def of(cls, past: PastAnswers, pack: Pack) -> Archive:
        """``past``'s archive (made once: its kept files and its builds are the process')."""
        found = _ARCHIVES.get(past)
        if found is None:
            found = _ARCHIVES[past] = cls(past, pack)
        return found

    def __init__(self, past: PastAnswers, pack: Pack) -> None:
        """``pack``: makes a zip of one CSV (``Packing``)."""
        self.past = past
        self._pack = pack
        self._symbols: dict[tuple[Market, str], Instrument] = {
            (inst.market, inst.symbol): inst for inst in past.past.instruments.values()
        }
        # a pair's index: its perpetual's (or first contract's), as indexPriceKlines reads it
        self._pairs: dict[tuple[Market, str], Instrument] = {}
        for inst in sorted(
            past.past.instruments.values(), key=lambda i: i.contract_type is not ContractType.PERPETUAL
        ):
            self._pairs.setdefault((inst.market, inst.pair), inst)
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._kept_bytes = 0
        self._checksums: Lru[str, bytes] = Lru(CHECKSUMS_KEPT)
        self.building = 0  # files being made now

    def begin(self, path: str) -> ArchiveAnswer | Later[ArchiveAnswer]:
        """The answer to ``GET path``: at once when kept (or missing), else made in pieces."""
        match = _PATH.fullmatch(path)
        file = self._file(match) if match is not None else None
        if match is None or file is None:
            return _MISSING
        zip_name = file.name + ".zip"
        checksum = match.group(7) is not None
        # kept by its path, not its name: a day's klines, mark, index and premium index
        # klines of one symbol are all ``BTCUSDT-1m-<day>.zip`` (a pair's index is its symbol's)
        key = match.group(0).removesuffix(".CHECKSUM")
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
            return self._answer(key, kept, checksum)
        if checksum and key in self._checksums:
            return ArchiveAnswer(200, b"application/octet-stream", self._checksums.get(key, bytes))
        made: list[bytes] = []
        def finish() -> ArchiveAnswer:
            return self._answer(key, self._keep(key, zip_name, made[0]), checksum)

        return Later(self._build(file, made), finish)

    def kept_bytes(self) -> int:
        """Bytes of made files kept (at most ``KEPT_BYTES``)."""
        return self._kept_bytes

    # -- a file's rows -------------------------------------------------------------------

    def _file(self, match: re.Match[str]) -> _File | None:
        market = Market.UM if match.group(1) == "um" else Market.CM
        daily = match.group(2) == "daily"
        kind, symbol, folder, name = match.group(3), match.group(4), match.group(5), match.group(6)
        span = self._span(name, daily)
        if span is None:
            return None
        first_ms, end_ms, stamp = span
        if kind == "fundingRate":
            inst = self._symbols.get((market, symbol))
            if daily or folder is not None or inst is None or name != f"{symbol}-fundingRate-{stamp}":
                return None
            if inst.contract_type is not ContractType.PERPETUAL:
                return None
            return self._funding_file(inst, name, first_ms, end_ms)
        if kind in ("aggTrades", "trades"):
            inst = self._symbols.get((market, symbol))
            if not daily or folder is not None or inst is None or name != f"{symbol}-{kind}-{stamp}":
                return None  # daily only: Binance ended some monthly series (§9.2, #443)
            return self._trade_file(inst, kind == "aggTrades", name, first_ms, end_ms)
        if folder is None or (kind != "klines" and kind not in _PRICE_KINDS):
            return None
        interval = "1M" if folder == "1mo" else folder
        if interval not in (_DAILY_INTERVALS if daily else INTERVALS) or name != f"{symbol}-{folder}-{stamp}":
            return None
        if kind == "indexPriceKlines":
            inst = self._pairs.get((market, symbol))
        else:
            inst = self._symbols.get((market, symbol))
        if inst is None:
            return None
        if kind == "klines":
            return self._kline_file(inst, interval, name, first_ms, end_ms)
        return self._price_file(inst, _PRICE_KINDS[kind], interval, name, first_ms, end_ms)

    def _span(self, name: str, daily: bool) -> tuple[int, int, str] | None:
        """The file's first instant, its end, and its date as named; None for a name
        without a date, or a span not wholly in the past."""
        stamp = "-".join(name.split("-")[-3:] if daily else name.split("-")[-2:])
        found = (_DAY if daily else _MONTH).fullmatch(stamp)
        if found is None:
            return None
        try:
            year, month = int(found.group(1)), int(found.group(2))
            day = date(year, month, int(found.group(3)) if daily else 1)
        except ValueError:
            return None
        first_ms = (day.toordinal() - _EPOCH_ORDINAL) * DAY_MS
        if daily:
            end_ms = first_ms + DAY_MS
        else:
            after = date(year + month // 12, month % 12 + 1, 1)
            end_ms = (after.toordinal() - _EPOCH_ORDINAL) * DAY_MS
        if end_ms > self.past.live_from_ms:
            return None  # published the day after (§9.1): never a span the present still holds
        return first_ms, end_ms, stamp

    def _listed(self, inst: Instrument, first_ms: int, end_ms: int) -> bool:
        return end_ms > self.past.past.tape(inst.symbol).first_minute * MINUTE_MS

    def _kline_file(
        self, inst: Instrument, interval: str, name: str, first_ms: int, end_ms: int
    ) -> _File | None:
        if not self._listed(inst, first_ms, end_ms):
            return None
        past, until, symbol = self.past.past, self.past.until_ms, inst.symbol

        def rows(a: int, b: int) -> list[str]:
            made = past.klines(symbol, interval, a, b - 1, 1 << 20, until)
            return [_line(rest_row(k, inst, inst.market)) for k in made]

        def pieces(a: int, b: int) -> Iterator[Pending | None]:
            return past.kline_pieces(symbol, interval, a, b - 1, 1 << 20, until)

        return _File(name, first_ms, end_ms, rows, pieces, _chunk(interval), _KLINE_HEADER)

    def _price_file(
        self, inst: Instrument, kind: PriceKind, interval: str, name: str, first_ms: int, end_ms: int
    ) -> _File | None:
        if not self._listed(inst, first_ms, end_ms):
            return None
        marks, until, symbol = self.past.marks, self.past.until_ms, inst.symbol

        def rows(a: int, b: int) -> list[str]:
            bars = marks.klines(symbol, kind, interval, a, b - 1, 1 << 20, until)
            return [_line(price_row(bar)) for bar in bars]

        def pieces(a: int, b: int) -> Iterator[Pending | None]:
            return marks.kline_pieces(symbol, kind, interval, a, b - 1, 1 << 20, until)

        return _File(name, first_ms, end_ms, rows, pieces, _chunk(interval), _KLINE_HEADER)

    def _funding_file(self, inst: Instrument, name: str, first_ms: int, end_ms: int) -> _File | None:
        if not self._listed(inst, first_ms, end_ms):
            return None
        marks, until, symbol = self.past.marks, self.past.until_ms, inst.symbol
        hours = FUNDING_INTERVAL_MS // HOUR_MS

        def rows(a: int, b: int) -> list[str]:
            return [_funding_line(f, hours) for f in marks.funding(symbol, a, b - 1, 1 << 20, until)]

        def pieces(a: int, b: int) -> Iterator[Pending | None]:
            return marks.funding_pieces(symbol, a, b - 1, 1 << 20, until)

        return _File(name, first_ms, end_ms, rows, pieces, DAY_MS, _FUNDING_HEADER)

    def _trade_file(
        self, inst: Instrument, aggregates: bool, name: str, first_ms: int, end_ms: int
    ) -> _File | None:
        if not self._listed(inst, first_ms, end_ms):
            return None
        tape = self.past.past.tape(inst.symbol)
        trades = self.past.trades_past
        numbered, trade_base = trades.numbered, trades.trade_base  # the server's ids
        pd, qd = inst.price_decimals, inst.qty_decimals
        um = inst.market is Market.UM
        quote_decimals = pd + qd if um else BASE_DECIMALS

        def rows(a: int, b: int) -> list[str]:
            lines: list[str] = []
            for minute in range(max(a // MINUTE_MS, tape.first_minute), b // MINUTE_MS):
                made = tape.minute(minute)
                if aggregates:  # the past's aggregate trades, their ids their own (§7.9)
                    for g in map(numbered, tape.aggregates(made)):
                        price, qty = fixed(g.price, pd), fixed(g.qty, qd)
                        maker = "true" if g.buyer_is_maker else "false"
                        lines.append(f"{g.agg_id},{price},{qty},{g.first_id},{g.last_id},{g.time_ms},{maker}\n")
                    continue
                for t in tape.trades(made):
                    price, qty = fixed(t.price, pd), fixed(t.qty, qd)
                    maker = "true" if t.buyer_is_maker else "false"
                    quote = fixed(quote_units(inst, t.price, t.qty), quote_decimals)
                    lines.append(f"{t.trade_id + trade_base},{price},{qty},{quote},{t.time_ms},{maker}\n")
            return lines

        header = _AGG_HEADER if aggregates else _UM_TRADES_HEADER if um else _CM_TRADES_HEADER
        return _File(name, first_ms, end_ms, rows, _nothing, MINUTE_MS, header)

    # -- a file's bytes ------------------------------------------------------------------

    def _build(self, file: _File, made: list[bytes]) -> Iterator[Pending | None]:
        """The zip of ``file``, a chunk of rows a piece, into ``made``; first its turn."""
        while self.building >= BUILDS_AT_ONCE:
            yield None  # others' files are being made: this one waits, a turn at a time
        self.building += 1
        packing = self._pack(file.name + ".csv", date.fromordinal(_EPOCH_ORDINAL + file.first_ms // DAY_MS))
        try:
            packing.write(file.header.encode())
            t = file.first_ms
            while t < file.end_ms:
                end = min(file.end_ms, t + file.chunk_ms)
                yield from file.pieces(t, end)
                lines = file.rows(t, end)
                if lines:
                    packing.write("".join(lines).encode())
                yield None
                t = end
            made.append(packing.finish())
        finally:
            self.building -= 1
            if not made:
                packing.discard()  # its client left before it was made

    def _keep(self, key: str, zip_name: str, body: bytes) -> bytes:
        """``body`` kept at ``key`` (its path), with its checksum line (which names the zip)."""
        checksum = b"%s  %s\n" % (hashlib.sha256(body).hexdigest().encode(), zip_name.encode())
        self._checksums.get(key, lambda: checksum)
        if len(body) <= KEPT_BYTES:
            self._kept[key] = body
            self._kept_bytes += len(body)
            while self._kept_bytes > KEPT_BYTES:
                _, dropped = self._kept.popitem(last=False)
                self._kept_bytes -= len(dropped)
        return body

    def _answer(self, key: str, body: bytes, checksum: bool) -> ArchiveAnswer:
        if checksum:
            return ArchiveAnswer(200, b"application/octet-stream", self._checksums.get(key, bytes))
        return ArchiveAnswer(200, b"application/zip", body)


def _chunk(interval: str) -> int:
    """The span of rows one piece makes: an hour of short klines, else one kline (whose
    parts ``pieces`` made first)."""
    if interval == "1M":
        return 31 * DAY_MS
    length = close_time(interval, open_time(interval, 0)) + 1
    return max(HOUR_MS, length)


def _nothing(a: int, b: int) -> Iterator[Pending | None]:
    """No parts to make first: a minute of trades is laid out as its rows are written."""
    return iter(())


def _line(row: list[int | str]) -> str:
    return ",".join(map(str, row)) + "\n"


def _funding_line(f: PastFunding, hours: int) -> str:
    return f"{f.funding_ms},{hours},{fixed(f.rate, MARK_DECIMALS)}\n"
