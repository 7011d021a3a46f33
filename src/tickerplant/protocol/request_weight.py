"""REQUEST_WEIGHT: what each IP may spend per minute on REST and the WebSocket API together,
as a clocked table without I/O (spec §7.1), and the -1003 refusals it leads to (§8.1).

The surfaces ``charge`` a request's weight with the time it arrived and write the verdict:
200 goes on, 429 and 418 are ``rate_limit_error``'s texts in their own envelope.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from tickerplant.market.units import DAY_MS, MINUTE_MS
from tickerplant.protocol.errors import RequestRefused
from tickerplant.protocol.limits import LimitCounters

__all__ = ["REQUEST_WEIGHT_PER_MINUTE", "RequestWeight", "WeightVerdict", "rate_limit_error"]

REQUEST_WEIGHT_PER_MINUTE = 2400  # REQUEST_WEIGHT per IP per minute, REST and WebSocket API (§7.1)

_new = tuple.__new__  # a NamedTuple made on a per-request path, without a Python frame


class WeightVerdict(NamedTuple):
    status: int  # 200 allowed, 429 over the limit, 418 banned
    used: int  # the IP's weight in the current window, this request included
    retry_after_ms: int  # 429: until the window ends; 418: until the ban ends; else 0
    banned_until_ms: int  # 418 only


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
        self._ips: OrderedDict[str, _IpWeight] = OrderedDict()  # least recently charged first
        self.forgotten = 0  # IPs dropped to keep the table within max_ips (a counter)
        self.counters = counters or LimitCounters()  # 429s and 418s, with the listener's other limits

    def tracked_ips(self) -> int:
        """How many IPs the table remembers: at most ``max_ips``, the most recently charged
        (an IP forgotten while in use starts its minute again: whoever can bring 65,536
        addresses in a minute has their weight many times over anyway)."""
        return len(self._ips)

    def used(self, ip: str, now_ms: int) -> int:
        state = self._ips.get(ip)
        if state is None or state.window_start_ms != self._window(now_ms):
            return 0
        return state.used

    def charge(self, ip: str, weight: int, now_ms: int) -> WeightVerdict:
        # Once per request: the known IP's lookup and the window are inlined (_state, _window).
        ips = self._ips
        state = ips.get(ip)
        if state is None:
            state = self._state(ip, now_ms)
        else:
            ips.move_to_end(ip)
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
        if state.refused > self.ban_after_refusals:
            state.ban_ms = min(self.max_ban_ms, state.ban_ms * 2 if state.ban_ms else self.first_ban_ms)
            state.banned_until_ms = now_ms + state.ban_ms
            self.counters.weight_banned += 1
            return WeightVerdict(418, state.used, state.ban_ms, state.banned_until_ms)
        self.counters.weight_refused += 1
        return WeightVerdict(429, state.used, window_start + self.window_ms - now_ms, 0)

    def _window(self, now_ms: int) -> int:
        return now_ms - now_ms % self.window_ms

    def _state(self, ip: str, now_ms: int) -> _IpWeight:
        # The table is in order of last use (each charge moves its IP to the end), so when
        # it is full the IP charged least recently is forgotten, in O(1): never more than
        # ``max_ips`` entries, and no scan however many IPs are active in one minute.
        # (An OrderedDict: a plain dict's oldest key is found by skipping the slots of the
        # keys deleted before it, which a steady stream of new IPs makes long.)
        ips = self._ips
        state = ips.get(ip)
        if state is not None:
            ips.move_to_end(ip)
            return state
        if len(ips) >= self.max_ips:
            ips.popitem(last=False)
            self.forgotten += 1
        state = ips[ip] = _IpWeight()
        return state


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
