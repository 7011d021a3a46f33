"""COIN-M's mark-price and index-price kline streams (market/klines/price_streams.py, spec
§3.5): golden bytes, the 250 ms cadence, the final `"x":true`, the candle of the samples,
USDⓈ-M without them, and state bounded over days of samples; USDⓈ-M's premium index
klines (`p<SYMBOL>@kline_<interval>`), golden bytes."""

from __future__ import annotations

from typing import Any

import msgspec
from plant_inputs import instrument

from tickerplant.market.instruments import Market
from tickerplant.market.klines.candles import INTERVALS
from tickerplant.market.messages import StreamMessage
from tickerplant.market.payloads import derived_events
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import IndexPrice, MarkPrice

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
MINUTE = 60_000


def _mark(time_ms: int, price: int, symbol: str = "BTCUSD_PERP") -> MarkPrice:
    return MarkPrice(symbol, time_ms, price, price - 50_000_000, price, 10_000, 10_000, T0 + 8 * 3_600_000)


def _price_klines(out: list[StreamMessage], stream: str) -> list[dict[str, Any]]:
    return [msgspec.json.decode(m.payload) for m in out if m.stream == stream]


def _run(plant: Plant, start: int, end: int, samples: dict[int, list[Any]]) -> list[StreamMessage]:
    """The plant driven every 50 ms as the pump drives it, the samples applied when due."""
    out: list[StreamMessage] = []
    for now in range(start, end, 50):
        for update in samples.get(now, []):
            plant.apply(update, now, out)
        if now >= plant.next_tick_ms:
            plant.tick(now, out)
    return out


def test_golden_bytes_of_both_streams_in_both_payload_formats() -> None:
    for payload_format in PayloadFormat:
        plant = Plant(Market.CM, [instrument(Market.CM)], now_ms=T0, payload_format=payload_format)
        out: list[StreamMessage] = []
        plant.apply(_mark(T0 + 1000, 9_000_012_345_678), T0 + 1000, out)
        plant.apply(_mark(T0 + 2000, 8_999_912_345_678), T0 + 2000, out)
        plant.apply(IndexPrice("BTCUSD", T0 + 2000, 8_999_900_000_000), T0 + 2000, out)
        plant.tick(T0 + 2250, out)
        by_name = {m.stream: m.payload for m in out}
        assert by_name["btcusd_perp@markPriceKline_1m"] == (
            b'{"e":"markPrice_kline","E":1767225602250,"ps":"BTCUSD","k":{"t":1767225600000,'
            b'"T":1767225659999,"s":"BTCUSD_PERP","i":"1m","f":1767225601000,"L":1767225602000,'
            b'"o":"90000.12345678","c":"89999.12345678","h":"90000.12345678","l":"89999.12345678",'
            b'"v":"0","n":2,"x":false,"q":"0","V":"0","Q":"0","B":"0"}}'
        ), payload_format
        assert by_name["btcusd@indexPriceKline_1h"] == (
            b'{"e":"indexPrice_kline","E":1767225602250,"ps":"BTCUSD","k":{"t":1767225600000,'
            b'"T":1767229199999,"s":"0","i":"1h","f":1767225602000,"L":1767225602000,'
            b'"o":"89999.00000000","c":"89999.00000000","h":"89999.00000000","l":"89999.00000000",'
            b'"v":"0","n":1,"x":false,"q":"0","V":"0","Q":"0","B":"0"}}'
        ), payload_format
        # every interval of the trade klines, both kinds (§4.7's 15; no 1s)
        assert sorted(name for name in by_name if "PriceKline_" in name) == sorted(
            [f"btcusd_perp@markPriceKline_{i}" for i in INTERVALS] + [f"btcusd@indexPriceKline_{i}" for i in INTERVALS]
        )


