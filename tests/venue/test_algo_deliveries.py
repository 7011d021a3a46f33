"""Which of the market's deliveries the Algo Order service looks at (``AlgoBook.wants``,
``venue_engines.feed_engine``), without sockets: one with a price when an order waits for
its trigger, any when a triggered order's child may be done or a waiting order's mark is
still its book's mid, none when nothing waits."""

from __future__ import annotations

from fractions import Fraction

from test_engine import ALICE, Book, Deposits, Kept

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import AlgoTriggers
from tickerplant.venue.wire.algo_rest import new_algo
from tickerplant.venue.wire.order_entry import cancel_order

NOW = 1_790_000_000_000


def _stop(trigger: str, kind: str = "STOP") -> dict[str, str]:
    return {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": kind, "quantity": "0.010",
            "triggerprice": trigger, "workingtype": "MARK_PRICE", "price": "59000", "timeinforce": "GTC"}  # fmt: skip


def test_a_delivery_without_a_price_concerns_the_algo_orders_only_when_one_may_finish_or_reads_a_mid() -> None:
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), Kept())

    def wants(priced: bool) -> bool:
        return engine.algos.wants(priced, book.mark)

    # nothing waits: no pass (a trade's price is noted apart, for -2021: AlgoBook.note)
    assert not wants(True) and not wants(False)
    placed, _ = new_algo(engine, ALICE, _stop("61000"), NOW)
    assert wants(True) and not wants(False)  # a price may trigger it; a book does not
    del book.marks["BTCUSDT"]  # no mark yet: the mark is the book's mid, which any book moves
    assert wants(False)
    book.marks["BTCUSDT"] = Fraction(61000)
    engine.apply(AlgoTriggers(()), NOW + 1)
    assert placed.status == "TRIGGERED"  # its LIMIT child rests at 59000.00
    # the child still works: a command may end it, and any delivery then finishes the order
    assert wants(False)
    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.child_id)}, NOW + 2)
    engine.apply(AlgoTriggers(()), NOW + 3)
    assert placed.status == "FINISHED"
    assert not wants(True) and not wants(False)
