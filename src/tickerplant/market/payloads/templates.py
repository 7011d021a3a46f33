"""Payload templates: a payload's bytes around the fields that change, filled with ``%``.

A template is derived once from the payload's own struct, which stays the one home of its
keys and their order: the struct is encoded with a marker (a control byte, which encoded
JSON never holds raw) in each field that changes, and each marker becomes its slot: ``%d``
for an integer; ``"%d.%0Nd"`` for a decimal of N digits, given as ``divmod(units, 10**N)``
(``units.fixed_format``: units are never negative where templates are used, prices, sizes
and volumes), or ``"%s"`` given its text from ``decimal_texts`` (a text per price or size,
remembered: the replay writes a column of them at once, ``event_frames``); ``%s`` for bytes
written as they are (``true``/``false``, a quoted interval).
The markers must come in the order of the slots, once each: a struct whose key order no
longer matches the slots raises at start, never writes other bytes.

Used by the plant's most frequent payloads: klines (``kline_frames``) and a symbol's
bookTicker, trade and aggTrade (``event_frames``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import msgspec

from tickerplant.market.units import Remembered, fixed, fixed_format

__all__ = [
    "DECIMAL",
    "FALSE",
    "INT",
    "RAW",
    "TRUE",
    "decimal_slot",
    "decimal_texts",
    "markers",
    "split",
    "template",
]  # fmt: skip

INT = b"%d"
RAW = b"%s"
DECIMAL = b'"%s"'  # a decimal's text from ``decimal_texts``, quoted
TRUE, FALSE = b"true", b"false"


def decimal_texts(decimals: int) -> Remembered[int, bytes]:
    """``fixed(units, decimals)`` as bytes, remembered: ``map(texts.__getitem__, column)``
    writes a column of decimals in C. 8,192 texts at most (~0.8 MB), one per replayed
    symbol and kind (``event_frames``)."""
    return Remembered(lambda units: fixed(units, decimals).encode(), 1 << 13)


def decimal_slot(decimals: int) -> tuple[int, bytes]:
    """(scale, slot) of a quoted decimal of ``decimals`` digits: ``slot % divmod(units,
    scale)`` is ``fixed(units, decimals)`` in quotes."""
    return fixed_format(decimals, b'"', b'"')


def markers(count: int) -> list[Any]:
    """``count`` markers to put in a struct's changing fields (typed Any: a struct's int or
    str field takes one)."""
    return [msgspec.Raw(bytes((1 + i,))) for i in range(count)]


def template(encoded: bytes, slots: Sequence[bytes], first: int = 0) -> bytes:
    """``encoded`` (made with ``markers``, its slots' from number ``first`` on) as a ``%``
    template: each marker replaced by its slot, every other ``%`` escaped."""
    return _template(encoded, tuple(slots), first)


# Every server a process starts derives the same templates for the same symbols (~340 a
# start, a third of its plants' and views' construction): derived once, bytes from bytes,
# a few thousand at most (a replay of many symbols lets the least used go).
@functools.lru_cache(maxsize=4096)
def _template(encoded: bytes, slots: tuple[bytes, ...], first: int) -> bytes:
    position = -1
    for i in range(first, first + len(slots)):
        marker = bytes((1 + i,))
        at = encoded.find(marker)
        if at <= position or encoded.count(marker) != 1:
            raise ValueError("a payload's changing fields must come once each, in the slots' order")
        position = at
    out = encoded.replace(b"%", b"%%")
    for i, slot in enumerate(slots, first):
        out = out.replace(bytes((1 + i,)), slot)
    return out


def split(encoded: bytes, slots: Sequence[bytes], at: int) -> tuple[bytes, bytes]:
    """``encoded`` as two templates: up to the slot numbered ``at``, and from it on."""
    marker = bytes((1 + at,))
    head, found, rest = encoded.partition(marker)
    return template(head, slots[:at]), template(found + rest, slots[at:], at)
