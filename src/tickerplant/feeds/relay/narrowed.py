"""The all-market streams' payloads narrowed to the symbols a relay lists (``--relay-symbols``,
or the upstream's TRADING ones): Binance's ``!bookTicker`` or ``!miniTicker@arr`` carries the
symbols its exchangeInfo lists, and a relay's clients must not meet one its exchangeInfo does
not (docs/relay.md).

Plain functions, no I/O. A payload that holds only listed symbols goes on byte for byte; an
array that holds some is written again with those alone (the entries as they came, in their
order); one that holds none is dropped.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

__all__ = ["narrowed"]


class _Order(msgspec.Struct):
    s: str = ""


class _Pushed(msgspec.Struct):
    """What of a push names its symbol: ``s``, or a liquidation's ``o.s`` (``!forceOrder@arr``)."""

    s: str = ""
    o: _Order | None = None


_one = msgspec.json.Decoder(_Pushed)
_many = msgspec.json.Decoder(list[dict[str, Any]])


def narrowed(payload: bytes, listed: Collection[str]) -> bytes | None:
    """``payload`` with only the ``listed`` symbols' entries; None when none is left. A payload
    not understood goes on as it came (the gateways route by the stream's name, not its body)."""
    try:
        if payload[:1] != b"[":
            pushed = _one.decode(payload)
            symbol = pushed.s or (pushed.o.s if pushed.o is not None else "")
            return payload if not symbol or symbol in listed else None
        entries = _many.decode(payload)
    except msgspec.DecodeError:
        return payload
    kept = [entry for entry in entries if entry.get("s") in listed]
    if len(kept) == len(entries):
        return payload
    return msgspec.json.encode(kept) if kept else None
