"""The state of a venue's engines as one digest (exchange-core's ``stateHash``): what a fresh
pair of engines loaded from the journal alone must equal (``sqlite_journal.load``,
``load_counts``; ``tests/venue/test_rebuild.py``). ``describe`` gives the same
content as plain data, so that two states that differ say where (``differences``).

Hashed, per market's engine (and the position modes both share):

- every account's ledger: its positions per symbol and side by their public amounts
  (quantity, the entry price as shown, 8 decimals, the update time, the isolated wallet),
  leverage, the symbols set isolated, the hedge and Multi-Assets modes, trading's changes
  to each wallet (Σ realized PnL − commission, funding, clearance, exchange), its open
  orders (by symbol and by ``clientOrderId``), the income rows and margin moves it keeps;
- every order and fill kept in memory (``kept.Kept``: bounded), each order whole, its
  resting-queue position (``queue_ahead``) with it; the amendments kept; the realized PnL
  summed per position side;
- the resting orders per symbol, oldest first; the next order, trade and amendment id of
  each symbol; the last funding time settled per symbol (``venue_funded``); the accounts
  whose Multi-Assets collateral is watched;
- the algo book (``Engine.algos``): every open algo order and the closed ones kept, whole (a trailing stop's
  best price since activation with it), and the next algo id;
- with ``now_ms``, the order-rate windows open then (``order_counts``).

Not hashed, because a restart does not restore it, by design:

- events not yet taken from the outbox: a restart has none to send (each command's were
  drained after its commit, ``group_commit.py``);
- the indexes and caches made from the state above, made again from it when needed: the
  maker index's heaps, a ledger's open-order margins, the accounts watched per symbol
  (``Exposure.holders``: every position's account, so a superset), the ADL quantiles, the
  triggered algo orders whose child still works (their status says which);
- the margin calls outstanding (``Exposure.margin_called``): a restart forgets them, so the
  first mark after it at 80 % or more sends the call again (a warning repeated, never one
  missed);
- the liquidation orders' sequence and the ``@forceOrder`` queue (``Exposure.sequence``,
  ``liquidations``): a liquidation's id carries its time, which a restart does not repeat;
  the queue is the plant's at the next delivery;
- the market's last trade price per symbol (``AlgoBook.last``) and the marks: the
  market's, told again by its next messages;
- the generator of ``clientOrderId``s (``venue_engines`` seeds a new one after a restart);
- orders placed past the order-rate windows' last save and refused (``order_counts.py``).

Not hashed either, being no engine's: the ``countdownCancelAll`` deadlines, the gateway's
timers, which it journals and times again at a start itself (``gateway/countdowns.py``,
``tests/venue/test_countdowns_kept.py``).

The kept orders, fills and income rows are bounded; a rebuild gives the newest by id or
time where the live engine dropped the oldest at the time: the two keep the same rows
while no bound is reached.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import msgspec

from tickerplant.market.units import fixed
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.contract import Position
from tickerplant.venue.domain.kept import Kept
from tickerplant.venue.domain.orders import Order
from tickerplant.venue.ledger.ledger import Ledger

__all__ = ["describe", "differences", "state_hash"]


def _came_to_rest(order: Order) -> tuple[int, int]:
    """A resting order's place among its symbol's (``Order.rested``; 0, from an older journal: by id)."""
    return order.rested, order.order_id


ENTRY_PLACES = 8  # the entry price as the position reads and the user data stream show it


def state_hash(engines: Sequence[Engine], now_ms: int | None = None) -> str:
    """The SHA-256 of ``describe``'s content in a canonical encoding (JSON, keys sorted)."""
    encoded = msgspec.json.encode(describe(engines, now_ms), order="sorted")
    return hashlib.sha256(encoded).hexdigest()


def describe(engines: Sequence[Engine], now_ms: int | None = None) -> dict[str, Any]:
    """What ``state_hash`` digests (the module's docstring), as plain data: each market's
    engine (its algo book with it) under its market's name, and the accounts in hedge mode."""
    hedged: set[int] = set()
    markets: dict[str, Any] = {}
    for engine in engines:
        hedged |= engine.modes.hedged
        markets[engine.market.value] = _engine(engine, now_ms)
    return {"hedged": sorted(hedged), "markets": markets}


