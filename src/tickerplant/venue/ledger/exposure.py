"""What the venue watches of the market for its accounts' positions (``venue/clearing/funding.py``,
``venue/clearing/liquidation.py``): which streams carry a symbol's mark and funding, which accounts
hold a position on each symbol, which accounts were sent a margin call, the last funding
each symbol charged, and the liquidation orders' sequence.

Bounded by design: one entry per (symbol, account holding a position), one per margin
call outstanding, one per symbol, the last 1,000 liquidation orders.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from tickerplant.market.derivatives.mark_streams import internal_names
from tickerplant.market.instruments import Instrument
from tickerplant.market.updates import Liquidation

__all__ = ["Exposure", "each_account"]

T = TypeVar("T")


class Exposure:
    __slots__ = (
        "funded_ms", "fundings", "holders", "liquidations", "margin_called", "marks", "pooled", "sequence",
    )  # fmt: skip

    def __init__(self, instruments: Sequence[Instrument]) -> None:
        self.marks: dict[str, str] = {}  # `<symbol>@markState` -> symbol
        self.fundings: dict[str, str] = {}  # `<symbol>@fundingEvent` -> symbol
        for inst in instruments:
            state, funding = internal_names(inst.symbol)
            self.marks[state] = inst.symbol
            self.fundings[funding] = inst.symbol
        self.holders: dict[str, set[int]] = {}  # symbol -> accounts that may hold a position
        # (account, margin asset) whose cross positions are above 80 %, (account, symbol) an isolated one
        self.margin_called: set[tuple[int, str]] = set()
        self.funded_ms: dict[str, int] = {}  # symbol -> the funding time last charged
        self.sequence = 0  # the liquidation orders' (autoclose-<time><seq>)
        # the liquidation orders for the public `@forceOrder` streams, until the plant takes them
        self.liquidations: deque[Liquidation] = deque(maxlen=1000)
        self.pooled: set[int] = set()  # accounts in Multi-Assets mode: a collateral's mark checks them

    def hold(self, account_id: int, symbol: str) -> None:
        """``account_id`` has (or had) a position on ``symbol``: watch it there."""
        self.holders.setdefault(symbol, set()).add(account_id)


def each_account(accounts: Iterable[T], judge: Callable[[T], None]) -> None:
    """``judge`` every account (or one account's order, fill, …), in order; one that raises
    (a venue bug met by one account's state) keeps no other from its funding, its margin
    check or its fills: the first error is raised once all are done, for the step that runs
    this to count and log (``venue_engines.Contained``)."""
    error: Exception | None = None
    for account in accounts:
        try:
            judge(account)
        except Exception as exc:
            error = error or exc
    if error is not None:
        raise error
