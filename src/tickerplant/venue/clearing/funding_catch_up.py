"""The fundings that fell while the server was down, settled at its start (trading spec
part 3 §9), sans-I/O.

The live path (``funding.py``) charges a funding when its `<symbol>@fundingEvent` arrives.
A funding time that fell while the server was down has no event in the next run: the
simulated market starts live at the start, and what lies before it is the simulated past
(``market/history``), whose fundings `GET /fapi/v1/fundingRate` lists with their rate and
mark. So at start the venue settles them from that history (``missed_fundings`` says which,
the shell reads the history, ``catch_up`` settles), through the live path's own
``settle_funding``: the same amounts, ``FUNDING_FEE`` rows stamped at the funding time, an
isolated position's fee from its own wallet, ``ACCOUNT_UPDATE`` ``m=FUNDING_FEE`` to the
streams open (none yet at a fresh start), the same journal batch.

**Held across.** Nothing trades while the server is down, so a position the journal holds
has stood as it is since its last change (``Position.update_ms``, its last fill): it was
held, with that amount, at every funding time after that. **Not yet settled**: the journal
keeps each symbol's last funding settled (``venue_funded``; an older journal's
``FUNDING_FEE`` rows): a funding time after it, after the earliest last change of a
position on the symbol, and at or before the live start (the history's last, and the live
market's first is after it) was missed. Each is charged to the positions unchanged since
before it; settling it journals it as settled, so a second restart, and the live event of
the same time were there one, charge nothing more.

**The bound.** At most ``CATCH_UP_MOST`` funding times a symbol, the latest: 270, 90 days
of 8-hour fundings. Binance keeps an account's trade and order history for the past 3
months (part 2's ``userTrades``, ``allOrders``), so a journal weeks old has every funding
since settled, and one older still gets the fundings of the window a client could
reconcile against. Each is a funding of the history to make (about 2 ms): a symbol at the
bound costs about half a second of start-up, every perpetual of both markets at it about 20
seconds, where no bound would cost that per 90 days the journal is old. What the bound
leaves is counted (``Missed.left``) for the shell to log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from tickerplant.market.derivatives.mark_price import FUNDING_INTERVAL_MS
from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.instruments import ContractType
from tickerplant.venue.clearing.funding import settle_funding

if TYPE_CHECKING:
    from tickerplant.venue.domain.events import Made
from tickerplant.venue.engine.state import EngineState

__all__ = ["CATCH_UP_MOST", "Missed", "catch_up", "missed_fundings"]

CATCH_UP_MOST = 270  # funding times settled per symbol at a start: 90 days of 8-hour fundings


class Missed(NamedTuple):
    """A symbol's funding times missed: every ``FUNDING_INTERVAL_MS`` from ``first_ms`` to
    ``last_ms``; ``left``: the older ones past the bound, not settled."""

    symbol: str
    first_ms: int
    last_ms: int
    left: int


def missed_fundings(engine: EngineState, until_ms: int) -> list[Missed]:
    """The funding times at or before ``until_ms`` (the live start) that a position
    ``engine`` holds sat across and that its journal has not settled, per perpetual."""
    exposure = engine.exposure
    out: list[Missed] = []
    for symbol, accounts in sorted(exposure.holders.items()):
        if engine.instruments[symbol].contract_type is not ContractType.PERPETUAL:
            continue  # a delivery contract has no funding
        changed = [p.update_ms for a in accounts for p in engine.ledger(a).held(symbol)]
        if not changed:
            continue
        since = max(exposure.funded_ms.get(symbol, -1), min(changed))
        first = (since // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS  # the first after it
        last = until_ms // FUNDING_INTERVAL_MS * FUNDING_INTERVAL_MS
        if last < first:
            continue
        count = (last - first) // FUNDING_INTERVAL_MS + 1
        left = max(0, count - CATCH_UP_MOST)
        out.append(Missed(symbol, first + left * FUNDING_INTERVAL_MS, last, left))
    return out


def catch_up(engine: EngineState, events: Iterable[FundingEvent], now_ms: int, out: Made) -> None:
    """Settle ``events`` (the history's, at ``missed_fundings``' times) in time order, each
    to the positions held across it (``settle_funding``'s ``missed``), into ``out``."""
    for event in sorted(events, key=lambda e: (e.T, e.s)):
        if event.s in engine.instruments:
            settle_funding(engine, event.s, event, now_ms, out, missed=True)
