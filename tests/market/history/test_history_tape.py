"""One symbol's simulated minutes (``market/history/tape.py``): a minute's kline is exactly
the aggregate of its trades, its aggregate trades group them, trade ids and aggregate ids
each run on without a gap from the listing, and an id finds its minute again."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.market.history.counts import BLOCK_DAYS, JOIN_FLOOR
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.history.tape import MIN_TRADES, PastTrade
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import Kline
from tickerplant.market.payloads.builders import quote_units
from tickerplant.market.units import DAY_MS, MINUTE_MS

NOW = 1_795_000_000_000  # 2026-11-18
INSTRUMENTS = [inst for market in Market for inst in catalogue(market, NOW)]
SYMBOLS = ["BTCUSDT", "DOTUSDT", "1000PEPEUSDT", "BTCUSD_PERP", "ETHUSD_PERP"]
PAST = SimulatedPast(INSTRUMENTS, seed=7, actions_per_s=400.0)


def _sum_of(trades: list[PastTrade], symbol: str) -> tuple[int, ...]:
    inst = PAST.instruments[symbol]
    quotes = [quote_units(inst, t.price, t.qty) for t in trades]
    taker = [not t.buyer_is_maker for t in trades]
    return (
        trades[0].price, max(t.price for t in trades), min(t.price for t in trades), trades[-1].price,
        sum(t.qty for t in trades), sum(quotes), len(trades),
        sum(t.qty for t, b in zip(trades, taker, strict=True) if b),
        sum(q for q, b in zip(quotes, taker, strict=True) if b),
        trades[0].trade_id, trades[-1].trade_id,
    )  # fmt: skip


def _figures(k: Kline) -> tuple[int, ...]:
    return (
        k.open, k.high, k.low, k.close, k.volume, k.quote, k.count, k.taker_buy_volume,
        k.taker_buy_quote, k.first_id, k.last_id,
    )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(symbol=st.sampled_from(SYMBOLS), minutes_back=st.integers(1, 200 * 1440))
def test_a_minutes_kline_is_the_aggregate_of_its_trades(symbol: str, minutes_back: int) -> None:
    tape = PAST.tape(symbol)
    minute = tape.minute(NOW // MINUTE_MS - minutes_back)
    trades = tape.trades(minute)
    k = minute.kline
    assert _sum_of(trades, symbol) == _figures(k)
    assert [t.trade_id for t in trades] == list(range(k.first_id, k.last_id + 1))
    times = [t.time_ms for t in trades]
    assert times == sorted(times) and k.open_ms <= times[0] and times[-1] <= k.close_ms
    assert k.count >= MIN_TRADES
    assert min(t.qty for t in trades) >= PAST.instruments[symbol].step


@settings(max_examples=30, deadline=None)
@given(
    symbol=st.sampled_from(SYMBOLS), minutes_back=st.integers(1, 400 * 1440),
    boundary=st.sampled_from([1, 60, 1440, 1440 * BLOCK_DAYS]),
)  # fmt: skip
def test_ids_of_trades_and_aggregates_run_on_without_a_gap(symbol: str, minutes_back: int, boundary: int) -> None:
    """Across a minute, an hour, a midnight and a block of days alike: each minute's first
    trade id and first aggregate id follow the minute before's last, and an id finds its
    minute again."""
    tape = PAST.tape(symbol)
    m = NOW // MINUTE_MS - minutes_back
    m -= m % boundary
    before, minute = tape.minute(m - 1), tape.minute(m)
    assert minute.kline.first_id == before.kline.last_id + 1
    older = tape.aggregates(before)
    aggregates = tape.aggregates(minute)
    assert aggregates[0].agg_id == older[-1].agg_id + 1 == minute.first_agg_id
    assert aggregates[0].first_id == older[-1].last_id + 1
    last = NOW // MINUTE_MS
    for trade_id in (minute.kline.first_id, before.kline.last_id, before.kline.first_id + 1):
        assert tape.minute_at_id(trade_id, last) in (m - 1, m)
        owner = tape.minute(tape.minute_at_id(trade_id, last)).kline
        assert owner.first_id <= trade_id <= owner.last_id
    for agg_id in (aggregates[0].agg_id, older[-1].agg_id, older[0].agg_id):
        assert tape.minute_at_agg_id(agg_id, last) in (m - 1, m)
    assert tape.minute_at_id(10**15, last) == last  # past the past: its last minute


@settings(max_examples=40, deadline=None)
@given(symbol=st.sampled_from(SYMBOLS), minutes_back=st.integers(1, 200 * 1440))
def test_a_minutes_aggregates_group_its_trades_at_one_price_side_and_moment(symbol: str, minutes_back: int) -> None:
    """Spec §4.4: an aggregate's trades are one taker's fills at one price; ``f`` to ``l``
    contiguous from one aggregate to the next; fewer aggregates than trades where the
    minute is busy, the pins (open, high, low, close) each alone."""
    tape = PAST.tape(symbol)
    minute = tape.minute(NOW // MINUTE_MS - minutes_back)
    trades, aggregates = tape.trades(minute), tape.aggregates(minute)
    assert len(aggregates) == minute.kline.count - minute.joins
    assert minute.joins <= max(0, minute.kline.count - JOIN_FLOOR)
    assert [a.agg_id for a in aggregates] == list(range(minute.first_agg_id, minute.first_agg_id + len(aggregates)))
    for a, b in itertools.pairwise(aggregates):
        assert b.first_id == a.last_id + 1
    by_id = {t.trade_id: t for t in trades}
    for a in aggregates:
        fills = [by_id[i] for i in range(a.first_id, a.last_id + 1)]
        assert {(t.price, t.buyer_is_maker, t.time_ms, t.agg_id) for t in fills} == {
            (a.price, a.buyer_is_maker, a.time_ms, a.agg_id)}  # fmt: skip
        assert sum(t.qty for t in fills) == a.qty
    assert aggregates[0].first_id == aggregates[0].last_id == minute.kline.first_id  # the open
    assert aggregates[-1].first_id == aggregates[-1].last_id == minute.kline.last_id  # the close


def test_busy_symbols_aggregates_are_fewer_than_their_trades() -> None:
    """Binance's aggregate ids run at about four in ten of its trade ids (spec §4.4)."""
    for symbol in ("BTCUSDT", "ETHUSD_PERP"):
        trade_id, agg_id = PAST.live_ids(symbol, NOW)
        assert 0.3 * trade_id < agg_id < 0.8 * trade_id


