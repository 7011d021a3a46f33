"""The WebSocket API and REST answers, without sockets, over a view fed by a real plant."""

from __future__ import annotations

import functools
from typing import Any

import msgspec
import pytest

from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.messages import StreamMessage, SymbolStreams
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.protocol.errors import CLOSE_BANNED
from tickerplant.protocol.market_data import MarketData
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.protocol.rest import RestApi
from tickerplant.protocol.ws_api import OTHER_METHOD, WsApi

T0 = 1_767_225_600_000


def market(
    kind: Market, weight: RequestWeight | None = None, *, fresh: bool = False, pair: str | None = None
) -> tuple[Plant, MarketView, WsApi, RestApi]:
    """A market's plant and view, two seconds of simulated trading on, and new answerers
    over them: the plant and view made once per market (the same seeded market every time,
    read by the tests) unless ``fresh`` (a test that changes the view). ``pair``: that pair's
    instruments alone, for a test that reads one pair's answers (a day of warm history of the
    whole catalogue takes seconds to build, a pair's a tenth of that)."""
    plant, view = _built(kind, pair) if not fresh else _build(kind, pair)
    instruments = _instruments(kind, pair)
    weight = weight or RequestWeight()
    rest = RestApi(kind, MarketData(view, cm_arrays=True), weight, instruments)
    return plant, view, WsApi(MarketData(view, cm_arrays=False), weight), rest


def _instruments(kind: Market, pair: str | None) -> list[Instrument]:
    return [inst for inst in catalogue(kind, T0) if pair is None or inst.pair == pair]


@functools.cache
def _built(kind: Market, pair: str | None) -> tuple[Plant, MarketView]:
    return _build(kind, pair)


def _build(kind: Market, pair: str | None) -> tuple[Plant, MarketView]:
    instruments = _instruments(kind, pair)
    sim = Simulator(instruments, seed=3, actions_per_s=3000.0, start_ms=T0)
    plant = Plant(kind, instruments, now_ms=T0)
    view = MarketView(kind, instruments)
    history = sim.warm_history(T0)
    plant.warm(history)
    view.receive(plant.history(history))
    out: list[StreamMessage] = []
    plant.snapshot(T0, out)
    for update in sim.initial_updates(T0):
        plant.apply(update, T0, out)
    now = T0
    for _ in range(20):
        now += 50
        for update in sim.advance(now):
            plant.apply(update, now, out)
        plant.end_batch(now, out)
    view.receive(out)
    return plant, view


def call(api: WsApi, request: Any, ip: str = "1.2.3.4", now: int = T0 + 2000) -> Any:
    return msgspec.json.decode(api.receive(msgspec.json.encode(request), ip, now).reply)


def test_ticker_book_is_the_last_book_ticker_pushed() -> None:
    plant, _, api, _ = market(Market.UM)
    pushed = msgspec.json.decode(plant.symbols["BTCUSDT"].book_ticker or b"")
    reply = call(api, {"id": "9d32157c-a556-4d27-9866-66760a174b57", "method": "ticker.book", "params": {"symbol": "BTCUSDT"}})
    assert reply == {
        "id": "9d32157c-a556-4d27-9866-66760a174b57",
        "status": 200,
        "result": {
            "lastUpdateId": pushed["u"], "symbol": "BTCUSDT", "bidPrice": pushed["b"], "bidQty": pushed["B"],
            "askPrice": pushed["a"], "askQty": pushed["A"], "time": pushed["T"],
        },
        "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400, "count": 2}],
    }  # fmt: skip
    assert list(reply) == ["id", "status", "result", "rateLimits"]


def test_a_question_asked_again_is_answered_from_the_book_as_it_is_now_and_charged_each_time() -> None:
    _, view, api, _ = market(Market.UM, fresh=True, pair="BTCUSDT")  # it pushes a new top of book
    stream = SymbolStreams("BTCUSDT").book_ticker
    pushed = msgspec.json.decode(view.symbols["BTCUSDT"].book_ticker or b"")
    request = {"method": "ticker.book", "params": {"symbol": "BTCUSDT"}}
    expected = []
    replies = []
    for request_id in (7, "seven", 8, None, 9):
        if request_id == 8:  # a new top of book between two asks
            pushed = {**pushed, "u": pushed["u"] + 1, "b": "1.10", "B": "2.000"}
            view.receive([StreamMessage(stream, msgspec.json.encode(pushed))])
        replies.append(call(api, {"id": request_id, **request}))
        expected.append({
            "id": request_id,
            "status": 200,
            "result": {
                "lastUpdateId": pushed["u"], "symbol": "BTCUSDT", "bidPrice": pushed["b"], "bidQty": pushed["B"],
                "askPrice": pushed["a"], "askQty": pushed["A"], "time": pushed["T"],
            },
            "rateLimits": [{
                "rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400,
                "count": 2 * len(expected) + 2,
            }],
        })  # fmt: skip
    assert replies == expected
    hidden = api.receive(msgspec.json.encode({"id": 1, **request}), "1.2.3.4", T0 + 2000, rate_limits_default=False)
    assert hidden.reply == b'{"id":1,"status":200,"result":%b}' % msgspec.json.encode(expected[-1]["result"])


