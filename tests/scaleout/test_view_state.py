"""A market view's state, sans-I/O: what a plant's view captures, a gateway's fresh view
loads, and then answers every request alike from; and what is not such a state (garbage,
a pickle, another version or market, a state out of its bounds) is refused whole, with
the view left as it was.

The views are fed as a plant process feeds its own: the simulator's warm start (a day of
trades, the books, open interest with its past, the funding history and a mark price)
and a few seconds of trading, through the plants and the in-process bus."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from pickles import Ran

from tickerplant.bus import Bus, StreamMessage
from tickerplant.bus.frames import BUS_VERSION
from tickerplant.bus.local import LocalBus
from tickerplant.clock import ManualClock
from tickerplant.config import SimulatorConfig
from tickerplant.feeds import Backlog
from tickerplant.feeds.simulator.pump import Dispatcher, SimulatedMarket
from tickerplant.market.demand import Demand, Subscribed
from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.derivatives.open_interest import PERIOD_MS
from tickerplant.market.instruments import Market
from tickerplant.market.klines.price_candles import PriceKind
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.scaleout.view_state import StateError, capture, decode, load

START_MS = 1_767_225_598_000  # 2 s before a funding time: the 5 s of trading hold one (the history before is the past's)


@dataclasses.dataclass
class _Sink:
    """What the source feeds: the plants and the bus the views subscribe to."""

    plants: dict[Market, Plant]
    bus: Bus
    demand: Demand = None

    def interrupt(self, market: Market, streams: Collection[str], reason: str) -> None:
        raise AssertionError("the simulator interrupts nothing")

    def backlogs(self) -> Iterable[Backlog]:
        return ()


@pytest.fixture(scope="module")
def views() -> dict[Market, MarketView]:
    """The plant's views of both markets, fed with a warm start and 5 s of trading."""
    clock = ManualClock(START_MS)
    market = SimulatedMarket(SimulatorConfig(actions_per_s=4000.0, history_s=3600.0, book_levels=20), clock)
    prepared = asyncio.run(market.prepare())
    bus = LocalBus()
    plants = {m: Plant(m, insts, now_ms=prepared.start_ms) for m, insts in prepared.instruments.items()}
    for plant in plants.values():
        plant.follow(Subscribed())
    views = {m: MarketView(m, insts) for m, insts in prepared.instruments.items()}
    for m, view in views.items():
        bus.subscribe(m, view.receive)
    market.warm(_Sink(plants, bus))
    dispatch = Dispatcher(plants, bus)
    simulator, derivatives = market.simulator, market.derivatives
    assert simulator is not None and derivatives is not None
    for step in range(1, 51):  # the trading and the marks, a funding among them
        now = START_MS + 100 * step
        clock.set(now)
        marks = derivatives.advance(now, simulator.books, simulator.fair_price, lambda symbol: None)
        dispatch([*simulator.advance(now), *marks], now)
    return views


def _fresh(view: MarketView) -> MarketView:
    return MarketView(view.market, [symbol.inst for symbol in view.symbols.values()])


def _answers(view: MarketView) -> dict[str, Any]:
    """What every request of every symbol would be answered from, read through the view."""
    out: dict[str, Any] = {}
    for name, sv in view.symbols.items():
        book, klines, interest, bars = view.book(sv), view.klines(sv), sv.open_interest, view.marks.bars(name)
        assert bars is not None
        out[name] = (
            sv.book_ticker, sv.ticker, view.last_price(sv), sv.book_time_ms, sv.book_kept,
            book.last_update_id, sv.book_text.answer(book, 1000),
            {i: [dataclasses.astuple(k) for k in klines.series(i)] for i in klines.intervals},
            view.trades(sv).latest(100_000),
            interest.latest, interest.points(PERIOD_MS, None, None, 100_000),
            view.marks.mark(name), list(view.marks.funding(name)),
            [bars.query(kind, "1m", None, None, 1500) for kind in PriceKind],
        )  # fmt: skip
    return out


