"""The plant's kline and continuous kline streams (spec §4.7, §4.12): cadence, the final
`"x":true`, bytes, bounded state and exact sums, driven by hand-picked times."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from plant_inputs import instrument

from tickerplant.market.instruments import ContractType, Market
from tickerplant.market.klines.candles import CONTINUOUS_INTERVALS_UM, INTERVALS
from tickerplant.market.klines.streams import ContinuousContracts
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import AggTrade, Trade

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, a Thursday
MINUTE = 60_000


def _klines(out: list[StreamMessage]) -> list[StreamMessage]:
    return [m for m in out if "@kline_" in m.stream or "@continuousKline_" in m.stream]


def _decoded(out: list[StreamMessage], stream: str) -> list[dict[str, Any]]:
    return [msgspec.json.decode(m.payload) for m in out if m.stream == stream]


def test_um_kline_and_continuous_kline_bytes() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSDT", 7, T0 + 10, 9_000_010, 1500, False), T0 + 10, out)
    plant.apply(Trade("BTCUSDT", 8, T0 + 20, 8_999_990, 500, True), T0 + 20, out)
    out.clear()
    plant.tick(T0 + 250, out)
    by_name = {m.stream: m.payload for m in out}
    assert by_name["btcusdt@kline_1m"] == (
        b'{"e":"kline","E":1767225600250,"s":"BTCUSDT","k":{"t":1767225600000,"T":1767225659999,'
        b'"s":"BTCUSDT","i":"1m","f":7,"L":8,"o":"90000.10","c":"89999.90","h":"90000.10",'
        b'"l":"89999.90","v":"2.000","n":2,"x":false,"q":"180000.10000","V":"1.500",'
        b'"Q":"135000.15000","B":"0"}}'
    )
    assert by_name["btcusdt_perpetual@continuousKline_1m"] == (
        b'{"e":"continuous_kline","E":1767225600250,"ps":"BTCUSDT","ct":"PERPETUAL","k":'
        b'{"t":1767225600000,"T":1767225659999,"i":"1m","f":7,"L":8,"o":"90000.10","c":"89999.90",'
        b'"h":"90000.10","l":"89999.90","v":"2.000","n":2,"x":false,"q":"180000.10000",'
        b'"V":"1.500","Q":"135000.15000","B":"0"}}'
    )
    # every interval once each way; `1s` is a continuous kline's only (§4.7, §4.12)
    assert sorted(by_name) == sorted(
        [f"btcusdt@kline_{i}" for i in INTERVALS]
        + [f"btcusdt_perpetual@continuousKline_{i}" for i in CONTINUOUS_INTERVALS_UM]
    )
    assert "btcusdt@kline_1s" not in by_name


def test_cm_kline_volume_in_contracts_and_base_asset() -> None:
    plant = Plant(Market.CM, [instrument(Market.CM)], now_ms=T0)
    out: list[StreamMessage] = []
    # 3 contracts of 100 USD at 90000.0: 0.00333333 BTC; taker buy
    plant.apply(Trade("BTCUSD_PERP", 41, T0 + 5, 900_000, 3, False), T0 + 5, out)
    out.clear()
    plant.tick(T0 + 250, out)
    by_name = {m.stream: m.payload for m in out}
    assert by_name["btcusd_perp@kline_1m"] == (
        b'{"e":"kline","E":1767225600250,"s":"BTCUSD_PERP","k":{"t":1767225600000,"T":1767225659999,'
        b'"s":"BTCUSD_PERP","i":"1m","f":41,"L":41,"o":"90000.0","c":"90000.0","h":"90000.0",'
        b'"l":"90000.0","v":"3","n":1,"x":false,"q":"0.00333333","V":"3","Q":"0.00333333","B":"0"}}'
    )
    assert by_name["btcusd_perpetual@continuousKline_1m"] == (
        b'{"e":"continuous_kline","E":1767225600250,"ps":"BTCUSD","ct":"PERPETUAL","k":'
        b'{"t":1767225600000,"T":1767225659999,"i":"1m","f":41,"L":41,"o":"90000.0","c":"90000.0",'
        b'"h":"90000.0","l":"90000.0","v":"3","n":1,"x":false,"q":"0.00333333","V":"3",'
        b'"Q":"0.00333333","B":"0"}}'
    )
    assert not [name for name in by_name if name.endswith("_1s")]  # no 1s on COIN-M


def test_pushed_every_250_ms_only_when_changed() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSDT", 1, T0 + 10, 9_000_000, 1, False), T0 + 10, out)
    assert not _klines(out)  # never per trade
    assert plant.next_tick_ms <= T0 + 250
    plant.tick(T0 + 250, out)
    assert len(_decoded(out, "btcusdt@kline_1m")) == 1
    out.clear()
    plant.tick(T0 + 500, out)
    plant.tick(T0 + 750, out)
    assert not _klines(out)  # unchanged: silent
    plant.apply(Trade("BTCUSDT", 2, T0 + 800, 9_000_100, 2, True), T0 + 800, out)
    plant.tick(T0 + 1000, out)
    [k] = _decoded(out, "btcusdt@kline_1m")
    assert (k["E"], k["k"]["n"], k["k"]["c"], k["k"]["x"]) == (T0 + 1000, 2, "90001.00", False)


def test_final_push_at_the_first_tick_past_the_close() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSDT", 1, T0 + 59_990, 9_000_000, 1, False), T0 + 59_990, out)
    plant.tick(T0 + 59_999, out)  # not yet due: pushed only from the cadence's next tick
    plant.tick(T0 + 60_000, out)
    pushed = _decoded(out, "btcusdt@kline_1m")
    assert [k["k"]["x"] for k in pushed] == [False, True]
    assert pushed[-1]["k"]["t"] == T0 and pushed[-1]["E"] == T0 + 60_000
    # the 3m candle stays open, and was pushed once, before
    assert [k["k"]["x"] for k in _decoded(out, "btcusdt@kline_3m")] == [False]
    out.clear()
    plant.tick(T0 + 120_000, out)
    assert not _klines(out)  # a minute without trades has no kline
    plant.apply(Trade("BTCUSDT", 2, T0 + 130_000, 9_000_500, 1, False), T0 + 130_000, out)
    plant.tick(T0 + 130_250, out)
    [k] = _decoded(out, "btcusdt@kline_1m")
    assert (k["k"]["t"], k["k"]["o"], k["k"]["f"]) == (T0 + 120_000, "90005.00", 2)
    [k3] = _decoded(out, "btcusdt@kline_3m")  # the same 3m candle, both trades
    assert (k3["k"]["t"], k3["k"]["n"], k3["k"]["x"]) == (T0, 2, False)


def test_a_trade_past_the_close_before_any_tick_closes_first() -> None:
    """Ticks further apart than an interval: the candle is still pushed final, once, before
    the next interval's candle opens (at the trade that crosses)."""
    plant = Plant(Market.CM, [instrument(Market.CM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSD_PERP", 1, T0 + 1000, 900_000, 1, False), T0 + 1000, out)
    plant.apply(Trade("BTCUSD_PERP", 2, T0 + 61_000, 900_100, 1, False), T0 + 61_000, out)
    plant.apply(Trade("BTCUSD_PERP", 3, T0 + 121_000, 900_200, 1, False), T0 + 121_000, out)
    finals = [k for k in _decoded(out, "btcusd_perp@kline_1m") if k["k"]["x"]]
    assert [(k["k"]["t"], k["k"]["n"]) for k in finals] == [(T0, 1)]
    plant.tick(T0 + 121_250, out)
    finals = [k["k"]["t"] for k in _decoded(out, "btcusd_perp@kline_1m") if k["k"]["x"]]
    assert finals == [T0, T0 + MINUTE]


def test_warm_history_is_in_the_first_candles() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0 + 30_000)
    plant.warm(
        [
            Trade("BTCUSDT", 1, T0 - 2 * 86_400_000, 8_000_000, 1, False),  # two days ago: gone
            Trade("BTCUSDT", 2, T0 + 1_000, 9_000_000, 4, False),
            Trade("BTCUSDT", 3, T0 + 20_000, 9_100_000, 6, True),
        ]
    )
    out: list[StreamMessage] = []
    plant.tick(T0 + 30_250, out)
    [k] = _decoded(out, "btcusdt@kline_1m")
    assert (k["k"]["f"], k["k"]["L"], k["k"]["v"], k["k"]["o"], k["k"]["c"]) == (2, 3, "0.010", "90000.00", "91000.00")
    [day] = _decoded(out, "btcusdt@kline_1d")
    assert (day["k"]["t"], day["k"]["n"]) == (T0, 2)
    assert not [m for m in _klines(out) if msgspec.json.decode(m.payload)["k"]["x"] and "_1s" not in m.stream]


def test_aggregates_count_their_fills() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(AggTrade("BTCUSDT", 5, 100, 104, T0 + 10, 9_000_000, 50, False), T0 + 10, out)
    plant.tick(T0 + 250, out)
    [k] = _decoded(out, "btcusdt@kline_1m")
    assert (k["k"]["f"], k["k"]["L"], k["k"]["n"]) == (100, 104, 5)


def test_without_derived_streams_nothing_is_produced() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0, derived_streams=False)
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSDT", 1, T0 + 10, 9_000_000, 1, False), T0 + 10, out)
    for t in range(250, 120_001, 250):
        plant.tick(T0 + t, out)
    assert not _klines(out)
    assert plant.symbols["BTCUSDT"].candles is None


def test_state_stays_bounded_over_days_of_trading() -> None:
    """One open candle per interval and one pending candle, whatever the trades: two
    simulated days, a burst of trades every 30 s, each followed by a tick."""
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    candles = plant.symbols["BTCUSDT"].candles
    assert candles is not None
    trade_id = 0
    finals = 0
    for t in range(0, 2 * 86_400_000, 30_000):
        for _ in range(5):
            trade_id += 1
            plant.apply(Trade("BTCUSDT", trade_id, T0 + t, 9_000_000 + trade_id % 100, 1, False), T0 + t, out)
        plant.tick(T0 + t + 250, out)
        finals += sum(1 for m in out if b'"x":true' in m.payload and "@kline_1m" in m.stream)
        out.clear()
        assert len(candles.candles) == len(CONTINUOUS_INTERVALS_UM)
        assert sum(k is not None for k in candles.candles) <= len(CONTINUOUS_INTERVALS_UM)
    assert finals == 2 * 24 * 60 - 1  # every minute closed once (the last one is still open)


_TRADES = st.lists(
    st.tuples(
        st.integers(0, 3 * MINUTE),  # time since T0
        st.integers(8_990_000, 9_010_000),  # price units
        st.integers(1, 5000),  # qty units
        st.booleans(),  # buyer is maker
    ),
    min_size=1,
    max_size=60,
).map(lambda trades: sorted(trades, key=lambda t: t[0]))


@settings(max_examples=60, deadline=None)
@given(trades=_TRADES, tick_every=st.sampled_from([250, 1000, 45_000]))
def test_a_closed_kline_is_the_sums_over_its_trades(trades: list[tuple[int, int, int, bool]], tick_every: int) -> None:
    inst = instrument(Market.UM)
    plant = Plant(Market.UM, [inst], now_ms=T0)
    out: list[StreamMessage] = []
    next_tick = T0 + tick_every
    for trade_id, (t, price, qty, maker) in enumerate(trades, start=1):
        while next_tick <= T0 + t:
            plant.tick(next_tick, out)
            next_tick += tick_every
        plant.apply(Trade("BTCUSDT", trade_id, T0 + t, price, qty, maker), T0 + t, out)
    while next_tick <= T0 + 5 * MINUTE:
        plant.tick(next_tick, out)
        next_tick += tick_every
    finals = [k["k"] for k in _decoded(out, "btcusdt@kline_1m") if k["k"]["x"]]
    minutes = sorted({t // MINUTE for t, *_ in trades})
    assert [k["t"] for k in finals] == [T0 + m * MINUTE for m in minutes]
    for k in finals:
        mine = [(i, tr) for i, tr in enumerate(trades, start=1) if tr[0] // MINUTE == (k["t"] - T0) // MINUTE]
        prices = [tr[1] for _, tr in mine]
        qty = sum(tr[2] for _, tr in mine)
        taker = sum(tr[2] for _, tr in mine if not tr[3])
        quote = sum(tr[1] * tr[2] for _, tr in mine)
        assert k["o"] == _price(prices[0]) and k["c"] == _price(prices[-1])
        assert k["h"] == _price(max(prices)) and k["l"] == _price(min(prices))
        assert k["v"] == f"{qty / 1000:.3f}" and k["V"] == f"{taker / 1000:.3f}"
        assert k["q"] == _quote(quote) and k["n"] == len(mine)
        assert (k["f"], k["L"]) == (mine[0][0], mine[-1][0])


def _price(units: int) -> str:
    return f"{units // 100}.{units % 100:02d}"


def _quote(units: int) -> str:
    return f"{units // 100_000}.{units % 100_000:05d}"


def test_continuous_contracts_roll_at_delivery() -> None:
    perp = instrument(Market.CM)
    q1 = dataclasses.replace(
        perp, symbol="BTCUSD_260327", contract_type=ContractType.CURRENT_QUARTER, delivery_ms=T0 + 10 * MINUTE
    )
    q2 = dataclasses.replace(
        perp, symbol="BTCUSD_260626", contract_type=ContractType.NEXT_QUARTER, delivery_ms=T0 + 100 * MINUTE
    )
    contracts = ContinuousContracts([perp, q2, q1])
    assert contracts.contract("BTCUSD", "perpetual", T0) == perp
    assert contracts.contract("BTCUSD", "CURRENT_QUARTER", T0) == q1
    assert contracts.contract("BTCUSD", "next_quarter", T0) == q2
    assert contracts.contract("BTCUSD", "current_quarter", T0 + 10 * MINUTE) == q2
    assert contracts.contract("BTCUSD", "next_quarter", T0 + 10 * MINUTE) is None
    assert contracts.contract("BTCUSD", "tradifi_perpetual", T0) is None

    plant = Plant(Market.CM, [perp, q1, q2], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSD_260626", 1, T0 + 10, 910_000, 2, False), T0 + 10, out)
    plant.tick(T0 + 250, out)
    [k] = _decoded(out, "btcusd_next_quarter@continuousKline_1m")
    assert (k["ps"], k["ct"], k["k"]["o"]) == ("BTCUSD", "NEXT_QUARTER", "91000.0")
    plant.tick(T0 + MINUTE, out)  # its final, as the next quarter
    assert [k["k"]["x"] for k in _decoded(out, "btcusd_next_quarter@continuousKline_1m")] == [False, True]
    out.clear()
    plant.apply(Trade("BTCUSD_260626", 2, T0 + 10 * MINUTE + 10, 910_100, 2, False), T0 + 10 * MINUTE + 10, out)
    plant.tick(T0 + 10 * MINUTE + 250, out)
    [k] = _decoded(out, "btcusd_current_quarter@continuousKline_1m")  # delivered: the next is current
    assert (k["ct"], k["k"]["o"]) == ("CURRENT_QUARTER", "91010.0")
    assert not _decoded(out, "btcusd_next_quarter@continuousKline_1m")


_PAST = st.lists(
    st.tuples(
        st.integers(0, 26 * 60 * MINUTE),  # time since T0 - 1 day: a day's history, and beyond
        st.integers(8_990_000, 9_010_000),  # price units
        st.integers(1, 5000),  # qty units
        st.booleans(),  # buyer is maker
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=80, deadline=None)
@given(past=_PAST, in_order=st.booleans(), market=st.sampled_from(list(Market)))
def test_a_warm_start_in_one_call_pushes_what_one_per_trade_pushes(
    past: list[tuple[int, int, int, bool]], in_order: bool, market: Market
) -> None:
    """The warm start gathers the candles in one pass (``kline_warm``): whatever the trades
    (clustered in a second or spread over a day, in time order or not), what the plant pushes
    after is what it pushes after the same trades given one call each."""
    if in_order:
        past = sorted(past, key=lambda trade: trade[0])
    inst = instrument(market)
    start = T0 - 86_400_000
    now = start + max(t for t, *_ in past) + 1
    trades = [
        Trade(inst.symbol, trade_id, start + t, price, qty, maker)
        for trade_id, (t, price, qty, maker) in enumerate(past, start=1)
    ]
    whole = Plant(market, [inst], now_ms=now)
    whole.warm(trades)
    one_by_one = Plant(market, [inst], now_ms=now)
    for trade in trades:
        one_by_one.warm([trade])
    for plant in (whole, one_by_one):
        plant.apply(Trade(inst.symbol, len(trades) + 1, now + 1, 9_000_000, 7, False), now + 1, [])
    pushed: list[list[StreamMessage]] = [[], []]
    for t in (250, 500, 61_000, 3_600_000, 86_400_000):
        for plant, out in zip((whole, one_by_one), pushed, strict=True):
            plant.tick(now + t, out)
    assert _klines(pushed[0]) == _klines(pushed[1])
    assert _klines(pushed[0])
