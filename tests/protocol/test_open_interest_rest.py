"""Open interest over REST (protocol/open_interest.py): `openInterest` and
`futures/data/openInterestHist` on both markets, their shapes, key order, selection and
errors, over a market view fed by the plant's notes."""

from __future__ import annotations

from typing import Any

import msgspec

from tickerplant.market.derivatives.open_interest import PERIOD_MS
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import DAY_MS, HOUR_MS
from tickerplant.market.updates import OpenInterest
from tickerplant.protocol.market_data import MarketData
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.protocol.rest import RestApi

T0 = 1_767_225_600_000
NOW = T0 + 1234


def rest_api(market: Market) -> RestApi:
    instruments = catalogue(market, T0)
    plant = Plant(market, instruments, now_ms=T0)
    view = MarketView(market, instruments)
    out: list[StreamMessage] = []
    for n, inst in enumerate(instruments):
        # two days of 5-minute points: 1,000 + k at the k-th; price 90,000 on BTC
        past = tuple((T0 - k * PERIOD_MS, 1_000 + k, inst.initial_price) for k in range(2 * 288, 0, -1))
        plant.apply(OpenInterest(inst.symbol, T0 + 7, 500 + n, inst.initial_price, past), T0 + 7, out)
    view.receive(out)
    return RestApi(market, MarketData(view, cm_arrays=True), RequestWeight(10**9), instruments)


def get(rest: RestApi, path: str, query: str) -> tuple[int, Any]:
    answer = rest.answer(path, query, "ip", NOW)
    return answer.status, msgspec.json.decode(answer.body)


def test_usdm_open_interest() -> None:
    rest = rest_api(Market.UM)
    answer = rest.answer("/fapi/v1/openInterest", "symbol=BTCUSDT", "ip", NOW)
    assert answer.status == 200
    assert answer.body == b'{"openInterest":"0.500","symbol":"BTCUSDT","time":%d}' % (T0 + 7)
    assert get(rest, "/fapi/v1/openInterest", "symbol=btcusdt")[0] == 200
    assert get(rest, "/fapi/v1/openInterest", "")[1]["code"] == -1102
    assert get(rest, "/fapi/v1/openInterest", "symbol=NOPE")[1]["code"] == -1121


def test_coinm_open_interest() -> None:
    rest = rest_api(Market.CM)
    answer = rest.answer("/dapi/v1/openInterest", "symbol=BTCUSD_PERP", "ip", NOW)
    assert answer.body == (
        b'{"symbol":"BTCUSD_PERP","pair":"BTCUSD","openInterest":"500","contractType":"PERPETUAL","time":%d}'
        % (T0 + 7)
    )


def test_usdm_history_rows() -> None:
    rest = rest_api(Market.UM)
    status, rows = get(rest, "/futures/data/openInterestHist", "symbol=BTCUSDT&period=5m")
    assert status == 200 and len(rows) == 30  # the default limit
    assert list(rows[-1]) == ["symbol", "sumOpenInterest", "sumOpenInterestValue", "timestamp"]
    assert rows[-1] == {
        "symbol": "BTCUSDT", "sumOpenInterest": "0.50000000", "sumOpenInterestValue": "45000.00000000",
        "timestamp": T0,
    }  # 0.5 BTC at 90,000
    assert rows[-2]["sumOpenInterest"] == "1.00100000" and rows[-2]["timestamp"] == T0 - PERIOD_MS
    times = [r["timestamp"] for r in rows]
    assert times == sorted(times)
    _, hourly = get(rest, "/futures/data/openInterestHist", "symbol=BTCUSDT&period=1h&limit=500")
    assert len(hourly) == 49 and all(r["timestamp"] % HOUR_MS == 0 for r in hourly)
    _, since = get(rest, "/futures/data/openInterestHist", f"symbol=BTCUSDT&period=1h&limit=3&startTime={T0 - DAY_MS}")
    assert [r["timestamp"] for r in since] == [T0 - DAY_MS + k * HOUR_MS for k in range(3)]
    _, until = get(rest, "/futures/data/openInterestHist", f"symbol=BTCUSDT&period=1d&endTime={T0 - 1}")
    assert [r["timestamp"] for r in until] == [T0 - 2 * DAY_MS, T0 - DAY_MS]


