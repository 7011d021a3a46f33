# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""User data events carry what they show as the change that made them left it (part 4 §3.1,
§4.3 items 1 and 4: a new resting order's ``b``/``a`` include it, a cancel's are
recomputed; §3.4: ``cr``, ``up``): written later, after other commands changed the account,
an event's payload is the same as written at once."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from test_engine import ALICE, NOW, Book, Deposits, Kept, book, engine, journal, order  # noqa: F401

from tickerplant.venue.core.engine import Engine
from tickerplant.venue.userstream.user_events import written
from tickerplant.venue.wire.order_entry import cancel_order, new_order


def _written(engine: Engine) -> list[dict[str, Any]]:
    return [json.loads(p) for _, _, p in written(engine, engine.outbox.take(), lambda _: "")]


def test_an_order_events_b_and_a_are_the_open_orders_as_its_change_left_them(engine: Engine) -> None:
    first = new_order(engine, ALICE, order(quantity="0.010", price="50000"), NOW).order
    assert first is not None
    new_order(engine, ALICE, order(side="SELL", quantity="0.002", price="70000"), NOW + 1)
    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(first.order_id)}, NOW + 2)
    events = [e["o"] for e in _written(engine)]  # all three written only now
    assert [(o["x"], o["b"], o["a"]) for o in events] == [
        ("NEW", "500", "0"),  # 0.010 × 50000: itself (§4.3 item 1), not yet the sell
        ("NEW", "500", "140"),  # and 0.002 × 70000
        ("CANCELED", "0", "140"),  # recomputed without it (§4.3 item 4)
    ]


def test_a_fills_position_shows_the_mark_of_its_moment(engine: Engine, book: Book) -> None:
    new_order(engine, ALICE, order(type="MARKET", quantity="0.001"), NOW)  # long 0.001 at 60000, mark 60000
    book.marks["BTCUSDT"] = Fraction(61000)
    new_order(engine, ALICE, order(type="MARKET", quantity="0.001"), NOW + 1)  # 0.002 at 60000, mark 61000
    book.marks["BTCUSDT"] = Fraction(62000)  # before either is written
    shown = [e["a"]["P"][0] for e in _written(engine) if e["e"] == "ACCOUNT_UPDATE"]
    assert [(p["pa"], p["up"], p["cr"]) for p in shown] == [("0.001", "0", "0"), ("0.002", "2", "0")]
