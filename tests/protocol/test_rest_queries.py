"""REST keeps the query strings it parsed, bounded, and answers from them exactly as from a
fresh parse (spec §7): repeated names, blank values and errors alike."""

from __future__ import annotations

import msgspec

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.plant.view import MarketView
from tickerplant.protocol.market_data import MarketData
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.protocol.rest import QUERY_CACHE_SIZE, RestApi

T0 = 1_767_225_600_000


def rest_api() -> RestApi:
    instruments = catalogue(Market.UM, T0)
    view = MarketView(Market.UM, instruments)
    return RestApi(Market.UM, MarketData(view, cm_arrays=True), RequestWeight(10**9), instruments)


def code(rest: RestApi, query: str) -> int:
    body = msgspec.json.decode(rest.answer("/fapi/v1/depth", query, "ip", T0).body)
    return int(body["code"])


def test_a_repeated_query_is_answered_as_the_first_time() -> None:
    rest = rest_api()
    for _ in range(3):
        assert code(rest, "symbol=NOPE&limit=1000") == -1121  # invalid symbol
        assert code(rest, "symbol=BTCUSDT&limit=abc") == -1100  # illegal characters
        assert code(rest, "symbol=BTCUSDT&symbol=ETHUSDT") == -1101  # duplicate, from the cache too
        assert code(rest, "symbol=&limit=5") == -1102  # a blank value is no value
    assert rest.cached_queries() == 4


def test_the_table_stays_within_its_bound_and_long_queries_are_not_kept() -> None:
    rest = rest_api()
    for n in range(3 * QUERY_CACHE_SIZE + 7):
        assert code(rest, f"symbol=NOPE{n}") == -1121
        assert rest.cached_queries() <= QUERY_CACHE_SIZE
    assert code(rest, "symbol=NOPE0") == -1121  # forgotten or kept, the same answer
    before = rest.cached_queries()
    assert code(rest, "symbol=NOPE&pad=" + "x" * 300) == -1121
    assert rest.cached_queries() == before
