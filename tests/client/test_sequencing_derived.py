"""Dedup for the derived streams, which carry no id (client/sequencing.py's docstring):
klines and continuous klines are state snapshots judged by (E, k.t) (spec §4.7, §4.12),
mark prices by E per symbol (§4.6), index prices by E per pair (§4.12), liquidations by
(E, o.T) per symbol (§4.10). An outage is a RECONNECTED gap, as on the tickers."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tickerplant.client.events import (
    ContinuousKline,
    ContinuousKlineData,
    ForceOrder,
    IndexPriceUpdate,
    Kline,
    KlineData,
    LiquidationOrder,
    MarketEvent,
    MarkPriceUpdate,
)
from tickerplant.client.sequencing import DELIVER, DUPLICATE, Gap, GapReason, Sequencer, Verdict

ONE = Decimal(1)
T0 = 1_767_225_600_000
MINUTE = 60_000


def kline(at: int, open_ms: int = T0, symbol: str = "BTCUSDT", trades: int = 1, closed: bool = False) -> Kline:
    data = KlineData(
        open_ms, open_ms + MINUTE - 1, symbol, "1m", 1, trades, ONE, ONE, ONE, ONE, ONE, trades, closed, ONE, ONE,
        ONE, "0",
    )  # fmt: skip
    return Kline(at, symbol, data)


def continuous(at: int, open_ms: int = T0, pair: str = "BTCUSDT") -> ContinuousKline:
    data = ContinuousKlineData(
        open_ms, open_ms + MINUTE - 1, "1m", 1, 1, ONE, ONE, ONE, ONE, ONE, 1, False, ONE, ONE, ONE, "0"
    )  # fmt: skip
    return ContinuousKline(at, pair, "PERPETUAL", data)


def mark(at: int, symbol: str = "BTCUSDT") -> MarkPriceUpdate:
    return MarkPriceUpdate(
        event_time=at,
        symbol=symbol,
        mark_price=ONE,
        settle_price=ONE,
        index_price=ONE,
        funding_rate="0.00010000",
        next_funding_time=T0 + 8 * 60 * MINUTE,
    )


def index(at: int, pair: str = "BTCUSD") -> IndexPriceUpdate:
    return IndexPriceUpdate(event_time=at, pair=pair, price=ONE)


def force(at: int, symbol: str = "BTCUSDT", trade_ms: int | None = None) -> ForceOrder:
    order = LiquidationOrder(
        symbol=symbol,
        side="SELL",
        order_type="LIMIT",
        time_in_force="IOC",
        qty=ONE,
        price=ONE,
        avg_price=ONE,
        status="FILLED",
        last_filled_qty=ONE,
        filled_qty=ONE,
        trade_time=at - 1 if trade_ms is None else trade_ms,
    )
    return ForceOrder(event_time=at, order=order)


def verdicts(seq: Sequencer, stream: str, events: Sequence[MarketEvent], conn: int = 1) -> list[Verdict | Gap]:
    return [seq.accept(stream, event, conn) for event in events]


def test_the_same_candle_pushed_again_is_new_and_a_repeated_push_a_duplicate() -> None:
    seq = Sequencer()
    events = [
        kline(T0 + 250),
        kline(T0 + 500, trades=2),  # the same candle, changed: new
        kline(T0 + 750, trades=2),  # the same candle again, later: still new (a snapshot)
        kline(T0 + 750, trades=2),  # the same push twice (a rollover's overlap)
        kline(T0 + 500, trades=2),  # an older push
        kline(T0 + MINUTE + 250, closed=True),  # the close ...
        kline(T0 + MINUTE + 250, open_ms=T0 + MINUTE),  # ... and the next candle, in one push
        kline(T0 + MINUTE + 250, closed=True),  # that close again
    ]
    assert verdicts(seq, "btcusdt@kline_1m", events) == [
        DELIVER, DELIVER, DELIVER, DUPLICATE, DUPLICATE, DELIVER, DELIVER, DUPLICATE,
    ]  # fmt: skip


def test_continuous_klines_are_tracked_per_pair() -> None:
    seq = Sequencer()
    stream = "btcusdt_perpetual@continuousKline_1m"
    events = [continuous(T0 + 250), continuous(T0 + 500), continuous(T0 + 500), continuous(T0 + 250)]
    assert verdicts(seq, stream, events) == [DELIVER, DELIVER, DUPLICATE, DUPLICATE]
    assert seq.tracked() == 1


def test_mark_prices_increase_per_symbol_and_per_element_of_an_array() -> None:
    seq = Sequencer()
    stream = "!markPrice@arr@1s"
    first = [mark(T0 + 1000, "BTCUSDT"), mark(T0 + 1000, "ETHUSDT")]  # one array: same E
    assert verdicts(seq, stream, first) == [DELIVER, DELIVER]
    assert verdicts(seq, stream, first) == [DUPLICATE, DUPLICATE]  # the array again
    again = [mark(T0 + 2000, "BTCUSDT"), mark(T0 + 1000, "ETHUSDT"), mark(T0 + 2000, "ETHUSDT")]
    assert verdicts(seq, stream, again) == [DELIVER, DUPLICATE, DELIVER]
    assert seq.tracked() == 2


def test_coinm_pair_mark_prices_go_by_their_contracts_and_index_prices_by_pair() -> None:
    seq = Sequencer()
    pair = [mark(T0 + 1000, "BTCUSD_PERP"), mark(T0 + 1000, "BTCUSD_260327")]
    assert verdicts(seq, "btcusd@markPrice@1s", pair) == [DELIVER, DELIVER]
    events = [index(T0 + 1000), index(T0 + 1000), index(T0 + 2000), index(T0 + 1000, "ETHUSD")]
    assert verdicts(seq, "btcusd@indexPrice@1s", events) == [DELIVER, DUPLICATE, DELIVER, DELIVER]


def test_liquidations_one_per_symbol_per_second_on_the_all_market_stream() -> None:
    seq = Sequencer()
    events = [
        force(T0 + 1000, "BTCUSDT"),
        force(T0 + 1000, "ETHUSDT"),  # the same second, another symbol
        force(T0 + 1000, "BTCUSDT"),  # a copy
        force(T0 + 1000, "BTCUSDT", trade_ms=T0 + 1000),  # same E, a later order: new
        force(T0 + 2000, "BTCUSDT"),
        force(T0 + 1500, "BTCUSDT"),  # older
    ]
    assert verdicts(seq, "!forceOrder@arr", events) == [DELIVER, DELIVER, DUPLICATE, DELIVER, DELIVER, DUPLICATE]


def test_an_outage_is_a_reconnected_gap_and_a_restarted_source_starts_over() -> None:
    seq = Sequencer()
    streams = {
        "btcusdt@kline_1m": lambda at: kline(at),
        "btcusdt_perpetual@continuousKline_1m": lambda at: continuous(at),
        "btcusdt@markPrice": lambda at: mark(at),
        "btcusd@indexPrice": lambda at: index(at),
        "btcusdt@forceOrder": lambda at: force(at),
    }
    for stream, make in streams.items():
        assert seq.accept(stream, make(T0 + 9000), 1) is DELIVER
        seq.connection_lost([stream], at_ms=T0 + 9500, connection_id=1)
        gap = seq.accept(stream, make(T0 + 12_000), 2)  # no id says what was lost: that it may be
        assert isinstance(gap, Gap) and gap.reason is GapReason.RECONNECTED, stream
        assert (gap.since_ms, gap.until_ms, gap.first_missing, gap.last_missing) == (T0 + 9500, T0 + 12_000, None, None)
        assert seq.accept(stream, make(T0 + 12_000), 2) is DUPLICATE, stream
        seq.connection_lost([stream], at_ms=T0 + 12_500, connection_id=2)
        # back in time after the loss: the source itself restarted (a replay played again)
        restarted = seq.resumed(stream, make(T0 + 1000), 3)
        assert isinstance(restarted, Gap) and restarted.reason is GapReason.RESTARTED, stream
        assert seq.accept(stream, make(T0 + 2000), 3) is DELIVER, stream
        assert seq.accept(stream, make(T0 + 1000), 3) is DUPLICATE, stream
    seq.forget("btcusdt@kline_1m")
    assert seq.tracked() == len(streams) - 1


def test_a_rollover_overlap_delivers_each_push_once() -> None:
    seq = Sequencer()
    stream = "btcusdt@kline_1m"
    pushes = [kline(T0 + 250 * n, trades=n) for n in range(1, 7)]
    got = [seq.accept(stream, push, 1) for push in pushes[:4]]
    # the new connection joins, both carry pushes 3 to 6 for a while, then the old one retires
    for push in pushes[2:]:
        got.append(seq.accept(stream, push, 2))
        if push.event_time <= pushes[4].event_time:
            got.append(seq.accept(stream, push, 1))
    seq.connection_retired([stream], 1)
    delivered = [v for v in got if v is DELIVER]
    assert len(delivered) == len(pushes)
    assert not [v for v in got if isinstance(v, Gap)]
