"""REQUEST_WEIGHT: what each IP may spend per minute on REST and the WebSocket API together,
as a clocked table without I/O (spec §7.1), and the -1003 refusals it leads to (§8.1).

The surfaces ``charge`` a request's weight with the time it arrived and write the verdict:
200 goes on, 429 and 418 are ``rate_limit_error``'s texts in their own envelope.

The table is bounded (``max_ips``) and cannot be reset from outside: an IP refused (429) or
banned (418) is held apart until its window or its ban ends, never forgotten to make room,
so other addresses cannot wipe it; room is made by forgetting the IP in good standing
charged least recently; when every place is held by a limited IP, a new address is refused
429 too, until one is released. An IPv6 address counts as its /64, the block one host is
given (RFC 6177): one host cannot spread its weight over its block; an IPv4-mapped address
counts as its IPv4 address.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import OrderedDict
from typing import NamedTuple

from tickerplant.market.units import DAY_MS, MINUTE_MS
from tickerplant.protocol.errors import RequestRefused
from tickerplant.protocol.limits import LimitCounters

__all__ = [
    "REQUEST_WEIGHT_PER_MINUTE", "IpStanding", "RequestWeight", "WeightVerdict", "client_key",
    "rate_limit_error",
]  # fmt: skip

REQUEST_WEIGHT_PER_MINUTE = 2400  # REQUEST_WEIGHT per IP per minute, REST and WebSocket API (§7.1)

_new = tuple.__new__  # a NamedTuple made on a per-request path, without a Python frame


class WeightVerdict(NamedTuple):
    status: int  # 200 allowed, 429 over the limit, 418 banned
    used: int  # the IP's weight in the current window, this request included
    retry_after_ms: int  # 429: until the window ends; 418: until the ban ends; else 0
    banned_until_ms: int  # 418 only


class IpStanding(NamedTuple):
    """An IP's standing as a table holds it (``RequestWeight.standings``): what another
    table adopts (``RequestWeight.adopt``), so that a table started later refuses and bans
    as the others do."""

    ip: str  # the key it is counted under (``client_key``)
    window_start_ms: int
    used: int
    refused: int
    banned_until_ms: int
    ban_ms: int


class _IpWeight:
    __slots__ = ("ban_ms", "banned_until_ms", "refused", "used", "window_start_ms")

    def __init__(self) -> None:
        self.window_start_ms = -1
        self.used = 0
        self.refused = 0  # requests answered 429 in this window
        self.banned_until_ms = 0
        self.ban_ms = 0  # the last ban's length, doubled for a repeat offender


class RequestWeight:
    """REQUEST_WEIGHT per IP per UTC clock minute, shared by REST and the WebSocket API.

    spec §7.1: the window is the clock minute; a refused request still costs weight; over
    the limit is 429 with Retry-After; carrying on after 429s is an automatic ban, 418,
    lasting 2 minutes to 3 days and longer for repeat offenders. Here a client is banned
    once it sends ``ban_after_refusals`` more requests after its first 429 in a window.
    """

    __slots__ = (
        "_ips", "_limited", "_next_release_ms", "ban_after_refusals", "counters", "first_ban_ms", "forgotten",
        "limit", "max_ban_ms", "max_ips", "window_ms",
    )  # fmt: skip

    def __init__(
        self,
        limit: int = REQUEST_WEIGHT_PER_MINUTE,
        *,
        window_ms: int = MINUTE_MS,
        ban_after_refusals: int = 3,
        first_ban_ms: int = 2 * MINUTE_MS,
        max_ban_ms: int = 3 * DAY_MS,
        max_ips: int = 65_536,
        counters: LimitCounters | None = None,
    ) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self.ban_after_refusals = ban_after_refusals
        self.first_ban_ms = first_ban_ms
        self.max_ban_ms = max_ban_ms
        self.max_ips = max_ips
        # in good standing, least recently charged first
        self._ips: OrderedDict[str, _IpWeight] = OrderedDict()
        self._limited: dict[str, _IpWeight] = {}  # refused or banned: kept until released
        self._next_release_ms = 0  # no limited IP is released before then
        self.forgotten = 0  # IPs dropped to keep the table within max_ips (a counter)
        self.counters = counters or LimitCounters()  # 429s and 418s, with the listener's other limits

    def tracked_ips(self) -> int:
        """How many IPs the table remembers: at most ``max_ips`` (an IP in good standing
        forgotten while in use starts its minute again: whoever can bring 65,536 addresses in
        a minute has their weight many times over anyway)."""
        return len(self._ips) + len(self._limited)

    def used(self, ip: str, now_ms: int) -> int:
        key = ip if ":" not in ip else _v6_key(ip)
        state = self._ips.get(key) or self._limited.get(key)
        if state is None or state.window_start_ms != self._window(now_ms):
            return 0
        return state.used

    def charge(self, ip: str, weight: int, now_ms: int) -> WeightVerdict:
        # Once per request: the known IP's lookup and the window are inlined (_state, _window).
        key = ip if ":" not in ip else _v6_key(ip)
        ips = self._ips
        state = ips.get(key)
        if state is None:
            state = self._limited.get(key)
            if state is None:
                state = self._state(key, now_ms)
                if state is None:  # every place is a limited IP's: so is a new address
                    self.counters.weight_refused += 1
                    window_end = now_ms - now_ms % self.window_ms + self.window_ms
                    return WeightVerdict(429, weight, window_end - now_ms, 0)
            elif _released(state, now_ms, self.window_ms):
                ips[key] = self._limited.pop(key)  # in good standing again
        else:
            ips.move_to_end(key)
        window_start = now_ms - now_ms % self.window_ms
        if now_ms < state.banned_until_ms:
            self.counters.weight_banned += 1
            return WeightVerdict(418, state.used, state.banned_until_ms - now_ms, state.banned_until_ms)
        if state.window_start_ms != window_start:
            state.window_start_ms = window_start
            state.used = 0
            state.refused = 0
        used = state.used = state.used + weight
        if used <= self.limit:
            # WeightVerdict(200, used, 0, 0) without the NamedTuple's generated Python __new__
            return _new(WeightVerdict, (200, used, 0, 0))
        state.refused += 1
        if key in ips:  # limited now: held apart until released, never forgotten before
            self._limited[key] = ips.pop(key)
        if state.refused > self.ban_after_refusals:
            state.ban_ms = min(self.max_ban_ms, state.ban_ms * 2 if state.ban_ms else self.first_ban_ms)
            state.banned_until_ms = now_ms + state.ban_ms
            self.counters.weight_banned += 1
            return WeightVerdict(418, state.used, state.ban_ms, state.banned_until_ms)
        self.counters.weight_refused += 1
        return WeightVerdict(429, state.used, window_start + self.window_ms - now_ms, 0)

    def standings(self, now_ms: int, most: int) -> list[IpStanding]:
        """At most ``most`` IPs' standings that still count at ``now_ms``: every banned or
        refused IP first (a ban must not be forgotten), then those charged in the current
        window, the most recently charged first."""
        window = self._window(now_ms)
        limited = [
            (ip, state) for ip, state in self._limited.items() if not _released(state, now_ms, self.window_ms)
        ]
        limited.sort(key=lambda item: -item[1].banned_until_ms)  # the longest bans first
        out = [
            IpStanding(ip, s.window_start_ms, s.used, s.refused, s.banned_until_ms, s.ban_ms)
            for ip, s in limited
        ]
        for ip in reversed(self._ips):
            if len(out) >= most:
                break
            state = self._ips[ip]
            if state.window_start_ms != window:
                break  # in order of last use: the rest were charged before this window
            out.append(IpStanding(ip, state.window_start_ms, state.used, 0, 0, state.ban_ms))
        return out[:most]

    def adopt(self, standings: list[IpStanding], now_ms: int) -> None:
        """Another table's ``standings`` taken in: each IP's window and ban as the later or
        longer of the two (a charge both heard is not counted twice), a limited one held
        apart as this table's own."""
        for ip, window_start, used, refused, banned_until, ban_ms in standings:
            state = self._ips.get(ip) or self._limited.get(ip) or self._state(ip, now_ms)
            if state is None:  # every place is a limited IP's: nothing more fits
                return
            if window_start > state.window_start_ms:
                state.window_start_ms, state.used, state.refused = window_start, used, refused
            elif window_start == state.window_start_ms:
                state.used, state.refused = max(state.used, used), max(state.refused, refused)
            state.banned_until_ms = max(state.banned_until_ms, banned_until)
            state.ban_ms = max(state.ban_ms, ban_ms)
            if (state.refused or now_ms < state.banned_until_ms) and ip in self._ips:
                self._limited[ip] = self._ips.pop(ip)

    def refund(self, ip: str, weight: int, now_ms: int) -> int:
        """``weight`` charged in this window given back (an answer Binance does not count:
        "Service Unavailable.", part 1 §6.2 and §7.2); the IP's weight after."""
        key = ip if ":" not in ip else _v6_key(ip)
        state = self._ips.get(key) or self._limited.get(key)
        if state is None or state.window_start_ms != self._window(now_ms):
            return 0
        state.used = max(0, state.used - weight)
        return state.used

    def _window(self, now_ms: int) -> int:
        return now_ms - now_ms % self.window_ms

    def _state(self, ip: str, now_ms: int) -> _IpWeight | None:
        """A new IP's place, made by forgetting the IP in good standing charged least
        recently (in O(1): the table is in order of last use) or, failing that, the limited
        IPs released since; None when every place is a limited IP's. (An OrderedDict: a
        plain dict's oldest key is found by skipping the slots of the keys deleted before it,
        which a steady stream of new IPs makes long.)"""
        ips = self._ips
        if len(ips) + len(self._limited) >= self.max_ips:
            if ips:
                ips.popitem(last=False)
                self.forgotten += 1
            elif not self._release(now_ms):
                return None
        state = ips[ip] = _IpWeight()
        return state

    def _release(self, now_ms: int) -> bool:
        """Forget the limited IPs whose window and ban have ended; whether any was. A sweep
        of the limited, at most once per release time: a full table of limited IPs costs a
        new address a comparison, not a scan."""
        if now_ms < self._next_release_ms:
            return False
        window_ms = self.window_ms
        released = [ip for ip, state in self._limited.items() if _released(state, now_ms, window_ms)]
        for ip in released:
            del self._limited[ip]
        self.forgotten += len(released)
        self._next_release_ms = min(
            (max(s.banned_until_ms, s.window_start_ms + window_ms) for s in self._limited.values()),
            default=now_ms,
        )
        return bool(released)


