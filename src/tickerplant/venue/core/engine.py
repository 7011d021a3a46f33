"""The venue's engine for one market (docs/ARCHITECTURE.md, "The venue's room"): commands in, events
out. ``Engine.apply`` is the one door of a change asked of it (``domain/commands.py``): it
runs the command's checks and steps (``placement.py``: risk → match → settle, cancels, a
date's expiries; ``amendment.py``; ``settings.py``; ``isolated.py``; the algo orders':
``algo/placing.py``; the market's deliveries: ``resting.py``, ``clearing/``,
``algo/triggers.py``), journals what it changed in one batch before anything is answered
(a triggered algo order's child with it), and returns its events in order (they also wait
in ``outbox`` for the user data stream). What it holds and the steps the commands share are
``state.py``'s (the algo orders: ``algo_book.py``; the resting orders' dates:
``good_till.py``). Sans-I/O: the time comes in as an argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.venue.algo import legacy
from tickerplant.venue.algo.placing import cancel_algo, cancel_all_algos, place_algo
from tickerplant.venue.algo.triggers import triggers
from tickerplant.venue.clearing.auto_exchange import exchange_negative_balances
from tickerplant.venue.clearing.funding_catch_up import catch_up
from tickerplant.venue.clearing.transfers import settle_transfers
from tickerplant.venue.clearing.watch import watch
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.commands import (
    AlgoTriggers,
    Amend,
    AutoExchange,
    Cancel,
    CancelAlgo,
    CancelAll,
    CancelAllAlgos,
    Command,
    ExpireGoodTill,
    Marks,
    MissedFundings,
    MoveMargin,
    Outcome,
    Place,
    PlaceAlgo,
    SetFeeBurn,
    SetLeverage,
    SetMarginType,
    SetMultiAssets,
    SetPositionMode,
    Trades,
    Transfers,
)
from tickerplant.venue.domain.events import Made
from tickerplant.venue.domain.orders import Order
from tickerplant.venue.engine import history, isolated, placement, resting, settings
from tickerplant.venue.engine.state import EngineState

__all__ = ["Engine"]

_new = tuple.__new__  # a command's Outcome without the NamedTuple's generated Python __new__

# a command's steps: the order or algo order it made or changed (None: no one order)
Step = Callable[[EngineState, Any, int, Made], Order | AlgoOrder | None]


# each command's steps (placement answers its ACK apart: ``Engine.apply``)
_STEPS: dict[type, Step] = {
    # an order's, or a legacy conditional order's while it waits (``algo/legacy.py``)
    Cancel: legacy.cancel,
    CancelAll: legacy.cancel_all,
    Amend: legacy.amend,
    SetLeverage: settings.change_leverage,
    SetMarginType: settings.change_margin_type,
    SetPositionMode: settings.change_position_mode,
    SetMultiAssets: settings.change_multi_assets,
    SetFeeBurn: settings.change_fee_burn,
    MoveMargin: isolated.move,
    PlaceAlgo: place_algo,
    CancelAlgo: cancel_algo,
    CancelAllAlgos: cancel_all_algos,
    # the market's: its deliveries and the operator's transfers
    Transfers: lambda state, c, now_ms, out: settle_transfers(state, c.moved, now_ms, out),
    Trades: lambda state, c, now_ms, out: resting.receive(state, c.messages, now_ms, out),
    Marks: lambda state, c, now_ms, out: watch(state, c.messages, now_ms, out),
    MissedFundings: lambda state, c, now_ms, out: catch_up(state, c.events, now_ms, out),
    AutoExchange: lambda state, c, now_ms, out: exchange_negative_balances(state, now_ms, out),
    AlgoTriggers: triggers,
    ExpireGoodTill: placement.expire_good_till,
}


class Engine(EngineState):
    # the operator's transfers the keyring saw and no command has told yet (``Keyring.moved``),
    # when the engine serves beside one (``venue_engines``): a command settles them first
    operator_moves: Callable[[Market], list[tuple[int, str, int]]] | None = None
    # decision 1's ``--legacy-conditional-orders`` for this market: ``…/v1/order`` takes the
    # conditional types (``algo/legacy.py``), else refuses them -4120 (``order_entry``)
    legacy_conditional = False

    def open_orders(self, account_id: int, symbol: str | None) -> list[Order]:
        """The account's open orders (on ``symbol``): ``history.open_orders``."""
        return history.open_orders(self, account_id, symbol)

    def apply(self, command: Command, now_ms: int) -> Outcome:
        """The one door of a change to the engine (``domain/commands.py``): the command's
        checks, then what it does, into one ordered list (``Made``: its events and the
        journal's records); the journal's batch derived from that list (``Made.batch``) and
        committed before anything is answered; its events, in order, also wait in
        ``outbox`` for the user data stream."""
        out = Made()
        ack: Order | None = None
        try:
            # a deposit the wallet already counts (the keyring read it at the request's key) is
            # told before the command whose events count it: DEPOSIT, then the order's
            moves = self.operator_moves
            if moves is not None and (moved := moves(self.market)):
                settle_transfers(self, moved, now_ms, out)
            if isinstance(command, Place):
                made: Order | AlgoOrder | None
                made, ack = placement.place(self, command, now_ms, out)
            else:
                made = _STEPS[type(command)](self, command, now_ms, out)
        finally:  # a refusal changed nothing; a step that failed on one account's state
            batch = out.batch()  # journals what it did for the others (``exposure.each_account``)
            if batch is not None:
                self.journal.commit(batch)
            events = tuple(out.events)
            self.outbox.extend(events)
        if isinstance(made, AlgoOrder):
            return Outcome(None, None, events, made)
        return _new(Outcome, (made, ack, events, None))
