"""Stream names (spec §3.5) and what each delivers on a listener (§2.2, §3.4)."""

from __future__ import annotations

import pytest

from tickerplant.protocol.streams import Route, StreamKind, parse, resolve

SYMBOLS = {"btcusdt": object(), "ethusdt": object()}


@pytest.mark.parametrize(
    ("name", "kind", "symbol"),
    [
        ("btcusdt@bookTicker", StreamKind.BOOK_TICKER, "btcusdt"),
        ("!bookTicker", StreamKind.ALL_BOOK_TICKER, None),
        ("btcusdt@miniTicker", StreamKind.MINI_TICKER, "btcusdt"),
        ("!miniTicker@arr", StreamKind.ALL_MINI_TICKER, None),
        ("btcusdt@ticker", StreamKind.TICKER, "btcusdt"),
        ("btcusdt@aggTrade", StreamKind.AGG_TRADE, "btcusdt"),
        ("btcusdt@markPrice@1s", StreamKind.MARK_PRICE, "btcusdt"),
        ("btcusdt@kline_1M", StreamKind.KLINE, "btcusdt"),
        ("btcusdt_perpetual@continuousKline_1m", StreamKind.CONTINUOUS_KLINE, "btcusdt_perpetual"),
        ("btcusdt@depth20@100ms", StreamKind.PARTIAL_DEPTH, "btcusdt"),
        ("btcusdt@depth", StreamKind.DEPTH, "btcusdt"),
        ("btcusd_perp@depth@500ms", StreamKind.DEPTH, "btcusd_perp"),
        ("!markPrice@arr@1s", StreamKind.ALL_MARK_PRICE, None),
        ("BTCUSDT@bookTicker", StreamKind.BOOK_TICKER, "BTCUSDT"),
    ],
)
def test_grammar(name: str, kind: StreamKind, symbol: str | None) -> None:
    parsed = parse(name)
    assert parsed is not None
    assert (parsed.kind, parsed.symbol) == (kind, symbol)


@pytest.mark.parametrize(
    "name",
    ["0", "", "btcusdt", "btcusdt@", "@bookTicker", "btcusdt@bookticker", "btcusdt@depth20@250ms",
     "btcusdt@kline_1s", "!bookTicker@arr", "!nothing"],
)
def test_not_stream_names(name: str) -> None:
    assert parse(name) is None


def _resolve(name: str, route: Route = Route.UNROUTED, *, strict: bool = False, lenient: bool = False) -> str | None:
    return resolve(name, SYMBOLS, route, strict_routing=strict, lenient_case=lenient).key


def test_served_names_deliver_under_their_canonical_name() -> None:
    assert _resolve("btcusdt@bookTicker") == "btcusdt@bookTicker"
    assert _resolve("!bookTicker") == "!bookTicker"
    assert _resolve("ethusdt@miniTicker", Route.MARKET) == "ethusdt@miniTicker"
    assert _resolve("!miniTicker@arr", Route.PUBLIC) == "!miniTicker@arr"  # legacy: every path serves all


def test_silent_names_say_why() -> None:
    for name, why in [
        ("BTCUSDT@bookTicker", "lowercase"),
        ("nosuch@bookTicker", "unknown symbol"),
        ("0", "not a stream name"),
        ("btcusdt@kline_1m", "not produced"),
    ]:
        resolution = resolve(name, SYMBOLS, Route.UNROUTED, strict_routing=False, lenient_case=False)
        assert resolution.key is None
        assert resolution.why_silent is not None and why in resolution.why_silent


def test_lenient_case_delivers_uppercase() -> None:
    assert _resolve("BTCUSDT@bookTicker", lenient=True) == "btcusdt@bookTicker"


def test_strict_routing_follows_binance() -> None:
    assert _resolve("btcusdt@bookTicker", Route.PUBLIC, strict=True) == "btcusdt@bookTicker"
    assert _resolve("btcusdt@bookTicker", Route.UNROUTED, strict=True) == "btcusdt@bookTicker"
    assert _resolve("btcusdt@bookTicker", Route.MARKET, strict=True) is None
    assert _resolve("btcusdt@miniTicker", Route.MARKET, strict=True) == "btcusdt@miniTicker"
    assert _resolve("btcusdt@miniTicker", Route.UNROUTED, strict=True) is None
    assert _resolve("btcusdt@miniTicker", Route.PUBLIC, strict=True) is None
    assert _resolve("!miniTicker@arr", Route.PRIVATE, strict=True) is None
