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
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from tickerplant.faults.decider import is_diff_depth, is_timed
from tickerplant.faults.profile import Family, Fault, FaultKind, Profile, ProfileError, parse_profile
from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.protocol.streams import parse
from tickerplant.protocol.user_streams import EVENTS, EXPIRED
from tickerplant.venue.wire.rest import PrivateRest
from tickerplant.venue.wire.ws_trading import WsTrading

__all__ = ["check_endpoints", "check_listed", "served", "stream_heads"]

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


def stream_heads(instruments: Mapping[str, Instrument]) -> dict[str, tuple[str, frozenset[str]]]:
    """A stream name's head (before its ``@``) -> the symbol it is decided for and the
    symbols whose stream it is: a symbol's own, its pair and contract type's (continuous
    klines), its pair's (COIN-M index price: decided for the pair's perpetual)."""
    # a symbol's own name is its alone (a USDⓈ-M pair is named as its perpetual, whose streams
    # a quarterly of the pair, BTCUSDT_261225, does not have)
    heads: dict[str, list[str]] = {inst.symbol.lower(): [inst.symbol] for inst in instruments.values()}
    perpetuals_first = sorted(
        instruments.values(), key=lambda inst: inst.contract_type is not ContractType.PERPETUAL
    )
    for inst in perpetuals_first:
        contract = inst.contract_type.value.lower()
        for head in (f"{inst.pair.lower()}_{contract}", inst.pair.lower()):
            if head.upper() not in instruments:
                heads.setdefault(head, []).append(inst.symbol)
    return {head: (symbols[0], frozenset(symbols)) for head, symbols in heads.items()}


def check_listed(
    profile_text: str, instruments: Mapping[Market, Collection[Instrument]], start_ms: int
) -> None:
    """Raise ``ProfileError`` naming the first fault that would never fire on this server: a
    symbol none of ``instruments`` (the prepared source's listing, both markets) is, a market
    stream named after none of them (``btcusdx@aggTrade``), or a window that ends before
    ``start_ms``, the server's start on the faults' clock (a replay's date under ``serve
    --replay``, whose faults keep the server's time). No profile: nothing to check."""
    if not profile_text:
        return
    listed = {inst.symbol for insts in instruments.values() for inst in insts}
    heads = stream_heads({inst.symbol: inst for insts in instruments.values() for inst in insts})
    for number, fault in enumerate(parse_profile(profile_text).faults, 1):
        where = f"--faults: fault {number} ({fault.kind.value})"
        for name in sorted(fault.symbols):
            if name not in listed:
                raise ProfileError(f"{where}: symbols: {name!r} is not a symbol the server lists")
        if fault.kind.family is Family.MARKET:
            for name in sorted(fault.endpoints):
                head = name.partition("@")[0]
                if not head.startswith("!") and head not in heads:
                    listing = "a stream of a symbol the server lists"
                    raise ProfileError(f"{where}: endpoints: {name!r} is not {listing}")
        if fault.at_ms is not None and not fault.after_start and _over_before(fault, start_ms):
            started = datetime.fromtimestamp(start_ms / 1000, UTC).isoformat(timespec="seconds")
            over = f"it is over before the server's start ({started}): it would never fire"
            raise ProfileError(f"{where}: at: {over}")


def _over_before(fault: Fault, start_ms: int) -> bool:
    """Whether ``fault``'s window (``at`` a time, not after the start) has ended by
    ``start_ms``: a window's end, or a one-shot's moment (a stall with no end lasts on)."""
    assert fault.at_ms is not None
    if fault.duration_ms is not None:
        return fault.at_ms + fault.duration_ms <= start_ms
    return is_timed(fault) and fault.kind is not FaultKind.MARKET_STALL and fault.at_ms < start_ms
