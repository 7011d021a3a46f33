"""What the depth stream names deliver (spec §2.2, §4.8, §4.9, §4.11): every speed and size
on both markets under the name as clients spell it, on /public under --strict-routing,
rpiDepth on USDⓈ-M only."""

from __future__ import annotations

import pytest

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.streams import Route, resolve

T0 = 1_767_225_600_000
UM = {inst.symbol.lower(): inst for inst in catalogue(Market.UM, T0)}
CM = {inst.symbol.lower(): inst for inst in catalogue(Market.CM, T0)}

DEPTH_NAMES = [
    f"btcusdt@{kind}{speed}"
    for kind in ("depth", "depth5", "depth10", "depth20")
    for speed in ("", "@500ms", "@100ms")
] + ["btcusdt@rpiDepth@500ms"]


@pytest.mark.parametrize("name", DEPTH_NAMES)
def test_depth_names_deliver_under_themselves(name: str) -> None:
    for route in Route:
        assert resolve(name, UM, route, strict_routing=False, lenient_case=False).key == name


@pytest.mark.parametrize("name", DEPTH_NAMES)
def test_strict_routing_serves_depth_on_public_like_the_book_tickers(name: str) -> None:
    def key(route: Route) -> str | None:
        return resolve(name, UM, route, strict_routing=True, lenient_case=False).key

    assert key(Route.PUBLIC) == name
    assert key(Route.UNROUTED) == name  # the legacy paths keep serving /public's streams (§2.2)
    assert key(Route.MARKET) is None
    assert key(Route.PRIVATE) is None


def test_coin_m_depth_delivers_and_rpi_depth_says_why_not() -> None:
    for name in ("btcusd_perp@depth", "btcusd_perp@depth20@100ms", "btcusd_perp@depth@500ms"):
        assert resolve(name, CM, Route.UNROUTED, strict_routing=False, lenient_case=False).key == name
    rpi = resolve("btcusd_perp@rpiDepth@500ms", CM, Route.UNROUTED, strict_routing=False, lenient_case=False)
    assert rpi.key is None and rpi.why_silent is not None and "USDⓈ-M only" in rpi.why_silent


def test_uppercase_depth_names_follow_the_case_rule() -> None:
    assert resolve("BTCUSDT@depth5", UM, Route.UNROUTED, strict_routing=False, lenient_case=False).key is None
    assert resolve("BTCUSDT@depth5", UM, Route.UNROUTED, strict_routing=False, lenient_case=True).key == (
        "btcusdt@depth5"
    )
