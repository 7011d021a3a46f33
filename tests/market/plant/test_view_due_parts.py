"""A market view applies a symbol's depth backlog after its ticker a part at a time
(``_DUE_PAYLOADS`` payloads a batch received, ``market/plant/view.py``), so that no batch
holds the loop for a busy symbol's seconds of diffs; the book it ends with is the one the
whole backlog at once makes, and a request meanwhile reads the whole."""

from __future__ import annotations

from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import _DUE_PAYLOADS, MarketView

T0 = 1_767_225_600_000


def _levels(view: MarketView, symbol: str) -> tuple[object, ...]:
    sv = view.symbols[symbol]
    book = view.book(sv)
    return tuple(book.bid_prices), tuple(book.ask_prices), dict(book.bids), dict(book.asks), book.last_update_id


def test_a_symbols_backlog_after_its_ticker_is_applied_a_part_a_batch_to_the_same_book() -> None:
    insts = [i for i in catalogue(Market.UM, T0) if i.symbol == "BTCUSDT"]
    simulator = Simulator(insts, seed=3, start_ms=T0, book_levels=20)
    plant = Plant(Market.UM, insts, now_ms=T0)
    parted, whole, asked = (MarketView(Market.UM, insts) for _ in range(3))
    first: list[StreamMessage] = []
    for update in simulator.initial_updates(T0, interest_past=False):
        plant.apply(update, T0, first)
    plant.end_batch(T0, first)
    batches = [first]
    now_ms = T0
    while sum(m.stream == "btcusdt@depthDiff" for b in batches for m in b) < 3 * _DUE_PAYLOADS:
        now_ms += 1
        out: list[StreamMessage] = []
        for update in simulator.step(1, now_ms):
            plant.apply(update, now_ms, out)
        plant.end_batch(now_ms, out)
        batches.append(out)
    for view in (parted, whole, asked):
        for batch in batches:
            view.receive(batch)
    sv = parted.symbols["BTCUSDT"]
    backlog = len(sv.depth_backlog)
    assert 2 * _DUE_PAYLOADS < backlog <= 256  # filed away, not applied yet
    ticker = [StreamMessage("btcusdt@ticker", b"{}")]
    parted.receive(ticker)
    asked.receive(ticker)
    assert _levels(asked, "BTCUSDT") == _levels(whole, "BTCUSDT")  # a request: the rest at once
    assert len(sv.depth_backlog) == backlog - _DUE_PAYLOADS  # a part with the ticker's batch
    receives = 1
    while sv.depth_backlog:
        parted.receive([])
        receives += 1
        assert len(sv.depth_backlog) == max(0, backlog - receives * _DUE_PAYLOADS)
    assert receives == -(-backlog // _DUE_PAYLOADS)
    assert _levels(parted, "BTCUSDT") == _levels(whole, "BTCUSDT")  # the whole backlog at once (a request)
