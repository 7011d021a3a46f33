"""The market's deliveries through ``venue_engines.feed_engine`` to a real engine, without
sockets: with no order resting and no algo order open a delivery with a trade runs no
command, yet the work is still done when it can matter: a later algo order is checked
against the last trade's price (-2021), a resting order fills, a waiting one triggers."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from test_engine import ALICE, NOW, Book, Deposits, Kept, order

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.orders import OrderStatus
from tickerplant.venue.userstream.activity import VenueActivity
from tickerplant.venue.wire.algo_rest import new_algo
from tickerplant.venue.wire.order_entry import new_order
from tickerplant.venue_engines import Contained, Heeded, OperatorTransfers, feed_engine


class _Steps(Contained):
    """``Contained``, the names of the steps it ran kept (the drain's aside)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock, VenueActivity())
        self.ran: list[str] = []

    def __call__(self, name: str, fn: Any, *args: Any) -> None:
        if name not in ("transfers", "drain"):
            self.ran.append(name)
        super().__call__(name, fn, *args)


class _NoTransfers:
    def refresh(self) -> None:
        pass

    def moved(self, market: Market) -> list[tuple[int, str, int]]:
        return []


def _trade(price: str, qty: str = "0.001", buyer_is_maker: bool = True) -> StreamMessage:
    payload = {"e": "aggTrade", "E": NOW, "a": 1, "s": "BTCUSDT", "p": price, "q": qty, "nq": qty,
               "f": 1, "l": 1, "T": NOW, "m": buyer_is_maker}  # fmt: skip
    return StreamMessage("btcusdt@aggTrade", msgspec.json.encode(payload))


def _feed() -> tuple[Engine, _Steps, Any]:
    clock = ManualClock(NOW)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())
    steps, transfers = _Steps(clock), OperatorTransfers(_NoTransfers())  # type: ignore[arg-type]

    def deliver(*messages: StreamMessage) -> list[str]:
        steps.ran.clear()
        clock.advance(1)
        feed_engine(engine, lambda now_ms: None, clock, transfers, Heeded.of(engine), steps, None, messages)
        return list(steps.ran)

    return engine, steps, deliver


def _stop(trigger: str) -> dict[str, str]:
    return {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
            "quantity": "0.010", "triggerprice": trigger}  # fmt: skip


def test_with_nothing_open_a_trade_runs_no_command_and_a_later_algo_order_meets_its_price() -> None:
    engine, _, deliver = _feed()
    # two trades in one delivery, then one more: the last is what counts
    assert deliver(_trade("61000.00"), _trade("60500.00")) == ["prices"]
    assert deliver(_trade("59500.00")) == ["prices"]
    assert engine.outbox.take() == []
    # a sell stop at or above the last trade would trigger at once (part 2 §4.2, -2021)
    with pytest.raises(RequestRefused) as refused:
        new_algo(engine, ALICE, _stop("59500.00"), NOW + 10)
    assert refused.value.code == -2021
    placed, _ = new_algo(engine, ALICE, _stop("59400.00"), NOW + 11)  # below it: it waits
    assert placed.status == "NEW"
    # an order waits: the trades go to the trigger pass, which triggers it at its price
    assert deliver(_trade("59450.00")) == ["algos"] and placed.status == "NEW"
    assert deliver(_trade("59400.00")) == ["algos"] and placed.status == "FINISHED"  # its MARKET child filled
    assert deliver(_trade("59400.00")) == ["prices"]  # nothing waits any more: no pass


def test_the_fills_step_runs_while_an_order_rests_and_not_after() -> None:
    engine, _, deliver = _feed()
    assert deliver(_trade("59999.00")) == ["prices"]  # nothing rests: no fills step
    resting = new_order(engine, ALICE, order(quantity="0.500", price="59999"), NOW).order
    assert resting is not None and resting.queue_ahead == 1000  # behind the level's 1.000
    assert deliver(_trade("59999.00", "1.200")) == ["fills", "prices"]
    assert (resting.executed_qty, resting.status) == (200, OrderStatus.PARTIALLY_FILLED)
    assert deliver(_trade("59998.00")) == ["fills", "prices"]  # through its price: the rest of it
    assert (resting.executed_qty, resting.status) == (500, OrderStatus.FILLED)
    assert not engine.has_resting()
    assert deliver(_trade("59998.00")) == ["prices"]
