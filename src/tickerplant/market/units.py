"""Units: exact decimals as integer counts, and time in milliseconds — the one home of both.

Prices and quantities travel as JSON strings (spec §4.0) and are held as integer counts of
``10**-decimals`` of the instrument, so arithmetic is exact and writing them back is a
string operation. Times are integer Unix milliseconds, the unit Binance uses on the wire.

- ``fixed`` writes units with exactly ``decimals`` digits after the point, as Binance does;
- ``to_units`` (text; ``texts_to_units`` a column of them) and ``bytes_to_units`` (the
  replay's hot path over file bytes) read them back exactly and refuse finer digits
  (``FinerDigits``);
- ``decimals_of`` counts the digits after the point that carry value ("0.10" -> 1), and
  ``places_written`` the digits as written ("0.10" -> 2: a tick size printed with a
  symbol's price precision).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TypeVar

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "MINUTE_MS",
    "SECOND_MS",
    "WEEK_MS",
    "YEAR_MS",
    "FinerDigits",
    "above_zero",
    "bytes_to_units",
    "decimals_of",
    "fixed",
    "fixed_format",
    "fixed_texts",
    "mark_or_mid",
    "places_written",
    "texts_to_units",
    "to_units",
]

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
YEAR_MS = 365 * DAY_MS  # a calendar year of 365 days: what a contango accrues over

_POW10 = [10**i for i in range(19)]


def mark_or_mid(
    mark: Fraction | None, levels: Callable[[bool], Iterable[tuple[int, int]]], decimals: int
) -> Fraction | None:
    """The price a mark stands for: ``mark``, else, before any (a replay without mark
    prices), the mid of the book's best levels (``levels(bids)``, price units at
    ``decimals``); None when a side is empty. The venue's mark (``venue/engine.Engine.mark``)
    and the asset index (``protocol/derivatives_data``) read it alike."""
    if mark is not None:
        return mark
    bid, ask = next(iter(levels(True)), None), next(iter(levels(False)), None)
    if bid is None or ask is None:
        return None
    return Fraction(bid[0] + ask[0], 2 * 10**decimals)


class FinerDigits(ValueError):
    """A number with more digits after the point than the instrument's units hold."""


def fixed(units: int, decimals: int) -> str:
    """``units * 10**-decimals`` written with exactly ``decimals`` digits after the point."""
    if decimals <= 0:
        return str(units)
    if units >= 0:
        digits = str(units)
        if len(digits) > decimals:  # the common case: no padding, no sign
            return f"{digits[:-decimals]}.{digits[-decimals:]}"
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def fixed_format(decimals: int, before: bytes = b"", after: bytes = b"") -> tuple[int, bytes]:
    """``fixed`` for hot paths: the ``scale`` and bytes ``format`` with which
    ``format % divmod(units, scale)`` is ``before + fixed(units, decimals) + after`` for
    ``units >= 0``, in one C-level step instead of ``fixed``'s string steps."""
    if decimals <= 0:
        return 1, before + b"%d%.0a" + after  # the remainder (0) written to no characters
    return 10**decimals, before + b"%d.%0" + str(decimals).encode() + b"d" + after


def to_units(text: str, decimals: int) -> int:
    """The inverse of ``fixed``: a decimal string as an integer count of 10**-decimals.

    Strings written by ``fixed`` take the fast path; any other exact decimal (an upstream
    that writes "25.35190000", a catalogue's "0.1") is converted exactly. Finer digits
    raise ``FinerDigits``; text that is no finite number raises ``ValueError``.
    """
    whole, dot, frac = text.partition(".")
    if len(frac) == decimals and whole.isdigit() and (not dot or frac.isdigit()):
        return int(whole + frac)
    try:
        scaled = Decimal(text).scaleb(decimals)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not scaled.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if scaled != scaled.to_integral_value():
        raise FinerDigits(f"{text!r} has more than {decimals} decimals")
    return int(scaled)


@functools.cache
def _written_by_fixed(decimals: int) -> re.Pattern[str]:
    """Texts joined by commas, each as ``fixed`` writes it (ASCII digits, exactly
    ``decimals`` after the point)."""
    one = r"[0-9]+" if decimals <= 0 else rf"[0-9]+\.[0-9]{{{decimals}}}"
    return re.compile(rf"(?:{one},)*{one}")


@functools.cache
def _fixed_written(decimals: int, written: int) -> re.Pattern[bytes]:
    """Byte texts each followed by a comma, each as ``fixed`` writes a non-negative count
    at ``decimals`` (no sign, no leading zero but a lone one before the point), then zeros
    up to ``written`` decimals. Possessive: a column is one pass, no backtracking."""
    one = rb"(?!0\d)\d++"
    if written:
        one += rb"\.\d{%d}0{%d}" % (decimals, written - decimals)
    return re.compile(rb"(?:%b,)++" % one)


