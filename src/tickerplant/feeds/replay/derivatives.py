"""Mark prices, index prices and funding from Binance's public files (spec §9): the
``markPriceKlines``, ``indexPriceKlines``, ``premiumIndexKlines`` (1-minute) and
``fundingRate`` files of a replay, as the ``MarkPrice``, ``IndexPrice`` and ``FundingRate``
updates a simulator would give the plant (``market/updates.py``), which formats and paces
them as it does the simulator's (``market/derivatives/mark_streams.py``).

What the files determine, and how (docs/replay.md says it for users):

- a symbol's mark price ``p`` is the close of its mark-price kline, given at the kline's
  close time (the minute's last millisecond): exact at that instant, then held for the
  next minute, so a push never shows a price ahead of the replay clock;
- the index ``i`` is the close of its pair's index-price kline, likewise; COIN-M pairs also
  get ``IndexPrice`` (`<pair>@indexPrice`); a symbol without an index file shows its mark;
- ``T`` is the next funding time of the funding file (the first ``calc_time`` after now,
  so a symbol funding every 4 hours shows that), else the next 00:00/08:00/16:00 UTC;
- ``r`` is the rate the funding file records for that next funding (what the estimate
  came to, known a little early: a file holds the past); without one, the estimate from
  the premium-index klines' closes since the last funding (``mark_price.funding_rate``
  of their average, as Binance estimates it from its premium samples); without either,
  the rate of a zero premium (the interest rate, 0.01 %);
- ``P`` (estimated settle price) is the mean of the index closes since the last whole
  half hour (``mark_price.SettleAverage``);
- the premium index (premiumIndexKlines, §7.8) is the close of its premium-index kline,
  given with the mark price of the same minute; a symbol without premium files has none,
  and the views derive one from ``p`` and ``i`` (``market/klines/price_candles.py``);
- each funding file row is a ``FundingRate`` at its ``calc_time`` with the last mark
  price given; they are given from the first row of the files, before the replay's
  start too, so that `GET fundingRate` has the files' history from the start.

Delivery contracts get ``r`` "" and ``T`` 0. Memory: the funding rows of the files (three
a day) and a few numbers per symbol and pair; klines are read a row at a time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from tickerplant.feeds.replay.file_columns import unread_row
from tickerplant.feeds.replay.public_files import FileKind, PublicFile, lines
from tickerplant.market.derivatives.mark_price import (
    INTEREST_RATE,
    PremiumAverage,
    SettleAverage,
    funding_rate,
    next_funding_ms,
)
from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.market.units import FinerDigits, bytes_to_units
from tickerplant.market.updates import MARK_DECIMALS, FundingRate, IndexPrice, MarketUpdate, MarkPrice

__all__ = ["derivative_events"]

# at equal times: the index and premium first, so a mark row sees them; funding last, at the
# mark of the minute that ended just before it
_ORDER = {
    FileKind.INDEX_KLINES: 0, FileKind.PREMIUM_KLINES: 1, FileKind.MARK_KLINES: 2, FileKind.FUNDING_RATE: 3
}  # fmt: skip
_CLOSE, _CLOSE_TIME = 4, 6  # kline columns (§9.2)


def _mark_units(text: bytes) -> int:
    """A file's decimal in ``MARK_DECIMALS`` units; rounded half up past 8 digits, and
    exponents ("1e-05", seen in older funding files) read too."""
    try:
        return bytes_to_units(text, MARK_DECIMALS)
    except (FinerDigits, ValueError):
        try:
            value = Decimal(text.decode())
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number") from None
        return int((value * 10**MARK_DECIMALS).to_integral_value(rounding="ROUND_HALF_UP"))


def _rows(file: PublicFile, key: str, progress: list[int]) -> Iterator[tuple[int, int, str, int]]:
    """``(time ms, order, key, value)`` of one file: a kline's close at its close time, a
    funding row's rate at its calc time."""
    order = _ORDER[file.kind]
    funding = file.kind is FileKind.FUNDING_RATE
    for number, line in enumerate(lines(file.path), 1):
        progress[0] += len(line) + 1
        f = line.split(b",")
        try:
            if funding:
                yield int(f[0]), order, key, _mark_units(f[2])
            else:
                yield int(f[_CLOSE_TIME]), order, key, _mark_units(f[_CLOSE])
        except (IndexError, ValueError) as exc:
            raise unread_row(file.path.name, number, exc, line) from None


