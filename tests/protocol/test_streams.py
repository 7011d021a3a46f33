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
        ("btcusdt@compositeIndex", "not produced"),
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


# --- kline and continuous kline names (§3.5, §4.7, §4.12) ----------------------------------------


class _Listed:
    """What resolve reads of an instrument: its pair, market and contract type."""

    def __init__(self, pair: str, market: object, contract_type: str) -> None:
        from tickerplant.market.instruments import ContractType

        self.pair = pair
        self.market = market
        self.contract_type = ContractType(contract_type)


def _listed() -> tuple[dict[str, object], dict[str, object]]:
    from tickerplant.market.instruments import Market

    um = {"btcusdt": _Listed("BTCUSDT", Market.UM, "PERPETUAL")}
    cm = {
        "btcusd_perp": _Listed("BTCUSD", Market.CM, "PERPETUAL"),
        "btcusd_260327": _Listed("BTCUSD", Market.CM, "CURRENT_QUARTER"),
        "btcusd_260626": _Listed("BTCUSD", Market.CM, "NEXT_QUARTER"),
        "ethusd_perp": _Listed("ETHUSD", Market.CM, "PERPETUAL"),
    }
    return um, cm


def test_kline_names_deliver_on_every_interval_but_1s() -> None:
    um, _ = _listed()
    for interval in ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"):
        name = f"btcusdt@kline_{interval}"
        assert resolve(name, um, Route.MARKET, strict_routing=True, lenient_case=False).key == name
    assert parse("btcusdt@kline_1s") is None


def test_continuous_kline_names() -> None:
    um, cm = _listed()

    def key(name: str, symbols: dict[str, object], lenient: bool = False) -> str | None:
        return resolve(name, symbols, Route.UNROUTED, strict_routing=False, lenient_case=lenient).key

    assert key("btcusdt_perpetual@continuousKline_1m", um) == "btcusdt_perpetual@continuousKline_1m"
    assert key("btcusdt_perpetual@continuousKline_1s", um) == "btcusdt_perpetual@continuousKline_1s"
    assert key("btcusd_current_quarter@continuousKline_1h", cm) == "btcusd_current_quarter@continuousKline_1h"
    assert key("btcusd_next_quarter@continuousKline_1M", cm) == "btcusd_next_quarter@continuousKline_1M"
    assert key("BTCUSDT_PERPETUAL@continuousKline_1m", um, lenient=True) == "btcusdt_perpetual@continuousKline_1m"
    for name, symbols, why in [
        ("btcusd_perpetual@continuousKline_1s", cm, "USDⓈ-M only"),
        ("btcusdt_tradifi_perpetual@continuousKline_1m", um, "no tradifi_perpetual contract"),
        ("btcusdt_current_quarter@continuousKline_1m", um, "no current_quarter contract"),
        ("ethusd_next_quarter@continuousKline_1m", cm, "no next_quarter contract"),
        ("nosuch_perpetual@continuousKline_1m", um, "unknown pair"),
        ("BTCUSDT_PERPETUAL@continuousKline_1m", um, "lowercase"),
        ("btcusdt@continuousKline_1m", um, "no <pair>_<contractType>"),
        ("btcusdt_current_month@continuousKline_1m", um, "no <pair>_<contractType>"),
    ]:
        resolution = resolve(name, symbols, Route.UNROUTED, strict_routing=False, lenient_case=False)
        assert resolution.key is None, name
        assert resolution.why_silent is not None and why in resolution.why_silent, (name, resolution)
    # routed under /market (§2.2)
    assert resolve("btcusdt_perpetual@continuousKline_1m", um, Route.PUBLIC, strict_routing=True, lenient_case=False).key is None
    assert parse("btcusdt_perpetual@continuousKline_2s") is None
