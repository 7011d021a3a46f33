"""The market views' mark notes from mark-price payloads a source passes through unchanged
(the relay, a recording's replay), so that REST answers what the streams showed (§7.9).

A plant tells its views `<symbol>@markState` and `<symbol>@fundingEvent`
(``market/derivatives/mark_streams.py``) from the ``MarkPrice`` and ``FundingRate`` its source gives;
a relay or a recording has only the public pushes (`<symbol>@markPrice[@1s]`,
`!markPrice@arr[@1s]`, COIN-M `<pair>@markPrice[@1s]`). From those, ``MarkNotes`` makes:

- each push's `@markState`: ``p``, ``i``, ``P``, ``r``, ``T`` and ``E`` as pushed; the push
  carries no interest rate, so a perpetual's is Binance's usual 0.01 % and a delivery
  contract's (``r`` "") "";
- a `@fundingEvent` when a symbol's ``T`` moves on (a funding happened at the old ``T``):
  its rate the last ``r`` pushed before it, its mark price the last ``p`` — the estimate
  just before the funding, which the settled rate can differ from in the last digits — and
  its ``E`` the ``E`` of the push that moved ``T`` on: when the upstream told of it, on the
  upstream's clock, which the venue measures its lateness by (``venue/clearing/funding.py``).

A push whose ``E`` is not after the last one noted is the same moment on another stream
(a relay takes ``markPrice``, ``markPrice@1s`` and the arrays), or a straggler of a slower
one, and is passed over; but an upstream's clock may go back for good (a replaying upstream
restarted, or sent back), and a mark that waited for it to catch up would stand still
meanwhile. So the time line starts over, without a funding (the old ``T`` is the other
time line's), at:

- the first push of each symbol after ``lost`` (the connection that carried it dropped: what
  answers now may be another upstream, or the same one restarted), whatever its ``E``;
- a push more than ``REWIND_MS`` behind the last, which no straggler is (ten periods of the
  slowest mark stream, 3 s, §4.14).

Memory: the last push of each symbol seen, and which symbols were lost since (the listed
symbols at most).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from tickerplant.bus import StreamMessage
from tickerplant.market.derivatives.mark_price import INTEREST_RATE
from tickerplant.market.derivatives.mark_streams import FundingEvent, MarkState, internal_names
from tickerplant.market.units import fixed
from tickerplant.market.updates import MARK_DECIMALS
from tickerplant.protocol.streams import StreamKind, parse

__all__ = ["REWIND_MS", "MarkNotes", "is_mark_stream"]

REWIND_MS = 30_000  # a push this far behind the last one noted: the upstream's clock went back


class _MarkPush(msgspec.Struct, frozen=True):
    """The fields of a mark-price push (§4.6) the notes need."""

    E: int
    s: str
    p: str
    P: str
    i: str
    r: str
    T: int


_pushes = msgspec.json.Decoder(_MarkPush | list[_MarkPush])
_INTEREST = fixed(INTEREST_RATE, MARK_DECIMALS)


def is_mark_stream(name: str) -> bool:
    """Whether the canonical stream ``name`` carries mark-price pushes."""
    stream = parse(name)
    return stream is not None and stream.kind in (StreamKind.MARK_PRICE, StreamKind.ALL_MARK_PRICE)


class MarkNotes:
    """Turns mark-price payloads of ``symbols`` into the views' notes; see the module
    docstring. Symbols not listed are passed over."""

    def __init__(self, symbols: Iterable[str]) -> None:
        self._last: dict[str, _MarkPush | None] = dict.fromkeys(symbols)
        self._lost: set[str] = set()  # symbols whose next push starts their time line over

    def lost(self) -> None:
        """The mark pushes' upstream was lost: each symbol's next push is taken whatever its
        ``E`` (a restarted upstream's clock may be behind the last one's)."""
        self._lost.update(self._last)

    def of(self, payload: bytes) -> list[StreamMessage]:
        """The notes of one payload (an object or an array); nothing for one that is not
        a mark-price push."""
        try:
            decoded = _pushes.decode(payload)
        except msgspec.DecodeError:
            return []
        last = self._last
        out: list[StreamMessage] = []
        for push in decoded if isinstance(decoded, list) else (decoded,):
            if push.s not in last:
                continue
            state_name, funding_name = internal_names(push.s)
            before = last[push.s]
            if before is not None and push.E <= before.E:
                if push.s not in self._lost and before.E - push.E <= REWIND_MS:
                    continue  # an older push, or the same one on another stream: nothing new
                before = None  # a new time line: no funding between the two
            self._lost.discard(push.s)
            if before is not None and before.r and 0 < before.T < push.T:
                event = FundingEvent(push.s, before.T, before.r, before.p, push.E)
                out.append(StreamMessage(funding_name, msgspec.json.encode(event)))
            last[push.s] = push
            interest = _INTEREST if push.r else ""
            state = MarkState(push.s, push.E, push.p, push.i, push.P, push.r, interest, push.T)
            out.append(StreamMessage(state_name, msgspec.json.encode(state)))
        return out