class _Contract:
    __slots__ = (
        "funding", "inst", "interval_end", "last_premium", "mark", "next", "perpetual", "premium", "settle"
    )  # fmt: skip

    def __init__(self, inst: Instrument, funding: list[tuple[int, int]]) -> None:
        self.inst = inst
        self.perpetual = inst.contract_type is ContractType.PERPETUAL
        self.funding = funding  # (calc time, rate) of the funding file, ascending
        self.next = 0  # index into ``funding`` of the first one after now
        self.mark = 0
        self.premium = PremiumAverage()
        self.last_premium: int | None = None  # the last premium-index close; None: no file
        self.interval_end = 0  # the funding time the premium samples lead to
        self.settle = SettleAverage()

    def next_funding(self, now_ms: int) -> tuple[int, int | None]:
        """(the next funding time after ``now_ms``, its rate in the file or None)."""
        funding = self.funding
        while self.next < len(funding) and funding[self.next][0] <= now_ms:
            self.next += 1
        if self.next < len(funding):
            return funding[self.next]
        if funding and now_ms - funding[-1][0] < 12 * 3_600_000:
            # past the file's last row: the interval it had (4 h or 8 h) carries on
            interval = funding[-1][0] - funding[-2][0] if len(funding) > 1 else 0
            if interval > 0:
                return funding[-1][0] + ((now_ms - funding[-1][0]) // interval + 1) * interval, None
        return next_funding_ms(now_ms), None


def derivative_events(
    files: Sequence[PublicFile],
    served: Mapping[str, Instrument],
    *,
    start_ms: int | None,
    end_ms: int | None,
    progress: list[int],
    index: int,
) -> Iterator[tuple[int, int, MarketUpdate]]:
    """``(time µs, index, update)`` of the derivative files, in time order: mark and index
    prices from ``start_ms`` (the warm-up's start) to ``end_ms``, funding events up to
    ``end_ms`` from the first. Files of a symbol (or pair) not ``served`` are not read."""
    funding: dict[str, list[tuple[int, int]]] = {}
    inputs: list[Iterator[tuple[int, int, str, int]]] = []
    pairs = {(inst.market, inst.pair) for inst in served.values()}
    for file in sorted(files, key=lambda f: (f.kind.value, f.symbol, f.date)):
        if file.kind is FileKind.FUNDING_RATE:
            if file.symbol in served:
                rows = funding.setdefault(file.symbol, [])
                rows.extend((t, rate) for t, _, _, rate in _rows(file, file.symbol, progress))
        elif file.kind is FileKind.INDEX_KLINES:
            if (file.market, file.symbol) in pairs:
                inputs.append(_rows(file, f"{file.market.value}:{file.symbol}", progress))
        elif file.symbol in served:
            inputs.append(_rows(file, file.symbol, progress))
    contracts: dict[str, _Contract] = {}
    for symbol, inst in served.items():
        rows = sorted(set(funding.get(symbol, ())))
        contracts[symbol] = _Contract(inst, rows)
        if rows and contracts[symbol].perpetual:
            inputs.append(iter([(t, _ORDER[FileKind.FUNDING_RATE], symbol, rate) for t, rate in rows]))
    by_pair: dict[str, list[_Contract]] = {}
    for contract in contracts.values():
        by_pair.setdefault(f"{contract.inst.market.value}:{contract.inst.pair}", []).append(contract)
    start = -1 if start_ms is None else start_ms
    end = 1 << 62 if end_ms is None else end_ms
    indexes: dict[str, int] = {}  # "market:pair" -> its last index close
    cm_pairs = {f"{Market.CM.value}:{inst.pair}" for inst in served.values() if inst.market is Market.CM}
    for t, order, key, value in heapq.merge(*inputs):
        if t > end:
            return
        if order == _ORDER[FileKind.INDEX_KLINES]:
            indexes[key] = value
            for contract in by_pair.get(key, ()):
                contract.settle.add(t, value)
            if key in cm_pairs and t >= start:
                yield t * 1000, index, IndexPrice(key.partition(":")[2], t, value)
            continue
        contract = contracts[key]
        if order == _ORDER[FileKind.FUNDING_RATE]:
            yield t * 1000, index, FundingRate(key, t, value, contract.mark)
            if contract.mark and t >= start:  # the next funding's time and rate start now
                yield t * 1000, index, _mark_price(contract, t, indexes)
            continue
        if order == _ORDER[FileKind.PREMIUM_KLINES]:
            next_ms = contract.next_funding(t)[0] if contract.perpetual else 0
            if next_ms != contract.interval_end:
                contract.interval_end = next_ms
                contract.premium.reset()
            contract.premium.add(value)
            contract.last_premium = value
            continue
        contract.mark = value
        if t >= start:
            yield t * 1000, index, _mark_price(contract, t, indexes)


def _mark_price(contract: _Contract, t: int, indexes: Mapping[str, int]) -> MarkPrice:
    """``contract``'s mark price at ``t``: its last mark, its pair's last index."""
    inst, last = contract.inst, contract.last_premium
    index_price = indexes.get(f"{inst.market.value}:{inst.pair}", contract.mark)
    settle = contract.settle.value() or index_price
    if not contract.perpetual:
        return MarkPrice(inst.symbol, t, contract.mark, index_price, settle, None, None, 0, last)
    next_ms, rate = contract.next_funding(t)
    if rate is None:
        premium = contract.premium.average() if contract.interval_end == next_ms else 0
        rate = funding_rate(premium)
    return MarkPrice(inst.symbol, t, contract.mark, index_price, settle, rate, INTEREST_RATE, next_ms, last)
