"""What the venue recorded, as its history reads ask for it: the port ``history.py`` reads
through, and one row of the income history.

Two implementations answer it: the journal (``reads.JournalHistory``: every order,
fill and flow the venue committed, by index) in the server, and the engine's memory
(``history.KeptHistory``: its bounded recent tier) where no journal is open (the engines'
unit tests). Their answers are the same wherever the memory still holds what was asked
(``tests/venue/test_history.py`` holds them equal); past it, only the journal has it.

Every method takes the bounds already decided (``history.py`` applies Binance's windows),
and costs what its ``limit`` allows, not what the account's history holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from tickerplant.venue.domain.events import MarginMove
from tickerplant.venue.domain.orders import Amendment, Fill, Order

__all__ = ["Flow", "History", "Span", "fill_tran_id"]


class Span(NamedTuple):
    """Which of an account's rows on a symbol a read takes: ids from ``from_id`` (the first
    ``limit`` of them, ascending) or else the last ``limit`` in time; always within
    [``start_ms``, ``end_ms``] and from ``floor_ms`` on (what Binance still keeps)."""

    from_id: int | None
    start_ms: int | None
    end_ms: int | None
    floor_ms: int
    limit: int


def fill_tran_id(trade_id: int, maker: bool) -> int:
    """A fill's flows' ``tran_id``: its trade's id, its maker's apart from its taker's (one
    account's self-trade is two fills of one trade, and ``tranId`` is unique per income type
    and account, part 3 §4.11)."""
    return trade_id * 2 + maker


class Flow(NamedTuple):
    """One row of ``income``: a fill's ``REALIZED_PNL`` or ``COMMISSION`` (``trade_id`` its
    trade's, ``tran_id`` ``fill_tran_id``'s) or a flow of its own (``FUNDING_FEE``,
    ``INSURANCE_CLEAR``, ``TRANSFER``, ``AUTO_EXCHANGE``: ``trade_id`` None, ``tran_id`` its
    own)."""

    time_ms: int
    symbol: str
    kind: str
    asset: str
    amount: int  # signed, 1e-8 of ``asset``
    tran_id: int
    trade_id: int | None


class History(Protocol):
    def order(
        self, account_id: int, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order | None:
        """The order by id, else the newest holding the client id."""
        ...

    def orders(self, account_id: int, symbol: str, span: Span, unfilled_floor_ms: int) -> list[Order]:
        """``span``'s orders ascending by id, but those CANCELED or EXPIRED without a fill
        made before ``unfilled_floor_ms``."""
        ...

    def fills(self, account_id: int, symbol: str, span: Span, order_id: int | None) -> list[Fill]:
        """``span``'s fills ascending by trade id (only ``order_id``'s when given)."""
        ...

    def amendments(
        self, account_id: int, symbol: str, order_id: int, start_ms: int, end_ms: int | None, limit: int
    ) -> list[Amendment]:
        """The last ``limit`` modifications of the order in [``start_ms``, ``end_ms``], oldest first."""
        ...

    def liquidations(
        self, account_id: int, symbols: Sequence[str], start_ms: int, end_ms: int | None, limit: int
    ) -> list[Order]:
        """The last ``limit`` liquidation orders (``autoclose-…``) in the window, by time."""
        ...

    def margin_moves(
        self, account_id: int, symbol: str, kind: int | None, start_ms: int, end_ms: int | None, limit: int
    ) -> list[MarginMove]:
        """The first ``limit`` moves of isolated margin in the window, oldest first."""
        ...

    def flows(
        self, account_id: int, symbols: Sequence[str], transfers: bool, kind: str, start_ms: int,
        end_ms: int | None, limit: int,
    ) -> list[Flow]:  # fmt: skip
        """The first ``limit`` flows from ``start_ms`` on, oldest first (a fill's rows by
        trade, ``REALIZED_PNL`` before ``COMMISSION``, before the flows of the same ms), on
        ``symbols``, and the symbol-less ones of this market when ``transfers``; only
        ``kind`` when given."""
        ...