def test_pushed_every_250_ms_when_changed_and_closed_once_with_x() -> None:
    plant = Plant(Market.CM, [instrument(Market.CM)], now_ms=T0)
    # a sample each second for two minutes, a steady rise
    samples = {T0 + s * 1000: [_mark(T0 + s * 1000, 9_000_000_000_000 + s * 100_000_000)] for s in range(0, 120)}
    out = _run(plant, T0, T0 + 120_500, samples)
    pushed = _price_klines(out, "btcusd_perp@markPriceKline_1m")
    assert all(k["E"] % 250 == 0 for k in pushed)
    opens = [k for k in pushed if not k["k"]["x"]]
    assert len(opens) == 120, "once per sample: the first tick after it, never when nothing changed"
    finals = [k["k"] for k in pushed if k["k"]["x"]]
    assert [k["t"] for k in finals] == [T0, T0 + MINUTE]
    first = finals[0]
    assert (first["n"], first["f"], first["L"]) == (60, T0, T0 + 59_000)
    assert (first["o"], first["c"], first["h"], first["l"]) == (
        "90000.00000000", "90059.00000000", "90059.00000000", "90000.00000000"
    )  # fmt: skip
    # the final push comes at the first sample past the close, before the new minute's
    minute_two = [k for k in pushed if k["k"]["t"] == T0 + MINUTE]
    assert pushed.index(minute_two[0]) > pushed.index(next(k for k in pushed if k["k"]["x"]))


def test_usds_m_has_neither_stream() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    mark = MarkPrice("BTCUSDT", T0 + 1000, 9_000_000_000_000, 9_000_000_000_000, 9_000_000_000_000, 1, 1, 0)
    out = _run(plant, T0, T0 + 3000, {T0 + 1000: [mark]})
    assert not [m for m in out if "PriceKline_" in m.stream]


def test_state_stays_bounded_over_days_of_samples() -> None:
    """A sample a minute for three days: still one open candle per interval, and each minute
    closed once."""
    plant = Plant(Market.CM, [instrument(Market.CM)], now_ms=T0)
    finals = 0
    out: list[StreamMessage] = []
    for minute in range(3 * 24 * 60):
        now = T0 + minute * MINUTE + 1000
        plant.apply(_mark(now, 9_000_000_000_000 + minute), now, out)
        plant.apply(IndexPrice("BTCUSD", now, 9_000_000_000_000), now, out)
        plant.tick(now + 250, out)
        finals += sum(1 for m in out if m.stream == "btcusd_perp@markPriceKline_1m" and b'"x":true' in m.payload)
        assert len(out) <= 2 * 2 * len(INTERVALS) + 2 + 1, "at most a final and an update per candle"
        out.clear()
    assert finals == 3 * 24 * 60 - 1


def test_usds_m_premium_index_klines_are_kline_payloads_of_the_premium_samples() -> None:
    """`p<SYMBOL>@kline_<interval>`: the premium index's candles as a kline payload (s and
    k.s the stream's `pBTCUSDT`), negative when the premium is, from the source's premium
    index or, where it has none, from mark and index as the views derive it."""
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    known = MarkPrice("BTCUSDT", T0 + 1000, 9_000_000_000_000, 9_000_000_000_000, 9_000_000_000_000, 1, 1, 0, -12_345)
    plant.apply(known, T0 + 1000, out)
    unknown = MarkPrice("BTCUSDT", T0 + 2000, 9_009_000_000_000, 9_000_000_000_000, 9_000_000_000_000, 1, 1, 0)
    plant.apply(unknown, T0 + 2000, out)  # (9009 - 9000) / 9000 = 0.001
    plant.tick(T0 + 2250, out)
    by_name = {m.stream: m.payload for m in out}
    assert by_name["pBTCUSDT@kline_1m"] == (
        b'{"e":"kline","E":1767225602250,"s":"pBTCUSDT","k":{"t":1767225600000,"T":1767225659999,'
        b'"s":"pBTCUSDT","i":"1m","f":1767225601000,"L":1767225602000,"o":"-0.00012345",'
        b'"c":"0.00100000","h":"0.00100000","l":"-0.00012345","v":"0","n":2,"x":false,"q":"0",'
        b'"V":"0","Q":"0","B":"0"}}'
    )
    assert sorted(name for name in by_name if name.startswith("p")) == sorted(
        f"pBTCUSDT@kline_{interval}" for interval in INTERVALS
    )
    decoded = msgspec.json.decode(by_name["pBTCUSDT@kline_1h"], type=derived_events.Kline[str])
    assert (decoded.symbol, decoded.kline.interval, decoded.kline.closed) == ("pBTCUSDT", "1h", False)
    out.clear()
    plant.tick(T0 + MINUTE + 250, out)
    [closed] = [msgspec.json.decode(m.payload) for m in out if m.stream == "pBTCUSDT@kline_1m"]
    assert closed["k"]["x"] is True
