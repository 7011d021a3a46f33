"""What a gateway's market view keeps of mark prices and funding, to answer REST (§7.9).

It is filled from the plant's internal streams (``market/derivatives/mark_streams.py``):
`<symbol>@markState` (the last ``MarkState`` of each symbol: premiumIndex's answer) and
`<symbol>@fundingEvent` (each ``FundingEvent``: fundingRate's history), so a view answers
the same in one process and behind a bus, and never disagrees with the streams.

Bounded by design, per symbol: one mark-state payload, kept as pushed and decoded when
somebody asks; and at most ``FUNDING_HISTORY`` (1,000) funding events, the most a
fundingRate request returns: 333 days at three a day, the oldest leaving first; and the
last 1,500 one-minute bars of the mark, index and premium index sampled from the mark
states (``market/klines/price_candles.py``: 168 kB a symbol, allocated up front), for the
mark-, index- and premium-index klines: the premium index the note carries (the source's
impact premium), or, from a source that does not know it, one derived from the mark and
index prices.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

import msgspec

from tickerplant.market.derivatives.mark_streams import FundingEvent, MarkState, internal_names
from tickerplant.market.instruments import Instrument
from tickerplant.market.klines.price_candles import PriceBars, premium_units
from tickerplant.market.units import to_units
from tickerplant.market.updates import MARK_DECIMALS

__all__ = ["FUNDING_HISTORY", "MarkStateView"]

FUNDING_HISTORY = 1_000
_state = msgspec.json.Decoder(MarkState)
_funding = msgspec.json.Decoder(FundingEvent)


class MarkStateView:
    """The last mark state and the funding history of every symbol of one market."""

    def __init__(self, instruments: Sequence[Instrument]) -> None:
        self._routes: dict[str, tuple[str, bool]] = {}  # internal stream -> (symbol, is funding)
        for inst in instruments:
            state, funding = internal_names(inst.symbol)
            self._routes[state] = (inst.symbol, False)
            self._routes[funding] = (inst.symbol, True)
        self._states: dict[str, bytes] = {}  # symbol -> its last `@markState` payload
        self._prices: dict[str, tuple[bytes, Fraction]] = {}  # symbol -> (its payload, its mark)
        self._history: dict[str, deque[FundingEvent]] = {
            inst.symbol: deque(maxlen=FUNDING_HISTORY) for inst in instruments
        }
        self._bars = {inst.symbol: PriceBars() for inst in instruments}
        # funding events taken into the histories, ever: an answer made from them is still
        # right while this is unchanged (protocol/encoded_rows.py)
        self.funding_changes = 0

    def streams(self) -> Iterable[str]:
        """The internal streams this view reads."""
        return self._routes.keys()

    def receive(self, stream: str, payload: bytes) -> None:
        symbol, funding = self._routes[stream]
        if not funding:
            self._states[symbol] = payload
            # once a second a symbol: one sample of each price for the price klines
            state = _state.decode(payload)
            try:
                mark, index = to_units(state.p, MARK_DECIMALS), to_units(state.i, MARK_DECIMALS)
                # the source's premium index; derived from p and i where it has none
                premium = to_units(state.pi, MARK_DECIMALS) if state.pi else premium_units(mark, index)
            except ValueError:  # a source that gave no price ("") samples nothing
                return
            self._bars[symbol].add(state.t, mark, index, premium)
            return
        event = _funding.decode(payload)  # about three a day: decoded as it arrives
        history = self._history[symbol]
        if not history or history[-1].T < event.T:
            history.append(event)
            self.funding_changes += 1
        elif all(e.T != event.T for e in history):  # an older one (a replay's file): in order
            self.funding_changes += 1
            items = list(history)
            items.insert(bisect.bisect([e.T for e in items], event.T), event)
            history.clear()
            history.extend(items[-FUNDING_HISTORY:])

    def held(self, symbol: str) -> tuple[bytes | None, list[FundingEvent], PriceBars]:
        """What this view holds of ``symbol``: its last `@markState` payload, its funding
        events (ascending) and its price bars (``load`` takes them back)."""
        return self._states.get(symbol), list(self._history[symbol]), self._bars[symbol]

    def load(
        self, symbol: str, state: bytes | None, funding: Sequence[FundingEvent], bars: PriceBars
    ) -> None:
        """Hold these for ``symbol`` instead (another view's ``held``: the funding events
        ascending in time, as the caller checks)."""
        if state is None:
            self._states.pop(symbol, None)
        else:
            self._states[symbol] = state
        self._history[symbol] = deque(funding, maxlen=FUNDING_HISTORY)
        self._bars[symbol] = bars
        self.funding_changes += 1  # the histories changed: answers made from them too

    def mark(self, symbol: str) -> MarkState | None:
        payload = self._states.get(symbol)
        return None if payload is None else _state.decode(payload)

    def mark_price(self, symbol: str) -> Fraction | None:
        """``symbol``'s mark price, exact: read once per payload (the venue's margins ask for it
        several times an order, and for every holder at each mark)."""
        payload = self._states.get(symbol)
        if payload is None:
            return None
        cached = self._prices.get(symbol)
        if cached is not None and cached[0] is payload:  # bytes: the same object, the same mark
            return cached[1]
        price = Fraction(Decimal(_state.decode(payload).p))
        self._prices[symbol] = (payload, price)
        return price

    def bars(self, symbol: str) -> PriceBars | None:
        """``symbol``'s 1-minute bars of its mark, index and premium index."""
        return self._bars.get(symbol)

    def funding(self, symbol: str) -> Sequence[FundingEvent]:
        """``symbol``'s funding events, ascending in time (at most ``FUNDING_HISTORY``)."""
        return self._history.get(symbol, ())
