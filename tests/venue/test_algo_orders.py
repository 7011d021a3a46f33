"""The Algo Order book without sockets (part 2 §4.2): each type's trigger direction, the
trailing stop's activation and callback, the refusals, and a round trip through the
journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.algo.algo_book import MAX_OPEN, AlgoBook
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.journal.sqlite_journal import SqliteJournal

NOW = 1_790_000_000_000
PRICE = 6_000_000  # 60000.00


def book() -> AlgoBook:
    return AlgoBook({i.symbol: i for i in catalogue(Market.UM, NOW)})


def algo(kind: str, side: str, **more: str) -> dict[str, str]:
    base = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": side, "type": kind, "quantity": "0.001"}
    return base | {k.lower(): v for k, v in more.items()}


def code(call: object, *args: object) -> int:
    with pytest.raises(RequestRefused) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.code


@pytest.mark.parametrize(
    ("kind", "side", "trigger", "fires", "stays"),
    [
        ("STOP_MARKET", "SELL", "59000.00", 5_890_000, 5_910_000),  # stop-loss of a long: price falls
        ("STOP_MARKET", "BUY", "61000.00", 6_110_000, 6_090_000),
        ("TAKE_PROFIT_MARKET", "SELL", "61000.00", 6_100_000, 6_099_900),
        ("TAKE_PROFIT_MARKET", "BUY", "59000.00", 5_900_000, 5_900_100),
    ],
)
def test_each_type_triggers_going_its_way(kind: str, side: str, trigger: str, fires: int, stays: int) -> None:
    algos = book()
    placed = algos.place(1, algo(kind, side, triggerPrice=trigger), PRICE, PRICE, False, NOW)
    assert algos.due("BTCUSDT", stays, PRICE, NOW + 1) == []
    assert algos.due("BTCUSDT", fires, PRICE, NOW + 2) == [placed] and placed.status == "TRIGGERING"
    assert algos.due("BTCUSDT", fires, PRICE, NOW + 3) == []  # once


def test_mark_price_working_type_reads_the_mark() -> None:
    algos = book()
    placed = algos.place(1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00", workingType="MARK_PRICE"),
                         PRICE, PRICE, False, NOW)  # fmt: skip
    assert algos.due("BTCUSDT", 5_000_000, PRICE, NOW + 1) == []  # the last trade is not the mark
    assert algos.due("BTCUSDT", PRICE, 5_899_999, NOW + 2) == [placed]


def test_a_trailing_stop_activates_then_follows_the_best_price() -> None:
    algos = book()
    placed = algos.place(1, algo("TRAILING_STOP_MARKET", "SELL", activatePrice="60500.00", callbackRate="1"),
                         PRICE, PRICE, False, NOW)  # fmt: skip
    for price in (6_040_000, 6_050_000, 6_200_000, 6_140_000):  # activated at 60500, best 62000
        assert algos.due("BTCUSDT", price, PRICE, NOW) == []
    assert algos.due("BTCUSDT", 6_138_000, PRICE, NOW) == [placed]  # 62000 × 0.99 = 61380
    assert code(algos.place, 1, algo("TRAILING_STOP_MARKET", "SELL", activatePrice="59000.00", callbackRate="1"),
                PRICE, PRICE, False, NOW) == -2021  # fmt: skip
    assert code(algos.place, 1, algo("TRAILING_STOP_MARKET", "SELL", callbackRate="25"), PRICE, PRICE, False, NOW) == -2007


def test_refusals() -> None:
    algos = book()
    assert code(algos.place, 1, algo("STOP_MARKET", "SELL", triggerPrice="61000.00"), PRICE, PRICE, False, NOW) == -2021
    assert code(algos.place, 1, algo("LIMIT", "SELL", triggerPrice="59000.00"), PRICE, PRICE, False, NOW) == -1116
    close = algo("STOP_MARKET", "SELL", triggerPrice="59000.00", closePosition="true") | {"quantity": ""}
    algos.place(1, close, PRICE, PRICE, False, NOW)
    assert code(algos.place, 1, close, PRICE, PRICE, False, NOW) == -4130  # one per direction
    assert code(algos.place, 1, close | {"quantity": "0.001"}, PRICE, PRICE, False, NOW) == -4137
    for _ in range(MAX_OPEN - 1):
        algos.place(1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00"), PRICE, PRICE, False, NOW)
    assert code(algos.place, 1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00"), PRICE, PRICE, False, NOW) == -4045
    assert algos.place(2, algo("STOP_MARKET", "SELL", triggerPrice="59000.00"), PRICE, PRICE, False, NOW)  # per account


def test_the_journal_keeps_them(tmp_path: Path) -> None:
    AccountStore(tmp_path / "venue.db").close()
    algos = book()
    kept = algos.place(1, algo("STOP", "SELL", triggerPrice="59000.00", price="58900.00"), PRICE, PRICE, False, NOW)
    journal = SqliteJournal(tmp_path / "venue.db")
    journal.commit(Batch(algos=[algos.copy(kept)]))

    class Service:
        def __init__(self) -> None:
            self.book = book()

        def restore(self, order: object) -> None:
            self.book.restore(order)  # type: ignore[arg-type]

    again = Service()
    journal.load_algos(again)
    assert again.book.open_orders(1) == [kept] and again.book.next_id == kept.algo_id + 1
    journal.close()
