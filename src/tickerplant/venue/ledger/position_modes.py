"""An account's position mode (part 3 §4.6): one-way (``dualSidePosition`` false, Binance's
default, decision 6) or hedge. Since the "CM migration" the flag is one per account for
USDⓈ-M and COIN-M alike: changing it through either market changes both (part 3, its
changelog of 2026-07/08), so the engines share one ``PositionModes``.

An order's position side (part 2 §3.3, "positionSide / hedge mode"):

- one-way: ``BOTH`` (sent or not); ``LONG``/``SHORT`` is -4061;
- hedge: ``LONG`` or ``SHORT``, mandatory (``BOTH`` or none is -4061), and ``reduceOnly``
  may not be sent at all (-1106, a parameter check, before the filters: python-binance
  #947). ``SELL``/``LONG`` and ``BUY``/``SHORT`` close their side: they are reduce-only, and
  the order says ``reduceOnly`` true, as captures show Binance's doing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from tickerplant.venue.domain.order_params import refused
from tickerplant.venue.domain.orders import PositionSide, Side

__all__ = ["Member", "PositionModes", "closes", "closing", "of_mode", "position_side"]

# Read by every placement: an Enum member read from its class goes through CPython 3.11's
# ``EnumType.__getattr__`` hook (~80 ns), a module's name ~11 ns; so bound once here.
_BOTH = PositionSide.BOTH


class _Held(Protocol):
    @property
    def amt(self) -> int: ...


class _Standing(Protocol):
    """What of an account's ``ledger.Ledger`` the mode reads and sets."""

    hedge: bool

    @property
    def open_orders(self) -> Mapping[str, Mapping[int, object]]: ...

    @property
    def positions(self) -> Mapping[tuple[str, PositionSide], _Held]: ...


class Member(Protocol):
    """An engine whose ledgers follow the modes."""

    def ledger(self, account_id: int) -> _Standing: ...


class PositionModes:
    """The accounts in hedge mode, and the engines (one per market) whose ledgers follow."""

    def __init__(self) -> None:
        self.hedged: set[int] = set()
        self.members: list[Member] = []
        self.algo_orders: list[Callable[[int], bool]] = []  # whether an account has open algo orders

    def join_algos(self, has_open: Callable[[int], bool]) -> None:
        """A market's algo service: its open algo orders count as open orders (-4067), as a
        triggered one's child must match the mode it was placed in."""
        self.algo_orders.append(has_open)

    def join(self, member: Member) -> None:
        self.members.append(member)

    def is_hedged(self, account_id: int) -> bool:
        return account_id in self.hedged

    def change(self, account_id: int, hedge: bool) -> None:
        """``POST …/positionSide/dual`` (part 3 §4.6): -4059 for the mode already set, -4067
        with open orders and -4068 with positions in any market; the caller journals it."""
        if hedge == self.is_hedged(account_id):
            raise refused(-4059, "No need to change position side.")
        ledgers = [member.ledger(account_id) for member in self.members]
        if any(ledger.open_orders for ledger in ledgers) or any(has(account_id) for has in self.algo_orders):
            raise refused(-4067, "Position side cannot be changed if there exists open orders.")
        if any(p.amt for ledger in ledgers for p in ledger.positions.values()):
            raise refused(-4068, "Position side cannot be changed if there exists position.")

    def set(self, account_id: int, hedge: bool) -> None:
        """The account's mode, in every market (``change`` said it may change)."""
        if hedge:
            self.hedged.add(account_id)
        else:
            self.hedged.discard(account_id)
        for member in self.members:
            member.ledger(account_id).hedge = hedge


def position_side(params: Mapping[str, str], hedge: bool) -> PositionSide:
    """The order's position side as sent (its value checked: -4060), of the account's mode."""
    return of_mode(PositionSide(params.get("positionside", "BOTH")), hedge)


def of_mode(chosen: PositionSide, hedge: bool) -> PositionSide:
    """``chosen``, -4061 when it is not of the account's mode."""
    if (chosen is not _BOTH) != hedge:
        raise refused(-4061, "Order's position side does not match user's setting.")
    return chosen


def closes(params: Mapping[str, str], side: Side) -> bool:
    """Whether the order closes its hedge-mode side (``closing``)."""
    return closing(PositionSide(params.get("positionside", "BOTH")), side)


def closing(chosen: PositionSide, side: Side) -> bool:
    """Whether an order on ``chosen`` closes it: ``SELL``/``LONG``, ``BUY``/``SHORT``."""
    long, short = PositionSide.LONG, PositionSide.SHORT
    return (chosen is long and side is Side.SELL) or (chosen is short and side is Side.BUY)
