"""One symbol's simulated minutes (``market/history/tape.py``): a minute's kline is exactly
the aggregate of its trades, trade ids run on without a gap from the listing, and an id
finds its minute again."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=20, deadline=None)
@given(symbol=st.sampled_from(SYMBOLS), minutes_back=st.integers(1, 400 * 1440))
def test_ids_run_on_within_a_day_and_skip_to_a_round_stride_at_midnight(symbol: str, minutes_back: int) -> None:
    tape = PAST.tape(symbol)
    m = NOW // MINUTE_MS - minutes_back
    m -= m % 60  # an hour's first minute: the previous one is the last of the hour before
    if m % 1440 == 0:
        m += 60
    before, first = tape.minute(m - 1).kline, tape.minute(m).kline
    assert first.first_id == before.last_id + 1
    for trade_id in (first.first_id, before.last_id, before.first_id + 1):
        assert tape.minute_at_id(trade_id) in (m - 1, m)
        owner = tape.minute(tape.minute_at_id(trade_id)).kline
        assert owner.first_id <= trade_id <= owner.last_id
    day = m // 1440
    midnight = tape.minute(day * 1440).kline
    assert midnight.first_id == 1 + (day - tape.inst.onboard_ms // DAY_MS) * tape.id_stride
    last_of_day = tape.minute(day * 1440 - 1).kline
    assert last_of_day.last_id < midnight.first_id
    # an id in the day's unused room finds the next day's first minute
    assert tape.minute_at_id(last_of_day.last_id + 1) == day * 1440


def test_ids_start_at_one_on_the_listing_day() -> None:
    tape = PAST.tape("BTCUSDT")
    first_day = tape.inst.onboard_ms // DAY_MS * 1440
    assert tape.first_id(first_day) == 1
    assert tape.minute_at_id(1) == tape.first_minute
    assert tape.minute_at_id(0) == tape.first_minute


def test_a_quarterly_carries_its_contango_to_delivery() -> None:
    quarterly = next(i for i in INSTRUMENTS if i.symbol.startswith("BTCUSD_") and i.delivery_ms < 2 * NOW)
    perpetual = PAST.tape("BTCUSD_PERP")
    tape = PAST.tape(quarterly.symbol)
    at = NOW // MINUTE_MS - 60
    ratio = tape.minute(at).kline.open / perpetual.minute(at).kline.open
    years = (quarterly.delivery_ms - at * MINUTE_MS) / (365 * DAY_MS)
    assert abs(ratio - (1 + 0.05 * years)) < 0.001


def test_a_live_start_takes_ids_above_the_past_and_above_any_earlier_start() -> None:
    tape = PAST.tape("ETHUSDT")
    day = NOW // DAY_MS
    starts = [day * DAY_MS + 1, NOW, NOW + 1_000, NOW + 3_600_000, (day + 1) * DAY_MS - 1, (day + 1) * DAY_MS]
    ids = [tape.live_first_id(t) for t in starts]
    assert ids == sorted(set(ids))  # later start, higher ids
    last_of_day = tape.minute((day + 1) * 1440 - 1).kline.last_id
    assert ids[0] > last_of_day  # above every id of the day's past
    # room for an earlier start's trading: an hour at eight times the mean rate fits
    assert ids[3] - ids[1] > 60 * tape.rate * 7