def test_weights_of_the_seeds() -> None:
    _, _, api, _ = market(Market.UM)
    counts = []
    for request in [
        {"method": "ticker.price", "params": {"symbol": "BTCUSDT"}},  # 1
        {"method": "ticker.price"},  # 2
        {"method": "ticker.book", "params": {"symbol": "BTCUSDT"}},  # 2
        {"method": "ticker.book", "params": {}},  # 5
        {"method": "depth", "params": {"symbol": "BTCUSDT", "limit": 5}},  # 2
        {"method": "depth", "params": {"symbol": "BTCUSDT", "limit": 100}},  # 5
        {"method": "depth", "params": {"symbol": "BTCUSDT"}},  # 10
        {"method": "depth", "params": {"symbol": "BTCUSDT", "limit": 1000}},  # 20
    ]:
        counts.append(call(api, {"id": 1, **request})["rateLimits"][0]["count"])
    assert counts == [1, 3, 5, 10, 12, 17, 27, 47]


def test_without_symbol_every_symbol_as_an_array() -> None:
    _, view, api, _ = market(Market.UM)
    prices = call(api, {"id": 1, "method": "ticker.price"})["result"]
    books = call(api, {"id": 2, "method": "ticker.book"})["result"]
    assert {p["symbol"] for p in prices} == {b["symbol"] for b in books} == set(view.symbols)
    assert all(list(p) == ["symbol", "price", "time"] for p in prices)


def test_depth_matches_the_plants_book() -> None:
    plant, _, api, _ = market(Market.UM)
    result = call(api, {"id": 1, "method": "depth", "params": {"symbol": "ETHUSDT", "limit": 10}})["result"]
    book = plant.symbols["ETHUSDT"].book
    inst = plant.symbols["ETHUSDT"].inst
    # the id reserved for the book's next update, which the next diff event holds (§4.9)
    assert result["lastUpdateId"] == book.next_update_id > book.last_update_id
    assert [[int(p.replace(".", "")), int(q.replace(".", ""))] for p, q in result["bids"]] == [
        [lvl.price, lvl.qty] for lvl in book.top_bids(10)
    ]
    assert [[int(p.replace(".", "")), int(q.replace(".", ""))] for p, q in result["asks"]] == [
        [lvl.price, lvl.qty] for lvl in book.top_asks(10)
    ]
    assert len(result["bids"][0][0].partition(".")[2]) == inst.price_decimals
    assert list(result) == ["lastUpdateId", "E", "T", "bids", "asks"]


