# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""A taker's ``ORDER_TRADE_UPDATE`` as the stream writes it (part 4 §3.1): the fills of an order
whose remainder comes to rest count that remainder in ``b``/``a``, as its ``NEW`` does and as
``positionRisk``'s ``bidNotional`` does once it rests (``er`` of an expiry in match:
``tests/e2e/test_resting_in_book.py``, where the one book's self-trade prevention runs)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_engine import ALICE, NOW, Book, Deposits, Kept, book, engine, journal, order  # noqa: F401

from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.events import OrderUpdate
from tickerplant.venue.userstream.user_events import written
from tickerplant.venue.wire.order_entry import new_order


def _updates(engine: Engine) -> list[dict[str, Any]]:
    """The ``o`` of each ``ORDER_TRADE_UPDATE`` waiting in the outbox, in order."""
    events = [e for e in engine.outbox.take() if isinstance(e, OrderUpdate)]
    made = [json.loads(payload) for _, _, payload in written(engine, events, lambda _: "")]
    return [event["o"] for event in made if event["e"] == "ORDER_TRADE_UPDATE"]  # no TRADE_LITE


def test_a_takers_fills_count_the_remainder_that_comes_to_rest(engine: Engine, book: Book) -> None:
    """Asks 60000.00 ×0.001 and 60001.00 ×0.002: a GTC buy of 0.005 at 60001.00 fills 0.001,
    then 0.002, and rests 0.002."""
    book.asks = [(6_000_000, 1), (6_000_100, 2)]
    new_order(engine, ALICE, order(quantity="0.005", price="60001.00"), NOW)
    new, first, second = _updates(engine)
    assert [(o["x"], o["X"], o["z"]) for o in (new, first, second)] == [
        ("NEW", "NEW", "0"), ("TRADE", "PARTIALLY_FILLED", "0.001"), ("TRADE", "PARTIALLY_FILLED", "0.003"),
    ]  # fmt: skip
    # the order's quantity left at each, at its price: 0.002, then 0.004, then 0.002 (resting)
    assert [(o["b"], o["a"]) for o in (new, first, second)] == [
        ("120.002", "0"), ("240.004", "0"), ("120.002", "0"),
    ]  # fmt: skip
    bought = new_order(engine, ALICE, order(quantity="0.002", price="59999.00", timeInForce="IOC"), NOW + 1)
    assert bought.order is not None and bought.order.status.value == "EXPIRED"  # below the asks: nothing
    ioc_new, ioc_expired = _updates(engine)  # an IOC never rests: the resting order's alone
    assert (ioc_new["b"], ioc_expired["b"], ioc_expired["er"]) == ("120.002", "120.002", "2")


@pytest.mark.parametrize("tif", ["GTC", "FOK"])
def test_a_taker_filled_whole_counts_nothing_of_itself(engine: Engine, book: Book, tif: str) -> None:
    """A GTC or FOK buy of 0.003 at 60001.00 fills 0.001, then 0.002: nothing of it rests, so
    no fill's ``b`` counts any of it, as its ``NEW`` does not."""
    book.asks = [(6_000_000, 1), (6_000_100, 2)]
    new_order(engine, ALICE, order(quantity="0.003", price="60001.00", timeInForce=tif), NOW)
    assert [(o["X"], o["b"]) for o in _updates(engine)] == [("NEW", "0"), ("PARTIALLY_FILLED", "0"), ("FILLED", "0")]