def test_a_loaded_state_answers_every_request_as_the_view_it_was_taken_from(
    views: dict[Market, MarketView],
) -> None:
    for view in views.values():
        theirs = _answers(view)
        some = next(iter(theirs.values()))
        assert all(some[i] for i in (0, 1, 2, 5, 7, 8, 9, 11, 12)), "a store the feed left empty"
        ours = _fresh(view)
        load(ours, capture(view))
        assert _answers(ours) == theirs
        assert all(not sv.depth_backlog and not sv.trade_backlog for sv in ours.symbols.values())


def test_the_state_is_a_versioned_msgpack_document(views: dict[Market, MarketView]) -> None:
    data = capture(views[Market.UM])
    version, market, symbols = msgspec.msgpack.decode(data)
    assert (version, market) == (BUS_VERSION, "um")
    assert "BTCUSDT" in symbols


def _edited(data: bytes, symbol: str, **changes: Any) -> bytes:
    """``data`` with one symbol's state changed (``msgspec.structs.replace``)."""
    state = decode(data)
    symbols = dict(state.symbols)
    symbols[symbol] = msgspec.structs.replace(symbols[symbol], **changes)
    return msgspec.msgpack.encode(msgspec.structs.replace(state, symbols=symbols))


def test_what_is_not_this_views_state_is_refused_and_the_view_stays_as_it_was(
    views: dict[Market, MarketView], tmp_path: Path
) -> None:
    um, cm = views[Market.UM], views[Market.CM]
    data = capture(um)
    state = decode(data)
    btc = state.symbols["BTCUSDT"]
    marker = tmp_path / "ran"
    backwards = {**btc.klines, "1m": btc.klines["1m"][::-1]}
    refused = {
        "garbage": (b"\x00garbage", "not a view state"),
        "a pickle": (pickle.dumps(Ran(marker)), "not a view state"),
        "truncated": (data[: len(data) // 2], "not a view state"),
        "another version": (msgspec.msgpack.encode(msgspec.structs.replace(state, version=BUS_VERSION + 1)), f"bus version {BUS_VERSION + 1}"),
        "another market": (capture(cm), "a state of market cm, not um"),
        "klines out of order": (_edited(data, "BTCUSDT", klines=backwards), "BTCUSDT: 1m klines whose open times do not ascend"),
        "an interval not kept": (_edited(data, "BTCUSDT", klines={"7m": []}), "interval '7m'"),
        "uneven book sides": (
            _edited(data, "BTCUSDT", book=msgspec.structs.replace(btc.book, bid_qtys=[1])),
            "book sides of uneven columns",
        ),
        "uneven trades": (_edited(data, "BTCUSDT", trades=btc.trades[:3]), "trades of uneven columns"),
        "an integer past 64 bits": (
            _edited(data, "BTCUSDT", trades=[[*column[:-1], (1 << 64) - 1] for column in btc.trades]),
            "BTCUSDT",
        ),
    }
    target = _fresh(um)
    load(target, capture(um))
    before = _answers(target)
    for name, (bad, said) in refused.items():
        with pytest.raises(StateError, match=said):
            load(target, bad)
        assert _answers(target) == before, name
    assert not marker.exists()  # the pickle was never run


def test_a_funding_travels_with_the_time_its_source_told_it(views: dict[Market, MarketView]) -> None:
    """A relayed funding is told on its upstream's clock (``E``), minutes or years from the
    plant's: a gateway's view loads it as the plant's view holds it."""
    told = FundingEvent("BTCUSDT", START_MS - 8 * 3_600_000, "0.00010000", "61000.00000000", START_MS + 300_000)
    plants = _fresh(views[Market.UM])
    plants.receive([StreamMessage("btcusdt@fundingEvent", msgspec.json.encode(told))])
    gateways = _fresh(plants)
    load(gateways, capture(plants))
    assert list(gateways.marks.funding("BTCUSDT")) == [told]
    assert decode(capture(plants)).symbols["BTCUSDT"].mark.funding == [told]
