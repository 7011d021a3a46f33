"""The levels of a depth answer as wire text, written once per level state (spec §7.4).

A 1,000-level answer is 2,000 decimals to format; the book it comes from moves a few
levels at a time. So each symbol keeps each level's text, ``["<price>","<qty>"]``, keyed
by price with the quantity it was written for, and an answer is a join of those texts:
a level is formatted again only when its quantity changed. The table holds the prices
answered recently; past ``4 × (levels answered) + 64`` entries it is rebuilt from the
last answer's levels, so it is bounded by the book's depth, not by the traffic.
"""

from __future__ import annotations

from collections.abc import Sequence

from tickerplant.market.units import fixed

__all__ = ["LevelText"]


class LevelText:
    """One symbol's level texts, both sides, at its price and quantity decimals."""

    __slots__ = ("_asks", "_bids", "price_decimals", "qty_decimals")

    def __init__(self, price_decimals: int, qty_decimals: int) -> None:
        self.price_decimals = price_decimals
        self.qty_decimals = qty_decimals
        self._bids: dict[int, tuple[int, bytes]] = {}  # price -> (qty, its level's text)
        self._asks: dict[int, tuple[int, bytes]] = {}

    def answer(self, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]) -> bytes:
        """``"bids":[…],"asks":[…]}``: the tail of a depth answer, levels best first."""
        return b'"bids":[%s],"asks":[%s]}' % (self._side(bids, self._bids), self._side(asks, self._asks))

    def __len__(self) -> int:
        return len(self._bids) + len(self._asks)

    def _side(self, levels: Sequence[tuple[int, int]], texts: dict[int, tuple[int, bytes]]) -> bytes:
        pd, qd = self.price_decimals, self.qty_decimals
        out = []
        for price, qty in levels:
            known = texts.get(price)
            if known is None or known[0] != qty:
                level = b'["%s","%s"]' % (fixed(price, pd).encode(), fixed(qty, qd).encode())
                known = texts[price] = (qty, level)
            out.append(known[1])
        if len(texts) > 4 * len(levels) + 64:  # prices long gone from the book: start again
            kept = {price: texts[price] for price, _ in levels}
            texts.clear()
            texts.update(kept)
        return b",".join(out)
