# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""A user data stream position (part 4 §3.4's ``P``: ``ep``, ``up``, ``bep``; and
``positionRisk``'s ``entryPrice`` and ``breakEvenPrice``) is worked out from the position's
sums in integers, and a margin call's ``up``/``mm`` from the figures' 1e-8 units: checked against ``Fraction`` arithmetic (the oracle) at an entry price off the
8-decimal grid, where the prices are rounded down and ``up`` truncated toward zero, as
positionRisk writes it (part 3 §4.3, §7.5: the same position at the same mark reads the
same on both)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from test_engine import ALICE, NOW, Book, Deposits, Kept, book, engine, journal  # noqa: F401

from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.contract import Position
from tickerplant.venue.domain.events import AccountUpdate, Event, MarginCall, Shown
from tickerplant.venue.domain.orders import PositionSide
from tickerplant.venue.userstream.user_events import written
from tickerplant.venue.wire.account_payloads import position_risk

ENTRY = Fraction(420_001, 7)  # 60000.142857…: off the grid
MARK = Fraction(60_000)


def _down(value: Fraction) -> str:
    """The oracle: ``value`` rounded down at 8 decimals, trailing zeros trimmed."""
    text = f"{Decimal(math.floor(value * 10**8)).scaleb(-8):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _toward_zero(value: Fraction) -> str:
    """The oracle: ``value`` truncated toward zero at 8 decimals, trailing zeros trimmed."""
    units = math.trunc(value * 10**8)
    text = f"{Decimal(units).scaleb(-8):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _payload(engine: Engine, event: Event) -> dict[str, Any]:
    ((_, _, payload),) = written(engine, [event], lambda _: "")
    return dict(json.loads(payload))


@pytest.mark.parametrize("amt", [1, -1, 3])
def test_a_positions_entry_and_break_even_are_its_sums_rounded_down_its_upnl_truncated(engine: Engine, amt: int) -> None:
    contract = engine.contracts["BTCUSDT"]
    cost = contract.cost_at(abs(amt), ENTRY.numerator, ENTRY.denominator)
    event = AccountUpdate(NOW, ALICE, "ORDER", "USDT", 0, "BTCUSDT", 0, MARK, (Shown(PositionSide.BOTH, amt, cost, None, 0),))
    (shown,) = _payload(engine, event)["a"]["P"]
    qty, taker = Fraction(amt, contract.qty_one), engine.fees.taker
    upnl = qty * (MARK - ENTRY)
    assert (upnl * 10**8).denominator > 1  # off the grid: rounded
    expected = (_down(ENTRY), _toward_zero(upnl), _down(ENTRY * (1 + (1 if amt > 0 else -1) * taker)))
    assert (shown["ep"], shown["up"], shown["bep"]) == expected
    if amt == 1:  # written, not only equal to the oracle: a loss toward zero
        assert (shown["ep"], shown["up"], shown["bep"]) == ("60000.14285714", "-0.00014285", "60030.14292857")


def test_a_margin_calls_upnl_and_maintenance_are_the_figures_units(engine: Engine) -> None:
    row = ("BTCUSDT", PositionSide.BOTH, 1, MARK, -14_286, 30)
    (shown,) = _payload(engine, MarginCall(NOW, ALICE, 5, (row,)))["p"]
    assert (shown["up"], shown["mm"], shown["mp"]) == ("-0.00014286", "0.0000003", "60000")


def test_position_risk_writes_the_same_entry_and_break_even_from_the_sums(engine: Engine) -> None:
    contract = engine.contracts["BTCUSDT"]
    cost = contract.cost_at(1, ENTRY.numerator, ENTRY.denominator)
    engine.ledger(ALICE).positions[("BTCUSDT", PositionSide.BOTH)] = Position(1, cost, NOW, 0, contract=contract)
    (row,) = position_risk(engine, ALICE, "BTCUSDT", v3=True)
    assert (row["entryPrice"], row["breakEvenPrice"]) == ("60000.14285714", "60030.14292857")
    assert engine.mark("BTCUSDT") == MARK
    event = AccountUpdate(NOW, ALICE, "ORDER", "USDT", 0, "BTCUSDT", 0, MARK, (Shown(PositionSide.BOTH, 1, cost, None, 0),))
    (shown,) = _payload(engine, event)["a"]["P"]
    assert row["unRealizedProfit"] == "-0.00014285" == shown["up"]  # one loss, one text on both