def _engine(engine: Engine, now_ms: int | None) -> dict[str, Any]:
    accounts = {
        str(account_id): described
        for account_id, ledger in sorted(engine.ledgers.items())
        if (described := _ledger(engine, ledger)) != _ledger(engine, Ledger(account_id, hedge=ledger.hedge))
    }
    kept = {
        f"{account_id} {symbol}": described
        for (account_id, symbol), seat in sorted(engine.seats.items())
        if (described := _kept(seat)) != _kept(Kept())
    }
    state: dict[str, Any] = {
        "next_order_id": dict(engine.next_order_id),
        "next_trade_id": dict(engine.next_trade_id),
        "next_amendment_id": dict(engine.next_amendment_id),
        "resting": {
            s: [o.order_id for o in sorted(engine.resting(s), key=_came_to_rest)]
            for s in engine.instruments
            if engine.resting(s)
        },
        "funded_ms": dict(engine.exposure.funded_ms),
        "pooled": sorted(engine.exposure.pooled),
        "accounts": accounts,
        "kept": kept,
        "algo": {
            "next_id": engine.algos.next_id,
            "orders": {str(a.algo_id): _plain(a) for a in engine.algos.every_order()},
        },
    }
    if now_ms is not None:
        state["order_counts"] = sorted(list(window) for window in engine.counts.open_windows(now_ms))
    return state


def _ledger(engine: Engine, ledger: Ledger) -> dict[str, Any]:
    positions = {
        f"{symbol} {side.value}": _position(position)
        for (symbol, side), position in sorted(
            ledger.positions.items(), key=lambda item: (item[0][0], item[0][1].value)
        )
        if _position(position) != _position(Position(side=side))  # one a read made, never changed
    }
    return {
        "hedge": ledger.hedge,
        "multi_assets": ledger.multi_assets,
        "fee_burn": ledger.fee_burn,
        # as answered: a symbol set to its default leverage answers as one never set
        "leverage": {
            symbol: leverage
            for symbol, contract in sorted(engine.contracts.items())
            if (leverage := ledger.leverage_of(contract)) != Ledger(0).leverage_of(contract)
        },
        "isolated": sorted(ledger.isolated),
        "changes": {asset: total for asset, total in sorted(ledger.changes.items()) if total},
        "positions": positions,
        "open_orders": {s: sorted(orders) for s, orders in sorted(ledger.open_orders.items()) if orders},
        "by_client_id": {c: f"{o.symbol} {o.order_id}" for c, o in sorted(ledger.by_client_id.items())},
        # the reads sort them (``history.py``): their order kept is not state
        "income": sorted((_plain(i) for i in ledger.income), key=lambda i: (i["time_ms"], i["tran_id"])),
        "margin_moves": [_plain(m) for m in ledger.margin_moves],
    }


def _position(position: Position) -> dict[str, Any]:
    """A position by its public amounts, whatever keeps its entry price."""
    return {
        "amt": position.amt,
        "entry": shown_entry(position),
        "update_ms": position.update_ms,
        "isolated_wallet": position.isolated_wallet,
        "maker_amt": position.maker_amt,  # its breakEvenPrice's rate
    }


def shown_entry(position: Position) -> str:
    """The entry price as shown (8 decimals, rounded down)."""
    num, den = position.entry_ratio
    return fixed(num * 10**ENTRY_PLACES // den, ENTRY_PLACES)


def _kept(kept: Kept) -> dict[str, Any]:
    return {
        "orders": {str(order_id): _plain(order) for order_id, order in sorted(kept.orders.items())},
        "fills": [_plain(fill) for fill in kept.fills],
        "amendments": [_plain(amendment) for amendment in kept.amendments],
        "realized": {
            side.value: total for side, total in sorted(kept.realized.items(), key=lambda i: i[0].value)
        },
    }


def _plain(value: Any) -> Any:
    """A record as plain data, its fields by name (enumerations by value)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, msgspec.Struct):  # an order
        return {name: _plain(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
        return {name: _plain(getattr(value, name)) for name in value._fields}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def differences(before: Any, after: Any, limit: int = 20, path: str = "") -> list[str]:
    """Where two ``describe`` contents differ: up to ``limit`` lines, ``path: before != after``."""
    found: list[str] = []
    _walk(before, after, path or "state", found, limit)
    return found


def _walk(a: Any, b: Any, path: str, found: list[str], limit: int) -> None:
    if len(found) >= limit or a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys(), key=str):
            if key not in a:
                found.append(f"{path}.{key}: missing != {b[key]!r}")
            elif key not in b:
                found.append(f"{path}.{key}: {a[key]!r} != missing")
            else:
                _walk(a[key], b[key], f"{path}.{key}", found, limit)
            if len(found) >= limit:
                return
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}[{i}]", found, limit)
        return
    found.append(f"{path}: {a!r} != {b!r}")
