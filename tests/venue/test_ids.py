"""Where the venue's order and algo ids start (``venue/domain/ids.py``): Binance's magnitudes,
drawn from the seed, the algo ids never an order id."""

from __future__ import annotations

from pathlib import Path

from test_engine import ALICE, Book, Deposits, order

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.ids import ALGO_IDS_FROM, first_algo_id, first_order_id
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.algo_rest import new_algo
from tickerplant.venue.wire.order_entry import new_order

NOW = 1_790_000_000_000


def test_order_ids_start_past_32_bits_with_11_or_12_digits_the_same_for_the_same_seed() -> None:
    symbols = [i.symbol for m in Market for i in catalogue(m, NOW)]
    starts = [first_order_id(7, m, i.symbol) for m in Market for i in catalogue(m, NOW)]
    assert all(s > 2**32 and 11 <= len(str(s)) <= 12 for s in starts)
    assert len(set(starts)) == len(symbols)  # every symbol its own start
    assert first_order_id(7, Market.UM, "BTCUSDT") == first_order_id(7, Market.UM, "BTCUSDT")
    assert first_order_id(7, Market.UM, "BTCUSDT") != first_order_id(8, Market.UM, "BTCUSDT")


def test_algo_ids_are_a_sequence_above_every_order_id_under_2_53() -> None:
    for market in Market:
        algo = first_algo_id(7, market)
        assert ALGO_IDS_FROM < algo < ALGO_IDS_FROM + 10**8 < 2**53
        assert len(str(algo)) == 16
        assert all(first_order_id(7, market, i.symbol) < 10**12 for i in catalogue(market, NOW))


def test_the_first_market_order_and_the_first_stop_loss_have_different_ids(tmp_path: Path) -> None:
    AccountStore(tmp_path / "venue.db").close()
    journal = SqliteJournal(tmp_path / "venue.db")
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal, ids_seed=7)
    market = new_order(engine, ALICE, order(type="MARKET", quantity="0.010"), NOW).order
    stop = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
            "quantity": "0.010", "triggerprice": "50000"}  # fmt: skip
    placed, _ = new_algo(engine, ALICE, stop, NOW + 1)
    assert market is not None and market.order_id == first_order_id(7, Market.UM, "BTCUSDT")
    assert placed.algo_id == first_algo_id(7, Market.UM) != market.order_id
    journal.close()

    # restarted: both sequences go on from the journal
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(tmp_path / "venue.db"),
                   ids_seed=7)  # fmt: skip
    loading = SqliteJournal(tmp_path / "venue.db")
    loading.load(again)
    loading.close()
    later = new_order(again, ALICE, order(type="MARKET", quantity="0.010", side="SELL"), NOW + 2).order
    assert later is not None and later.order_id == market.order_id + 1
    assert new_algo(again, ALICE, stop, NOW + 3)[0].algo_id == placed.algo_id + 1
