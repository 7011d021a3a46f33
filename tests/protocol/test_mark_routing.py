"""Which mark-price and index names deliver (spec §4.6, §4.12): COIN-M names a pair in
`<pair>@markPrice` and `<pair>@indexPrice`, USDⓈ-M has no index stream; the mark- and
index-price klines are COIN-M's (§3.5)."""

from __future__ import annotations

import pytest

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.streams import Route, resolve

T0 = 1_767_225_600_000
UM = {inst.symbol.lower(): inst for inst in catalogue(Market.UM, T0)}
CM = {inst.symbol.lower(): inst for inst in catalogue(Market.CM, T0)}


def key(name: str, symbols: dict[str, object], *, lenient: bool = False) -> str | None:
    return resolve(name, symbols, Route.MARKET, strict_routing=True, lenient_case=lenient).key


@pytest.mark.parametrize(
    ("name", "symbols", "expected"),
    [
        ("btcusdt@markPrice", UM, "btcusdt@markPrice"),
        ("btcusdt@markPrice@1s", UM, "btcusdt@markPrice@1s"),
        ("!markPrice@arr", UM, "!markPrice@arr"),
        ("!markPrice@arr@1s", UM, "!markPrice@arr@1s"),
        ("btcusdt@indexPrice", UM, None),  # COIN-M's
        ("btcusd@markPrice", UM, None),  # a COIN-M pair, unknown here
        ("btcusd@markPrice@1s", CM, "btcusd@markPrice@1s"),  # the pair's array
        ("btcusd_perp@markPrice", CM, "btcusd_perp@markPrice"),
        ("btcusd@indexPrice", CM, "btcusd@indexPrice"),
        ("ethusd@indexPrice@1s", CM, "ethusd@indexPrice@1s"),
        ("btcusd_perp@indexPrice", CM, None),  # an index names a pair
        ("nopeusd@indexPrice", CM, None),
        ("btcusd@bookTicker", CM, None),  # only mark and index take a pair
        # COIN-M's price klines (§3.5): a contract's mark price, a pair's index
        ("btcusd_perp@markPriceKline_1m", CM, "btcusd_perp@markPriceKline_1m"),
        ("btcusd_perp@markPriceKline_1M", CM, "btcusd_perp@markPriceKline_1M"),
        ("btcusd@indexPriceKline_4h", CM, "btcusd@indexPriceKline_4h"),
        ("btcusd_perp@indexPriceKline_1m", CM, None),  # an index names a pair
        ("btcusd@markPriceKline_1m", CM, None),  # a mark price kline names a contract
        ("btcusd_perp@markPriceKline_1s", CM, None),  # no 1s
        ("btcusdt@markPriceKline_1m", UM, None),  # COIN-M's alone
        ("btcusdt@indexPriceKline_1m", UM, None),
    ],
)
def test_what_delivers(name: str, symbols: dict[str, object], expected: str | None) -> None:
    assert key(name, symbols) == expected


def test_a_pair_in_uppercase_is_silent_unless_lenient() -> None:
    assert key("BTCUSD@markPrice", CM) is None
    assert key("BTCUSD@markPrice", CM, lenient=True) == "btcusd@markPrice"


def test_mark_streams_live_under_market() -> None:
    assert resolve("btcusdt@markPrice", UM, Route.PUBLIC, strict_routing=True, lenient_case=False).key is None


def test_why_a_price_kline_is_silent() -> None:
    def why(name: str, symbols: dict[str, object]) -> str | None:
        return resolve(name, symbols, Route.MARKET, strict_routing=True, lenient_case=False).why_silent

    assert why("btcusdt@markPriceKline_1m", UM) == "markPriceKline streams are COIN-M only (spec §3.5)"
    assert why("btcusd_perp@indexPriceKline_1m", CM) == (
        "indexPriceKline streams are COIN-M's and name a pair (spec §3.5, §4.12)"
    )
