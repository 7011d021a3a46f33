"""Connection URL forms (spec §2.1, §2.2)."""

from __future__ import annotations

import pytest

from tickerplant.protocol.streams import Route
from tickerplant.protocol.urls import StreamUrl, UrlRefused, parse_stream_url


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/ws", StreamUrl(Route.UNROUTED, False, ())),
        ("/ws/bnbusdt@aggTrade", StreamUrl(Route.UNROUTED, False, ("bnbusdt@aggTrade",))),
        ("/ws/a@bookTicker/%21bookTicker", StreamUrl(Route.UNROUTED, False, ("a@bookTicker", "!bookTicker"))),
        (
            "/stream?streams=bnbusdt@aggTrade/btcusdt@markPrice",
            StreamUrl(Route.UNROUTED, True, ("bnbusdt@aggTrade", "btcusdt@markPrice")),
        ),
        ("/stream", StreamUrl(Route.UNROUTED, True, ())),
        ("/stream?streams=", StreamUrl(Route.UNROUTED, True, ())),
        ("/public/ws/0", StreamUrl(Route.PUBLIC, False, ("0",))),
        ("/private/stream", StreamUrl(Route.PRIVATE, True, ())),
        (
            "/market/stream?streams=btcusdt@miniTicker&timeUnit=MICROSECOND",
            StreamUrl(Route.MARKET, True, ("btcusdt@miniTicker",)),
        ),
        ("/ws?btcusdt@depth", StreamUrl(Route.UNROUTED, False, ())),
        ("/stream?streams=%21bookTicker", StreamUrl(Route.UNROUTED, True, ("!bookTicker",))),
    ],
)
def test_stream_urls(target: str, expected: StreamUrl) -> None:
    assert parse_stream_url(target, routed=True) == expected


@pytest.mark.parametrize("target", ["/ws/", "/stream/", "/ws/a//b", "/stream/x"])
def test_refused(target: str) -> None:
    refused = parse_stream_url(target, routed=True)
    assert isinstance(refused, UrlRefused) and refused.status == 400


@pytest.mark.parametrize("target", ["/", "/fapi/v1/ping", "/illegal_parameter/ws/a@b", "/wss"])
def test_not_stream_urls(target: str) -> None:
    assert parse_stream_url(target, routed=True) is None


def test_coin_m_has_no_routes() -> None:
    refused = parse_stream_url("/public/ws", routed=False)
    assert isinstance(refused, UrlRefused) and refused.status == 404


KEY = "k" * 64


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (f"/private/ws?listenKey={KEY}", StreamUrl(Route.PRIVATE, False, (KEY,))),
        (f"/private/ws?listenKey={KEY}&events=ORDER_TRADE_UPDATE%2FACCOUNT_UPDATE",
         StreamUrl(Route.PRIVATE, False, (f"{KEY}@ACCOUNT_UPDATE", f"{KEY}@ORDER_TRADE_UPDATE"))),  # sorted
        (f"/private/stream?listenKey={KEY}&timeUnit=MICROSECOND", StreamUrl(Route.PRIVATE, True, (KEY,))),
        (f"/stream?streams=btcusdt@aggTrade&listenKey={KEY}", StreamUrl(Route.UNROUTED, True, ("btcusdt@aggTrade", KEY))),
        (f"/ws?listenKey={KEY}", StreamUrl(Route.UNROUTED, False, (KEY,))),
    ],
)  # fmt: skip
def test_listen_key_urls(target: str, expected: StreamUrl) -> None:
    """Trading part 4 §2.2: the listen key and its events in the query."""
    assert parse_stream_url(target, routed=True) == expected


def test_coin_m_takes_private_for_user_data() -> None:
    """Part 4 Unresolved 13: dstream's clients dial /ws/<k>, and /private is taken too."""
    assert parse_stream_url(f"/private/ws/{KEY}", routed=False) == StreamUrl(Route.PRIVATE, False, (KEY,))
