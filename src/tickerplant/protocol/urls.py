"""The URL forms of a market-stream connection (spec §2.1, §2.2).

    [/public|/market|/private]/ws                     raw, streams added by SUBSCRIBE
    [/public|/market|/private]/ws/<s1>/<s2>/…         raw, streams named in the path
    [/public|/market|/private]/stream[?streams=a/b]   combined ({"stream":…,"data":…})

Either mode also takes the user data stream's ``?listenKey=<k>[&events=A/B]`` (trading part
4 §2.2, ``user_streams.names_from_query``), whose names follow any in the path or in
``streams``.

A trailing slash (``/ws/``, ``/stream/``) has not been supported since 2023-08 and is
refused; an unknown prefix is not a stream URL at all. Unknown query parameters (the SDK's
``timeUnit``) are accepted and ignored (§2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from tickerplant.protocol.streams import Route
from tickerplant.protocol.user_streams import names_from_query

__all__ = ["StreamUrl", "UrlRefused", "parse_stream_url"]

_ROUTES = {route.value: route for route in Route if route.value}


@dataclass(frozen=True, slots=True)
class StreamUrl:
    route: Route
    combined: bool
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UrlRefused:
    status: int  # HTTP status of the refused handshake
    reason: str


def parse_stream_url(target: str, *, routed: bool) -> StreamUrl | UrlRefused | None:
    """The stream URL a request target names; ``None`` when it is no stream URL.

    ``routed`` says whether this listener knows the USDⓈ-M ``/public``, ``/market`` and
    ``/private`` prefixes (COIN-M has none, spec §2.2; it takes ``/private`` for a listen
    key's user data all the same, as trading part 4 Unresolved 13 recommends).
    """
    path, _, query = target.partition("?")
    segments = path.split("/")
    if len(segments) < 2 or segments[0] != "":
        return None
    route = Route.UNROUTED
    rest = segments[1:]
    if rest[0] in _ROUTES:
        if not routed and rest[0] != Route.PRIVATE.value:  # user data: trading part 4 Unresolved 13
            return UrlRefused(404, f"/{rest[0]} is a USDⓈ-M path; COIN-M streams have no routes")
        route = _ROUTES[rest[0]]
        rest = rest[1:]
    if not rest or rest[0] not in ("ws", "stream"):
        return None
    mode, names = rest[0], rest[1:]
    pairs = parse_qsl(query, keep_blank_values=True) if query else []
    user = names_from_query(pairs)
    if mode == "stream":
        if names:
            return UrlRefused(400, "a combined-stream URL names its streams in ?streams=")
        wanted = [value for key, value in pairs if key == "streams"]
        listed = [name for value in wanted if value for name in value.split("/")]
        if any(not name for name in listed):
            return UrlRefused(400, "empty stream name in ?streams=")
        return StreamUrl(route, True, (*listed, *user))
    if any(not name for name in names):
        return UrlRefused(400, "empty path segment (a trailing '/' is not supported)")
    return StreamUrl(route, False, (*(unquote(name) for name in names), *user))