@pytest.mark.parametrize(
    ("request_", "status", "code", "msg"),
    [
        ({"method": "ticker.book", "params": {"symbol": "NOPE"}}, 400, -1121, "Invalid symbol."),
        ({"method": "depth", "params": {"symbol": "BTCUSDT", "limit": 7}}, 400, -4021, "7 is not valid depth limit"),
        ({"method": "depth", "params": {}}, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
        ({"method": "order.place", "params": {}}, 400, -1000, "Unknown method 'order.place'."),
        ({"params": {}}, 400, -1102, "Mandatory parameter 'method' was not sent, was empty/null, or malformed."),
        ({"method": "depth", "params": [1]}, 400, -1130, "Data sent for parameter 'params' is not valid."),
    ],
)
def test_errors(request_: dict[str, Any], status: int, code: int, msg: str) -> None:
    _, _, api, _ = market(Market.UM)
    reply = call(api, {"id": 42, **request_})
    assert (reply["id"], reply["status"], reply["error"]) == (42, status, {"code": code, "msg": msg})


def test_malformed_json_and_bad_ids() -> None:
    _, _, api, _ = market(Market.UM)
    assert msgspec.json.decode(api.receive(b"{nope", "ip", T0).reply)["status"] == 400
    assert call(api, {"id": 1.5, "method": "ticker.price"})["error"]["code"] == -1130
    assert call(api, {"id": None, "method": "ticker.price", "params": {"symbol": "BTCUSDT"}})["id"] is None


def test_signature_fields_are_ignored_and_rate_limits_can_be_hidden() -> None:
    _, _, api, _ = market(Market.UM)
    params = {"symbol": "BTCUSDT", "apiKey": "k", "timestamp": 1, "signature": "s", "returnRateLimits": False}
    reply = call(api, {"id": "1", "method": "ticker.price", "params": params})
    assert reply["status"] == 200 and "rateLimits" not in reply
    assert call(api, {"id": "2", "method": "v1/ticker.price", "params": {"symbol": "BTCUSDT"}})["status"] == 200
    hidden = api.receive(b'{"id":3,"method":"ticker.price","params":{"symbol":"BTCUSDT"}}', "ip", T0, rate_limits_default=False)
    assert b"rateLimits" not in hidden.reply


def test_429_then_418_and_close() -> None:
    _, _, api, _ = market(Market.UM, RequestWeight(4, ban_after_refusals=1))
    statuses = []
    closes = []
    for _ in range(5):
        outcome = api.receive(b'{"id":1,"method":"ticker.book","params":{"symbol":"BTCUSDT"}}', "9.9.9.9", T0 + 10)
        statuses.append(msgspec.json.decode(outcome.reply)["status"])
        closes.append(outcome.close)
    assert statuses == [200, 200, 429, 418, 418]
    assert closes[3] == CLOSE_BANNED
    limited = msgspec.json.decode(api.receive(b'{"id":1,"method":"ticker.price"}', "9.9.9.9", T0 + 20).reply)
    assert limited["error"]["code"] == -1003 and "banned until" in limited["error"]["msg"]
    assert limited["error"]["data"]["retryAfter"] > T0


def test_coin_m_shapes() -> None:
    _, _, api, rest = market(Market.CM, pair="BTCUSD")
    # COIN-M's WebSocket API has no market-data method (trading part 1 §8.7): unknown there
    refused = call(api, {"id": 1, "method": "ticker.book", "params": {"symbol": "BTCUSD_PERP"}})
    assert (refused["status"], refused["error"]["code"]) == (400, -1000)
    book = msgspec.json.decode(rest.answer("/dapi/v1/ticker/bookTicker", "symbol=BTCUSD_PERP", "ip", T0).body)[0]
    assert list(book) == ["lastUpdateId", "symbol", "pair", "bidPrice", "bidQty", "askPrice", "askQty", "time"]
    answer = rest.answer("/dapi/v1/ticker/price", "symbol=BTCUSD_PERP", "ip", T0)
    rows = msgspec.json.decode(answer.body)
    assert isinstance(rows, list) and list(rows[0]) == ["symbol", "ps", "price", "time"]  # always an array (§7.5)
    pair = msgspec.json.decode(rest.answer("/dapi/v1/ticker/bookTicker", "pair=BTCUSD", "ip", T0).body)
    assert {r["pair"] for r in pair} == {"BTCUSD"} and len(pair) >= 3  # the perpetual and two quarterlies
    both = rest.answer("/dapi/v1/ticker/price", "symbol=BTCUSD_PERP&pair=BTCUSD", "ip", T0)
    assert (both.status, msgspec.json.decode(both.body)["code"]) == (400, -1106)
    day = msgspec.json.decode(rest.answer("/dapi/v1/ticker/24hr", "symbol=BTCUSD_PERP", "ip", T0).body)[0]
    assert "baseVolume" in day and "quoteVolume" not in day and day["pair"] == "BTCUSD"
    depth = msgspec.json.decode(rest.answer("/dapi/v1/depth", "symbol=BTCUSD_PERP&limit=5", "ip", T0).body)
    assert list(depth)[:3] == ["lastUpdateId", "symbol", "pair"]


def test_rest_routes_weights_and_errors() -> None:
    _, _, _, rest = market(Market.UM)
    ping = rest.answer("/fapi/v1/ping", "", "ip", T0)
    assert (ping.status, ping.body, ping.used_weight) == (200, b"{}", 1)
    assert msgspec.json.decode(rest.answer("/fapi/v1/time", "", "ip", T0).body) == {"serverTime": T0}
    price = rest.answer("/fapi/v2/ticker/price", "symbol=btcusdt", "ip", T0)
    assert msgspec.json.decode(price.body)["symbol"] == "BTCUSDT" and price.used_weight == 3
    day = rest.answer("/fapi/v1/ticker/24hr", "", "ip", T0)
    assert day.used_weight == 43 and len(msgspec.json.decode(day.body)) > 20
    bad = rest.answer("/fapi/v1/klines", "symbol=BTCUSDT&interval=1s", "ip", T0)
    assert (bad.status, msgspec.json.decode(bad.body)) == (400, {"code": -1120, "msg": "Invalid interval."})
    big = rest.answer("/fapi/v1/klines", "symbol=BTCUSDT&interval=1m&limit=1501", "ip", T0)
    assert msgspec.json.decode(big.body)["code"] == -1130 and big.used_weight == 43 + 5 + 10
    dup = rest.answer("/fapi/v1/depth", "symbol=BTCUSDT&symbol=ETHUSDT", "ip", T0)
    assert msgspec.json.decode(dup.body)["code"] == -1101
    unknown = rest.answer("/fapi/v1/positionRisk", "", "ip", T0)
    assert (unknown.status, msgspec.json.decode(unknown.body)) == (
        404, {"code": -5000, "msg": "Path /fapi/v1/positionRisk, Method GET is invalid"}
    )  # fmt: skip
    illegal = rest.answer("/fapi/v1/depth", "symbol=BTCUSDT&limit=abc", "ip", T0)
    assert msgspec.json.decode(illegal.body)["code"] == -1100


def test_rest_klines_agree_with_the_trades() -> None:
    _, view, _, rest = market(Market.UM)
    rows = msgspec.json.decode(rest.answer("/fapi/v1/klines", "symbol=BTCUSDT&interval=1h&limit=30", "ip", T0).body)
    assert len(rows) >= 24
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert all(r[0] % 3_600_000 == 0 and r[6] == r[0] + 3_599_999 for r in rows)
    assert all(float(r[3]) <= float(r[1]) <= float(r[2]) and float(r[3]) <= float(r[4]) <= float(r[2]) for r in rows)
    total = sum(r[8] for r in rows)
    window = view.klines(view.symbols["BTCUSDT"]).series("1m")
    assert total >= sum(k.count for k in window.query(rows[0][0], None, 1500))


def test_a_flood_of_garbage_meets_the_weight_limit() -> None:
    _, _, api, _ = market(Market.UM, RequestWeight(3, ban_after_refusals=1))
    statuses = [msgspec.json.decode(api.receive(b"garbage", "6.6.6.6", T0).reply)["status"] for _ in range(6)]
    assert statuses == [400, 400, 400, 429, 418, 418]


def test_a_reply_is_labelled_by_a_known_method_only_and_its_status() -> None:
    """What the metrics label a request by: never a client's own text."""
    _, _, api, _ = market(Market.UM, RequestWeight(limit=30))

    def labels(frame: bytes) -> tuple[str, int]:
        reply = api.receive(frame, "1.2.3.4", T0 + 2000)
        return reply.method, reply.status

    assert labels(b'{"id":1,"method":"v1/ticker.book","params":{"symbol":"BTCUSDT"}}') == ("ticker.book", 200)
    assert labels(b'{"id":1,"method":"depth","params":{"symbol":"BTCUSDT"}}') == ("depth", 200)
    for frame in (b'{"method":"anything a client writes"}', b"[1]", b"not json", b'{"method":5}', b"\xff"):
        assert labels(frame) == (OTHER_METHOD, 400)
    assert labels(b'{"id":1,"method":"depth","params":{"symbol":"NOPE"}}') == ("depth", 400)
    while (reply := api.receive(b'{"id":1,"method":"ticker.book"}', "1.2.3.4", T0 + 2000)).status == 200:
        pass
    assert reply.status == 429 and reply.method == "ticker.book"


def test_nesting_is_refused_only_past_the_decoders_depth() -> None:
    """The spec does not say the WebSocket API reads with serde_json, so serde_json's 128
    levels are the market streams' only: deeper than the decoder reads is -1000, on both
    the fast path and the plain one."""
    _, _, api, _ = market(Market.UM)
    deep = b"[" * 500 + b"]" * 500
    for frame in (
        b'{"id":1,"method":"ticker.price","params":{"symbol":"BTCUSDT"},"x":' + deep + b"}",
        b'{"id":1,"method":"ticker.price","params":{"symbol":"BTCUSDT","x":' + deep + b"}}",
    ):
        assert msgspec.json.decode(api.receive(frame, "1.2.3.4", T0 + 2000).reply)["status"] == 200
    deepest = b"[" * 100_000 + b"]" * 100_000
    for frame in (deepest, b'{"id":1,"method":"ticker.price","params":{"symbol":' + deepest + b"}}"):
        reply = msgspec.json.decode(api.receive(frame, "1.2.3.4", T0 + 2000).reply)
        assert (reply["id"], reply["status"], reply["error"]["code"]) == (None, 400, -1000)