def fixed_texts(texts: Sequence[bytes], decimals: int) -> list[bytes] | None:
    """The texts as ``fixed`` writes them at ``decimals``, when each is one written with
    the first's number of decimals, those past ``decimals`` zeros (Binance's bookTicker
    files write 8): a column a payload may carry without its units; None for any other.
    One regular expression checks the column, one ``split`` at the zeros cuts it."""
    if not texts:
        return None
    first = texts[0]
    dot = first.find(b".")
    written = 0 if dot < 0 else len(first) - dot - 1
    if written < decimals:
        return None
    joined = b",".join(texts) + b","
    # (a comma inside a text would read as two: the commas counted are the joins alone)
    if joined.count(b",") != len(texts) or not _fixed_written(decimals, written).fullmatch(joined):
        return None
    # each text ends in the one comma after its extra zeros (and point, at 0 decimals)
    cut = joined.split((b"" if decimals or not written else b".") + b"0" * (written - decimals) + b",")
    cut.pop()  # after the last
    return cut


def texts_to_units(texts: Sequence[str], decimals: int) -> list[int]:
    """``to_units`` of each text, the same values and errors: a column of texts written by
    ``fixed`` (every payload the plant writes) is checked by one regular expression and
    converted by C-level steps, ~45 % less a text than a call each (a market view's backlog
    of trades, ``market/plant/view.py``); any other column goes text by text."""
    joined = ",".join(texts)
    # a comma inside a text would read as two: the commas counted are the joins alone
    if texts and joined.count(",") == len(texts) - 1 and _written_by_fixed(decimals).fullmatch(joined):
        return list(map(int, joined.replace(".", "").split(",")))
    return [to_units(text, decimals) for text in texts]


def bytes_to_units(text: bytes, decimals: int) -> int:
    """``to_units`` for the plain decimals of a file's bytes ("26.67000000"), without a
    Decimal on the way: the replay converts every price and quantity of every row."""
    whole, _, frac = text.partition(b".")
    n = len(frac)
    if n == decimals:
        value: int = int(whole + frac)
        return value
    if n < decimals:
        value = int(whole + frac) * _POW10[decimals - n]
        return value
    if frac[decimals:].strip(b"0"):
        raise FinerDigits(f"{text.decode()!r} has more than {decimals} decimals")
    value = int(whole + frac[:decimals])
    return value


K = TypeVar("K")
V = TypeVar("V")


class Remembered(dict[K, V]):
    """``convert(key)``, remembered: ``table[key]`` is a dict lookup for a key converted
    before, and ``table.column(column)`` converts a column in C (a replay's
    prices and sizes repeat a few thousand values). Bounded: cleared when it holds
    ``size`` keys. A key ``convert`` raises on is not kept: it raises each time."""

    def __init__(self, convert: Callable[[K], V], size: int) -> None:
        super().__init__()
        self._convert = convert
        self._size = size

    def column(self, keys: Iterable[K]) -> list[V]:
        """``table[key]`` of each key, by a C-level ``map``."""
        return list(map(self.__getitem__, keys))

    def __missing__(self, key: K) -> V:
        value = self._convert(key)
        if len(self) >= self._size:
            self.clear()
        self[key] = value
        return value


def bytes_units(decimals: int) -> Remembered[bytes, int]:
    """``bytes_to_units`` at ``decimals``, remembered (one table per public file being
    read, ``feeds/replay/public_files.py``; 16,384 texts at most)."""
    return Remembered(functools.partial(bytes_to_units, decimals=decimals), 1 << 14)


def decimals_of(text: str | bytes) -> int:
    """Digits after the point that carry value: "26.67000000" -> 2, "1000" -> 0."""
    if isinstance(text, bytes):
        return len(text.partition(b".")[2].rstrip(b"0"))
    return len(text.partition(".")[2].rstrip("0"))


def above_zero(text: str | bytes) -> bool:
    """A plain decimal as a payload or a file writes a price ("412.50", no sign nor exponent),
    above 0: the first price a replayed symbol's files hold (``feeds/replay``)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    whole, point, frac = text.partition(".")
    return whole.isdigit() and (not point or frac.isdigit()) and bool(text.strip("0."))


def places_written(text: str) -> int:
    """Digits after the point as written, zeros included: "0.10" -> 2."""
    return len(text.partition(".")[2])