def test_ids_start_at_one_on_the_listing_day() -> None:
    tape = PAST.tape("BTCUSDT")
    first_day = tape.inst.onboard_ms // DAY_MS * 1440
    assert tape.counts.first_ids(first_day) == (1, 1)
    last = NOW // MINUTE_MS
    assert tape.minute_at_id(1, last) == tape.first_minute
    assert tape.minute_at_id(0, last) == tape.first_minute
    assert tape.minute_at_agg_id(1, last) == tape.first_minute


def test_a_quarterly_carries_its_contango_to_delivery() -> None:
    quarterly = next(i for i in INSTRUMENTS if i.symbol.startswith("BTCUSD_") and i.delivery_ms < 2 * NOW)
    perpetual = PAST.tape("BTCUSD_PERP")
    tape = PAST.tape(quarterly.symbol)
    at = NOW // MINUTE_MS - 60
    ratio = tape.minute(at).kline.open / perpetual.minute(at).kline.open
    years = (quarterly.delivery_ms - at * MINUTE_MS) / (365 * DAY_MS)
    assert abs(ratio - (1 + 0.05 * years)) < 0.001


def test_a_live_start_takes_the_next_ids_after_the_past() -> None:
    """The past ends before the live start's minute; the live market's first trade and
    first aggregate are the next of each, whenever it starts (a restart too)."""
    tape = PAST.tape("ETHUSDT")
    day = NOW // DAY_MS
    starts = [day * DAY_MS + 1, NOW, NOW + 1_000, NOW + 3_600_000, (day + 1) * DAY_MS - 1, (day + 1) * DAY_MS]
    for t in starts:
        before = tape.minute(t // MINUTE_MS - 1)
        last = tape.aggregates(before)[-1]
        assert tape.live_ids(t) == (before.kline.last_id + 1, last.agg_id + 1)
    ids = [tape.live_ids(t) for t in starts]
    assert ids == sorted(ids)  # a later start, the later ids


QUARTERLIES = [i.symbol for i in INSTRUMENTS if "_2" in i.symbol][:2]


@settings(max_examples=30, deadline=None)
@given(
    symbol=st.sampled_from(SYMBOLS + QUARTERLIES), hours_back=st.integers(1, 300 * 24),
    rate=st.sampled_from([1e-9, 400.0, None]),
)  # fmt: skip
def test_an_hours_klines_made_alone_are_those_its_trades_add_up_to(
    symbol: str, hours_back: int, rate: float | None
) -> None:
    """A coarse kline reads minute klines made without their cells (``SymbolTape.klines``):
    they are the klines of the minutes whose trades are laid out, figure for figure."""
    alone, laid_out = (SimulatedPast(INSTRUMENTS, seed=3, actions_per_s=rate).tape(symbol) for _ in range(2))
    hour = max(NOW // 3_600_000 - hours_back, alone.first_minute // 60 + 1)
    klines = alone.klines(hour)  # a fresh tape: its minutes not made
    minutes = laid_out.minutes(hour)
    assert klines == [m.kline for m in minutes]
    at = hours_back % 60
    assert _sum_of(laid_out.trades(minutes[at]), symbol) == _figures(klines[at])


@settings(max_examples=20, deadline=None)
@given(symbol=st.sampled_from(SYMBOLS + QUARTERLIES), minutes_back=st.integers(200, 300 * 1440))
def test_a_run_of_minutes_prices_are_each_minutes_price(symbol: str, minutes_back: int) -> None:
    """The marks read a funding interval's prices at once (``bar_prices``): each is the
    price of its minute's bar, as ``price`` gives it, on whatever hour boundary."""
    tape = PAST.tape(symbol)
    first = NOW // MINUTE_MS - minutes_back
    one_by_one = [
        tuple(tape.price(x, m * MINUTE_MS) * 1000 for x in tape.path.minute(m)[:4]) for m in range(first, first + 150)
    ]
    assert tape.bar_prices(first, 150, 1000) == one_by_one
