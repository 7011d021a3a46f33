"""The scripted orders' footprint taken out of the truth's recording, so that the replay meets
the market as a backtest's history is: one without the user's orders in it.

In the one book the truth's orders left two marks on what was recorded:

- a resting order was quantity in its level: every recorded diff that shows its level
  while it rests shows it (its remaining quantity then) — taken out of the level;
- an aggressive order's fills were public trades of its own — taken out of the aggTrades
  that carry them (by their trade ids, ``f`` to ``l``), an aggTrade left with nothing gone.

What the flow did around them stays: a simulated taker that filled a resting order of the
script would have taken as much from the level behind it, so its trade keeps its size. The
market's path is the one the truth traded in (the same seed, the same steps), with its
orders' own quantity and trades taken out.
"""

from __future__ import annotations

import bisect
import contextlib
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

__all__ = ["Footprint", "footprint_of", "without"]

Item = tuple[int, int, str, bytes]  # (event ms, kind: 0 trade 1 diff, stream, payload)


class _Resting(NamedTuple):
    bid: bool
    price: int  # price units
    since_ms: int
    until_ms: int  # when it closed (filled, cancelled); past the end: still open
    qty: int
    fills: list[tuple[int, int]]  # (time ms, quantity), in time order


class Footprint(NamedTuple):
    resting: list[_Resting]
    taken: dict[int, int]  # public trade id -> quantity an aggressive order of the script took


def footprint_of(db: Path, account_id: int = 1) -> Footprint:
    """The script's orders and fills as the truth's journal holds them."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        orders = connection.execute(
            "SELECT order_id, side, type, price, orig_qty, time_ms, update_ms, status FROM venue_orders "
            "WHERE account_id = ?", (account_id,),
        ).fetchall()  # fmt: skip
        fills = connection.execute(
            "SELECT order_id, trade_id, qty, time_ms, maker FROM venue_fills WHERE account_id = ? "
            "ORDER BY time_ms", (account_id,),
        ).fetchall()
    by_order: dict[int, list[tuple[int, int]]] = defaultdict(list)
    taken: dict[int, int] = {}
    for order_id, trade_id, qty, time_ms, maker in fills:
        by_order[order_id].append((time_ms, qty))
        if not maker:
            taken[trade_id] = qty
    resting = [
        _Resting(side == "BUY", price, time_ms, update_ms if status != "NEW" and status != "PARTIALLY_FILLED"
                 else 2**62, qty, by_order[order_id])
        for order_id, side, kind, price, qty, time_ms, update_ms, status in orders
        if kind == "LIMIT"
    ]  # fmt: skip
    return Footprint(resting, taken)


def without(items: list[Item], footprint: Footprint) -> tuple[list[Item], int, int]:
    """``items`` (the truth's recording, sorted by time) less ``footprint``; how many diffs
    and trades it changed."""
    levels: dict[tuple[bool, int], list[_Resting]] = defaultdict(list)
    for order in footprint.resting:
        levels[(order.bid, order.price)].append(order)
    made: list[Item] = []
    diffs = trades = 0
    for event_ms, kind, stream, payload in items:
        if kind == 0:
            kept = _trade(payload, footprint.taken) if stream.endswith("@aggTrade") else payload
            trades += kept is not payload
            if kept is not None:
                made.append((event_ms, kind, stream, kept))
        else:
            changed = _diff(payload, levels, event_ms)
            diffs += changed is not payload
            made.append((event_ms, kind, stream, changed))
    return made, diffs, trades


def _trade(payload: bytes, taken: dict[int, int]) -> bytes | None:
    if not taken:
        return payload
    trade: dict[str, Any] = msgspec.json.decode(payload)
    mine = sum(taken.get(t, 0) for t in range(trade["f"], trade["l"] + 1))
    if not mine:
        return payload
    decimals = len(trade["q"].partition(".")[2])
    left = round(float(trade["q"]) * 10**decimals) - mine
    if left <= 0:
        return None
    trade["q"] = f"{left / 10**decimals:.{decimals}f}"
    return msgspec.json.encode(trade)


def _diff(payload: bytes, levels: dict[tuple[bool, int], list[_Resting]], at_ms: int) -> bytes:
    diff: dict[str, Any] = msgspec.json.decode(payload)
    changed = False
    for key, bid in (("b", True), ("a", False)):
        for level in diff[key]:
            price_text, qty_text = level
            pd = len(price_text.partition(".")[2])
            orders = levels.get((bid, round(float(price_text) * 10**pd)))
            if not orders:
                continue
            mine = sum(_remaining(order, at_ms) for order in orders)
            if mine:
                qd = len(qty_text.partition(".")[2])
                left = max(0, round(float(qty_text) * 10**qd) - mine)
                level[1] = f"{left / 10**qd:.{qd}f}"
                changed = True
    return msgspec.json.encode(diff) if changed else payload


def _remaining(order: _Resting, at_ms: int) -> int:
    """What of ``order`` rested in the book at ``at_ms`` (0 outside its life)."""
    if not order.since_ms <= at_ms < order.until_ms:
        return 0
    filled = order.fills[: bisect.bisect_right(order.fills, (at_ms, 2**62))]
    return max(0, order.qty - sum(qty for _, qty in filled))
