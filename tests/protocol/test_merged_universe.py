"""The 2026 payload format's merged universe (spec §4.13), the sans-I/O side: which names
of the other market a listener resolves (klines, continuous klines and symbols' mark
prices, given the other market's symbols), and which of the other market's pushes it passes
on (those, and the merged all-market streams)."""

from __future__ import annotations

import pytest

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.streams import CrossingStreams, Route, crosses_markets, resolve

T0 = 1_767_225_600_000
UM = {inst.symbol.lower(): inst for inst in catalogue(Market.UM, T0)}
CM = {inst.symbol.lower(): inst for inst in catalogue(Market.CM, T0)}


def key(name: str, here: dict[str, object], there: dict[str, object] | None, route: Route = Route.MARKET) -> str | None:
    strict = here is UM  # the gateway routes strictly on USDⓈ-M alone
    return resolve(name, here, route, strict_routing=strict, lenient_case=False, other_symbols=there).key


@pytest.mark.parametrize(
    ("name", "here", "expected"),
    [
        # the other market's symbols, on either host
        ("btcusd_perp@kline_1m", UM, "btcusd_perp@kline_1m"),
        ("btcusd_perpetual@continuousKline_1h", UM, "btcusd_perpetual@continuousKline_1h"),
        ("btcusd_perp@markPrice@1s", UM, "btcusd_perp@markPrice@1s"),
        ("btcusdt@kline_1m", CM, "btcusdt@kline_1m"),
        ("btcusdt_perpetual@continuousKline_1s", CM, "btcusdt_perpetual@continuousKline_1s"),
        ("btcusdt@markPrice", CM, "btcusdt@markPrice"),
        # and nothing else of theirs
        ("btcusd_perp@aggTrade", UM, None),
        ("btcusd_perp@depth", UM, None),
        ("btcusd@markPrice@1s", UM, None),  # a COIN-M pair's array, not a symbol's stream
        ("btcusd@indexPrice", UM, None),
        ("btcusd_perp@markPriceKline_1m", UM, None),
        ("btcusdt@forceOrder", CM, None),
        ("btcusd_perpetual@continuousKline_1s", UM, None),  # 1s is USDⓈ-M's (§4.12)
        ("BTCUSD_PERP@kline_1m", UM, None),  # lowercase, as anywhere
        ("nopeusd_perp@kline_1m", UM, None),
    ],
)
def test_2026_names_of_the_other_market(name: str, here: dict[str, object], expected: str | None) -> None:
    there = CM if here is UM else UM
    assert key(name, here, there) == expected
    assert key(name, here, None) is None, "the classic format: the listener's own market alone"


@pytest.mark.parametrize(
    ("name", "here"),
    [("btcusdt@kline_1m", UM), ("btcusdt@markPrice", UM), ("btcusd@markPrice", CM), ("btcusd_perp@kline_1m", CM)],
)
def test_a_listener_s_own_names_are_unchanged(name: str, here: dict[str, object]) -> None:
    there = CM if here is UM else UM
    assert key(name, here, there) == key(name, here, None) == name


def test_strict_routing_still_applies_to_the_other_market_s_names() -> None:
    assert key("btcusd_perp@kline_1m", UM, CM, Route.PUBLIC) is None
    assert key("btcusd_perp@kline_1m", UM, CM, Route.MARKET) == "btcusd_perp@kline_1m"


def test_the_other_market_s_pushes_that_cross() -> None:
    crossing = {
        "!ticker@arr", "!miniTicker@arr", "!bookTicker", "!forceOrder@arr", "!markPrice@arr", "!markPrice@arr@1s",
        "btcusd_perp@kline_1m", "btcusd_perpetual@continuousKline_1M", "btcusd_perp@markPrice@1s",
        "btcusd_perp@markPrice", "btcusd@markPrice@1s",  # the pair's array crosses; nobody resolves it
    }  # fmt: skip
    staying = {
        "btcusd_perp@aggTrade", "btcusd_perp@depth@100ms", "btcusd_perp@bookTicker", "btcusd@indexPrice@1s",
        "btcusd_perp@markPriceKline_1m", "btcusd@indexPriceKline_1m", "btcusd_perp@markState",
        "btcusd_perp@depthDiff", "btcusd_perp@forceOrder", "btcusd_perp@ticker",
    }  # fmt: skip
    assert all(crosses_markets(name) for name in crossing)
    assert not any(crosses_markets(name) for name in staying)
    pick = CrossingStreams()
    batch = [StreamMessage(name, b"{}") for name in sorted(crossing | staying)] * 2
    assert [m.stream for m in pick.of(batch)] == [m.stream for m in batch if m.stream in crossing]