def _released(state: _IpWeight, now_ms: int, window_ms: int) -> bool:
    """Whether a limited IP's window and ban have both ended."""
    return now_ms >= state.banned_until_ms and now_ms >= state.window_start_ms + window_ms


def client_key(ip: str) -> str:
    """The key a client is counted under: its IPv4 address, an IPv6 address's /64 (the past's
    workers take turns by it too: ``market/history/farming.ASKING``)."""
    return ip if ":" not in ip else _v6_key(ip)


@functools.lru_cache(maxsize=4096)
def _v6_key(ip: str) -> str:
    """The key an IPv6 address is counted under: its /64, or the IPv4 address it maps."""
    try:
        address = ipaddress.IPv6Address(ip.split("%", 1)[0])
    except ValueError:
        return ip  # not an address (a test's name): as it is
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))


def rate_limit_error(verdict: WeightVerdict, ip: str, limit: int) -> RequestRefused:
    """The -1003 texts of the live REST service (§7.1, §8.1), for a 429 or 418 verdict."""
    if verdict.status == 418:
        return RequestRefused(
            -1003,
            f"Way too many requests; IP({ip}) banned until {verdict.banned_until_ms}. "
            "Please use the websocket for live updates to avoid bans.",
            418,
        )
    return RequestRefused(
        -1003,
        f"Too many requests; current limit of IP({ip}) is {limit} requests per minute. "
        "Please use the websocket for live updates to avoid polling the API.",
        429,
    )