def test_coinm_history_by_pair_and_contract_type() -> None:
    rest = rest_api(Market.CM)
    status, rows = get(rest, "/futures/data/openInterestHist", "pair=BTCUSD&contractType=PERPETUAL&period=5m&limit=2")
    assert status == 200
    assert list(rows[-1]) == ["contractType", "sumOpenInterest", "sumOpenInterestValue", "pair", "timestamp"]
    assert rows[-1]["contractType"] == "PERPETUAL" and rows[-1]["pair"] == "BTCUSD"
    assert rows[-1]["sumOpenInterest"] == "500.00000000"
    # 500 contracts of 100 USD at 90,000: 0.55555555 BTC
    assert rows[-1]["sumOpenInterestValue"] == "0.55555555"
    _, every = get(rest, "/futures/data/openInterestHist", "pair=BTCUSD&contractType=ALL&period=5m&limit=2")
    listed = catalogue(Market.CM, T0)
    total = sum(500 + n for n, inst in enumerate(listed) if inst.pair == "BTCUSD")
    assert every[-1]["sumOpenInterest"] == f"{total}.00000000"  # the perpetual and the quarterlies


def test_history_errors() -> None:
    um, cm = rest_api(Market.UM), rest_api(Market.CM)
    path = "/futures/data/openInterestHist"
    assert get(um, path, "symbol=BTCUSDT")[1]["code"] == -1102  # no period
    assert get(um, path, "symbol=BTCUSDT&period=1m")[1]["code"] == -1102
    assert get(um, path, "symbol=BTCUSDT&period=5m&limit=501")[1]["code"] == -1130
    assert get(um, path, "period=5m")[1]["code"] == -1102
    assert get(um, path, f"symbol=BTCUSDT&period=5m&startTime={T0}&endTime={T0 - 1}")[1]["code"] == -1023
    assert get(cm, path, "pair=BTCUSD&period=5m")[1]["code"] == -1102  # no contractType
    assert get(cm, path, "pair=NOPE&contractType=ALL&period=5m")[1]["code"] == -1121
    # older than 30 days: nothing kept, an empty answer
    assert get(um, path, f"symbol=BTCUSDT&period=5m&endTime={T0 - 40 * DAY_MS}")[1] == []


def test_a_source_without_open_interest() -> None:
    instruments = catalogue(Market.UM, T0)
    rest = RestApi(Market.UM, MarketData(MarketView(Market.UM, instruments), cm_arrays=True), RequestWeight(10**9), instruments)
    status, body = get(rest, "/fapi/v1/openInterest", "symbol=BTCUSDT")
    assert status == 400 and body["code"] == -1000
    assert get(rest, "/futures/data/openInterestHist", "symbol=BTCUSDT&period=5m") == (200, [])


def test_a_source_without_the_simulated_past_has_no_long_short_ratios() -> None:
    """A replay or a relay (no simulated past): the three ratios answer an empty list, as
    `openInterestHist` does there; their parameters are still checked (protocol/long_short.py)."""
    for market, query in ((Market.UM, "symbol=BTCUSDT"), (Market.CM, "pair=BTCUSD")):
        instruments = catalogue(market, T0)
        data = MarketData(MarketView(market, instruments), cm_arrays=True)
        rest = RestApi(market, data, RequestWeight(10**9), instruments)
        for path in ("globalLongShortAccountRatio", "topLongShortAccountRatio", "topLongShortPositionRatio"):
            assert get(rest, f"/futures/data/{path}", f"{query}&period=5m") == (200, [])
            assert get(rest, f"/futures/data/{path}", query)[1]["code"] == -1102


def test_no_composite_index_is_listed() -> None:
    """``GET /fapi/v1/indexInfo`` (USDⓈ-M; python-binance's ``futures_index_info``): none, and
    a symbol named is none of them."""
    rest = rest_api(Market.UM)
    assert get(rest, "/fapi/v1/indexInfo", "") == (200, [])
    assert get(rest, "/fapi/v1/indexInfo", "symbol=DEFIUSDT") == (400, {"code": -1121, "msg": "Invalid symbol."})
    assert get(rest_api(Market.CM), "/dapi/v1/indexInfo", "")[1]["code"] == -5000  # COIN-M has none
