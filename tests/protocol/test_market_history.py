"""REST trades, aggTrades and continuousKlines (spec §7.8, §7.9), both markets, answered
from a market view fed the plant's payloads, without sockets."""

from __future__ import annotations

from typing import Any

import msgspec

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.market.updates import Trade
from tickerplant.protocol.market_data import MarketData
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.protocol.rest import RestApi

T0 = 1_767_225_600_000
DAY = 86_400_000


class Market_:
    """A plant and the REST API over a view of it, for one market."""

    def __init__(self, market: Market) -> None:
        self.instruments = catalogue(market, T0)
        self.plant = Plant(market, self.instruments, now_ms=T0)
        self.view = MarketView(market, self.instruments)
        self.weight = RequestWeight(10**9)
        self.rest = RestApi(market, MarketData(self.view, cm_arrays=True), self.weight, self.instruments)
        self.prefix = "/fapi" if market is Market.UM else "/dapi"

    def trade(self, symbol: str, trade_id: int, time_ms: int, price: int, qty: int, maker: bool) -> None:
        out: list[StreamMessage] = []
        self.plant.apply(Trade(symbol, trade_id, time_ms, price, qty, maker), time_ms, out)
        self.view.receive(out)

    def get(self, path: str, query: str, now_ms: int = T0 + DAY) -> tuple[int, Any, int]:
        """Status, body and the weight this request cost."""
        before = self.weight.used("ip", now_ms)
        answer = self.rest.answer(f"{self.prefix}/v1/{path}", query, "ip", now_ms)
        return answer.status, msgspec.json.decode(answer.body), answer.used_weight - before


def test_um_agg_trades_rows_and_paging() -> None:
    m = Market_(Market.UM)
    for n in range(1, 31):
        m.trade("BTCUSDT", n, T0 + DAY - 60_000 + 1000 * n, 9_000_000 + n, 1000 + n, n % 3 == 0)
    status, rows, used = m.get("aggTrades", "symbol=BTCUSDT&limit=2")
    assert (status, used) == (200, 20)
    assert msgspec.json.encode(rows[-1]) == (
        b'{"a":30,"p":"90000.30","q":"1.030","nq":"1.030","f":30,"l":30,"T":1767311970000,"m":true}'
    )
    assert [r["a"] for r in m.get("aggTrades", "symbol=btcusdt&fromId=5&limit=3")[1]] == [5, 6, 7]
    start = T0 + DAY - 60_000 + 10_000
    rows = m.get("aggTrades", f"symbol=BTCUSDT&startTime={start}&endTime={start + 3_600_000}")[1]
    assert [r["a"] for r in rows] == list(range(10, 31))
    two_hours = m.get("aggTrades", f"symbol=BTCUSDT&startTime={start}&endTime={start + 7_200_000}")
    assert two_hours[0] == 200  # live answers windows past the docs' hour (§7.9)
    assert len(m.get("aggTrades", "symbol=BTCUSDT")[1]) == 30  # default 500


def test_agg_trades_refusals() -> None:
    m = Market_(Market.UM)
    now = T0 + 3 * DAY
    assert m.get("aggTrades", f"symbol=BTCUSDT&startTime={now - 2 * DAY - 1}", now)[:2] == (
        400, {"code": -4166, "msg": "Search window is restricted to recent 2 days only."}
    )
    assert m.get("aggTrades", f"symbol=BTCUSDT&startTime={now - 2 * DAY}", now)[0] == 200
    assert m.get("aggTrades", "symbol=BTCUSDT&limit=1001", now)[1]["code"] == -1130
    assert m.get("aggTrades", f"symbol=BTCUSDT&startTime={now}&endTime={now - 1}", now)[1]["code"] == -1023
    assert m.get("aggTrades", "symbol=NOPE", now)[1]["code"] == -1121
    assert m.get("aggTrades", "limit=5", now)[1]["code"] == -1102


