"""A fault profile's ``endpoints`` checked against what the server serves, before it starts,
and its ``symbols`` against what its source lists, once the source is prepared: a name that
matches nothing (``"POST /fapi/v1/ordr"``, ``"order.plac"``, ``"ORDER_TRADE_UPDAT"``,
``"BTCUSDX"``, a symbol a replay does not hold) would leave its fault silent forever, the
operator none the wiser (docs/faults.md, "The profile file").

What each family's faults meet, by name (``faults/decider.py``'s ``where``):

- order entry and maintenance: a private REST endpoint, ``"<METHOD> <path>"`` of either
  market (``venue/wire/rest.py``'s routes; the calls outside futures are never faulted), or
  a private WebSocket API method (``ws_trading.py``'s; market data is never faulted);
- the WebSocket API's: one of its private methods;
- the user data stream's: an event name (``protocol/user_streams.EVENTS``);
- the market streams': a stream name of spec §3.5's grammar (``protocol/streams.parse``).

The names are read from the surfaces themselves, made over no engine, no keys and no
budget: only their route tables are read, so a route added there is known here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache
from typing import Any, cast

from tickerplant.faults.decider import is_diff_depth
from tickerplant.faults.profile import Family, FaultKind, Profile, ProfileError, parse_profile
from tickerplant.market.instruments import Instrument, Market
from tickerplant.protocol.streams import parse
from tickerplant.protocol.user_streams import EVENTS, EXPIRED
from tickerplant.venue.wire.rest import PrivateRest
from tickerplant.venue.wire.ws_trading import WsTrading

__all__ = ["check_endpoints", "check_symbols", "served"]

_EVENTS = EVENTS - {EXPIRED}  # the expiry is the listen-key-expired fault's own, never an event's


@cache
def served() -> tuple[frozenset[str], frozenset[str]]:
    """Every private REST endpoint of both markets, as ``"<METHOD> <path>"``, and every
    WebSocket API method."""
    nothing = cast(Any, object())  # read, never called: the tables alone are wanted
    rest: set[str] = set()
    methods: set[str] = set()
    for market in Market:
        private = PrivateRest(market, nothing, nothing, (), nothing, nothing, nothing)
        rest.update(f"{verb} {path}" for verb, path in private.routes)
        methods.update(WsTrading(private).names)
    return frozenset(rest), frozenset(methods)


def check_endpoints(profile: Profile) -> None:
    """Raise ``ProfileError`` naming the first fault with an endpoint nothing serves."""
    rest, methods = served()
    for number, fault in enumerate(profile.faults, 1):
        family = fault.kind.family
        for name in sorted(fault.endpoints):
            if family in (Family.ORDER, Family.MAINTENANCE):
                known = name in rest or name in methods
                what = "a private REST endpoint or WebSocket API method"
            elif family is Family.WS_API:
                known, what = name in methods, "a WebSocket API method"
            elif family is Family.USER_STREAM:
                known, what = name in _EVENTS, f"a user data event ({', '.join(sorted(_EVENTS))})"
            else:  # its symbol in lower case, as a stream is named (upper case is silent, §3.4)
                symbol, what = name.partition("@")[0], "a stream name (btcusdt@aggTrade)"
                known = parse(name) is not None and (symbol.startswith("!") or symbol == symbol.lower())
                if known and fault.kind is FaultKind.DEPTH_BREAK:  # it drops a diff depth message alone
                    known, what = is_diff_depth(name), "a diff depth stream (btcusdt@depth@100ms)"
            if not known:
                where = f"fault {number} ({fault.kind.value})"
                raise ProfileError(f"{where}: endpoints: {name!r} is not {what} of the server")


def check_symbols(profile_text: str, instruments: Mapping[Market, Collection[Instrument]]) -> None:
    """Raise ``ProfileError`` naming the first fault with a symbol none of ``instruments`` (the
    prepared source's listing, both markets) is: its fault would never fire. No profile
    (``profile_text`` empty): nothing to check."""
    if not profile_text:
        return
    listed = {inst.symbol for insts in instruments.values() for inst in insts}
    for number, fault in enumerate(parse_profile(profile_text).faults, 1):
        for name in sorted(fault.symbols):
            if name not in listed:
                where = f"fault {number} ({fault.kind.value})"
                raise ProfileError(f"--faults: {where}: symbols: {name!r} is not a symbol the server lists")
