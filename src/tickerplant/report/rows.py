"""What a report is made from: the journal's rows of one account, typed (the venue's own
records: ``Fill``, ``Order``, ``Income``), with the prices that mark its positions and the
contracts that value them. Built by ``journal_rows.py`` (or by hand in a test); the core
(``equity.py``, ``statistics.py``, ``figures.py``) reads nothing else.

Money is integers of 1e-8 of the report's asset, as the journal keeps it; prices are
integer units of each symbol's price precision, quantities of its quantity precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from tickerplant.venue.domain.contract import Contract
from tickerplant.venue.domain.events import Income
from tickerplant.venue.domain.orders import Fill, Order

__all__ = ["LIQUIDATION_PREFIX", "PricePoint", "RunRows"]

LIQUIDATION_PREFIX = "autoclose-"  # the client order id of the venue's liquidation orders (part 3 §4.16)


class PricePoint(NamedTuple):
    """A price of ``symbol`` at ``time_ms`` (price units) that marks positions from then on:
    a fill's price (the journal's, any account's), a kline's close, or a run's mark as its
    venue read it (``run_marks.py``: exact, a ``Fraction`` of price units where the mark falls
    between two ticks, as a replay's 8-decimal marks do)."""

    time_ms: int
    symbol: str
    price: int | Fraction


@dataclass(frozen=True, slots=True)
class RunRows:
    """One account's rows for a report over ``[start_ms, end_ms]`` in ``asset``.

    ``fills`` and ``incomes`` are every one of the account's up to ``end_ms``, those before
    ``start_ms`` included: they make the positions and the wallet the range starts from.
    ``orders``: the account's orders that have a fill in the range (their arrival mids, and
    which are liquidations). ``prices``: the marks besides the account's own fills (every
    other account's fills, klines), up to ``end_ms``. ``contracts``: every symbol traded.
    ``end_ms`` None: the range ends at the last row."""

    account_id: int
    asset: str
    start_ms: int
    end_ms: int | None
    fills: Sequence[Fill]
    incomes: Sequence[Income]
    orders: Sequence[Order]
    prices: Sequence[PricePoint]
    contracts: Mapping[str, Contract]

    def ours(self, symbol: str) -> bool:
        """Whether ``symbol``'s PnL is in the report's asset (its margin asset)."""
        contract = self.contracts.get(symbol)
        return contract is not None and contract.inst.margin_asset == self.asset

    def last_ms(self) -> int:
        """The range's end: ``end_ms``, else the last row's time (at least ``start_ms``)."""
        if self.end_ms is not None:
            return self.end_ms
        times = [f.time_ms for f in self.fills] + [i.time_ms for i in self.incomes]
        times += [p.time_ms for p in self.prices]
        return max([self.start_ms, *times])
