"""`tickerplant book`'s options, and `tickerplant watch` on depth streams (spec §4.8,
§4.9): plain values, no server. The book's ladder and JSON lines are shown against a
scripted exchange in tests/client/test_books.py."""

from __future__ import annotations

from decimal import Decimal

from tickerplant.cli import _parser
from tickerplant.client.events import DepthUpdate
from tickerplant.client.watch import WatchBoard, describe

D = Decimal


def depth(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> DepthUpdate[Decimal]:
    return DepthUpdate(
        event_time=1, transaction_time=1, symbol="BTCUSDT",
        first_update_id=10, final_update_id=12, previous_final_update_id=9,
        bids=[(D(p), D(q)) for p, q in bids], asks=[(D(p), D(q)) for p, q in asks],
    )  # fmt: skip


def test_book_takes_watch_like_options() -> None:
    args = _parser().parse_args(
        ["book", "BTCUSD_PERP", "--market", "cm", "--depth", "5", "--json", "--count", "3", "--seconds", "2"]
    )
    assert (args.command, args.symbol, args.market, args.depth) == ("book", "BTCUSD_PERP", "cm", 5)
    assert args.json and args.count == 3 and args.seconds == 2.0
    defaults = _parser().parse_args(["book", "BTCUSDT"])
    assert defaults.url == "wss://fstream.binance.com" and defaults.market is None and defaults.depth == 10


def test_a_partial_depth_event_shows_the_best_bid_and_ask() -> None:
    top = depth(
        [("68005.00", "2.214"), ("68004.90", "0.042")], [("68005.10", "0.838"), ("68005.20", "0.218")]
    )
    key, summary = describe(top)
    assert key == "BTCUSDT depth"
    assert summary.startswith("bid 68005.00 × 2.214   ask 68005.10 × 0.838   u=12")


def test_a_diff_event_shows_its_best_changed_levels_and_skips_removals() -> None:
    diff = depth([("99.0", "0.000"), ("98.0", "1.5")], [("101.0", "0")])
    assert describe(diff)[1].startswith("bid 98.0 × 1.5   ask -   u=12")


def test_a_depth_row_is_named_for_its_stream_when_the_symbol_has_one() -> None:
    board = WatchBoard(["btcusdt@depth5@100ms", "btcusdt@bookTicker", "ethusdt@depth", "ethusdt@depth10"])
    board.update(depth([("1", "1")], [("2", "1")]), 0.0)
    assert "btcusdt@depth5@100ms" in board.latest
    plain = WatchBoard()
    plain.update(depth([("1", "1")], [("2", "1")]), 0.0)
    assert "BTCUSDT depth" in plain.latest