def test_cm_agg_trades_and_trades_rows() -> None:
    m = Market_(Market.CM)
    m.trade("BTCUSD_PERP", 7, T0 + 5, 900_000, 3, False)
    assert m.get("aggTrades", "symbol=BTCUSD_PERP")[1] == [
        {"a": 7, "p": "90000.0", "q": "3", "f": 7, "l": 7, "T": T0 + 5, "m": False}
    ]
    status, rows, used = m.get("trades", "symbol=BTCUSD_PERP")
    assert (status, used) == (200, 5)
    assert msgspec.json.encode(rows) == (
        b'[{"id":7,"price":"90000.0","qty":"3","baseQty":"0.00333333","time":1767225600005,"isBuyerMaker":false}]'
    )


def test_um_trades_rows() -> None:
    m = Market_(Market.UM)
    for n in range(1, 6):
        m.trade("ETHUSDT", n, T0 + n, 300_000 + n, 10 * n, True)
    rows = m.get("trades", "symbol=ETHUSDT&limit=2")[1]
    assert [list(r) for r in rows] == [["id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isRPITrade"]] * 2
    assert [r["id"] for r in rows] == [4, 5]
    assert rows[-1]["quoteQty"] == "150.00250"  # 3000.05 × 0.050, exact
    assert m.get("trades", "symbol=ETHUSDT&limit=0")[1]["code"] == -1130


def test_continuous_klines() -> None:
    um = Market_(Market.UM)
    for n in range(1, 4):
        um.trade("BTCUSDT", n, T0 + 60_000 * n, 9_000_000 + n, 1000, False)
    status, rows, used = um.get("continuousKlines", "pair=BTCUSDT&contractType=PERPETUAL&interval=1m&limit=2")
    assert (status, used) == (200, 1)
    klines = um.get("klines", "symbol=BTCUSDT&interval=1m&limit=2")[1]
    assert rows == klines
    one_second = um.get("continuousKlines", "pair=BTCUSDT&contractType=PERPETUAL&interval=1s")[1]
    assert [r[0] for r in one_second] == [T0 + 60_000 * n for n in range(1, 4)]  # 1s: UM only
    assert um.get("continuousKlines", "pair=BTCUSDT&contractType=TRADIFI_PERPETUAL&interval=1m")[1] == []
    assert um.get("continuousKlines", "pair=BTCUSDT&contractType=CURRENT_QUARTER&interval=1m")[1] == []
    assert um.get("continuousKlines", "pair=BTCUSDT&contractType=NOPE&interval=1m")[1]["code"] == -1130
    assert um.get("continuousKlines", "pair=NOPE&contractType=PERPETUAL&interval=1m")[1]["code"] == -1121
    assert um.get("continuousKlines", "contractType=PERPETUAL&interval=1m")[1]["code"] == -1102
    assert um.get("continuousKlines", "pair=BTCUSDT&contractType=PERPETUAL&interval=2m")[1]["code"] == -1120
    assert um.get("continuousKlines", "pair=BTCUSDT&contractType=PERPETUAL&interval=1m&limit=1501")[2] == 10

    cm = Market_(Market.CM)
    quarter = next(i for i in cm.instruments if i.contract_type.value == "CURRENT_QUARTER" and i.pair == "BTCUSD")
    cm.trade(quarter.symbol, 1, T0 + 1000, 910_000, 4, True)
    rows = cm.get("continuousKlines", "pair=BTCUSD&contractType=CURRENT_QUARTER&interval=1d")[1]
    assert rows == cm.get("klines", f"symbol={quarter.symbol}&interval=1d")[1] and len(rows) == 1
    assert cm.get("continuousKlines", "pair=BTCUSD&contractType=NEXT_QUARTER&interval=1d")[1] == []
    assert cm.get("continuousKlines", "pair=BTCUSD&contractType=PERPETUAL&interval=1s")[1]["code"] == -1120
    assert cm.get("continuousKlines", "pair=BTCUSD&contractType=TRADIFI_PERPETUAL&interval=1m")[1]["code"] == -1130
