"""REST market data without I/O: path and query in, status, body and weight out (spec §7).

Every answer is JSON; every failure is ``{"code":…,"msg":…}`` with the HTTP status of
§8.1. Weight is charged per IP before answering, against the budget the WebSocket API
shares; a refused request still costs its weight (§7.1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import msgspec

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.exchange_info import exchange_info, exchange_info_spot_stub
from tickerplant.protocol.derivatives_data import DerivativesData
from tickerplant.protocol.errors import RequestRefused, unknown_path
from tickerplant.protocol.later import Later
from tickerplant.protocol.market_data import MarketData, Method, Params, Spliced
from tickerplant.protocol.market_history import MarketHistory
from tickerplant.protocol.open_interest import open_interest_routes
from tickerplant.protocol.request_weight import RequestWeight, rate_limit_error

__all__ = ["QUERY_CACHE_SIZE", "RestAnswer", "RestApi", "RestLater"]

_encode = msgspec.json.encode
QUERY_CACHE_SIZE = 256  # parsed query strings kept; the table is emptied when full
_CACHED_QUERY_CHARS = 256  # longer query strings are parsed each time, never kept


class RestAnswer(NamedTuple):
    status: int
    parts: tuple[bytes, ...]  # the body as consecutive byte strings (two for a depth answer)
    used_weight: int  # for X-MBX-USED-WEIGHT-1M
    retry_after_s: int | None = None  # for Retry-After on 429 and 418
    extra_head: bytes = b""  # more header lines, each ending CRLF (X-MBX-ORDER-COUNT-*)

    @property
    def body(self) -> bytes:
        """The whole body (``parts`` joined: a copy when there are several)."""
        return self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)


class RestLater:
    """A REST answer made in pieces (``protocol/later.py``): ``step`` until it returns
    True, then ``answer``. The weight was charged when the request came."""

    __slots__ = ("_later", "_used", "answer")

    def __init__(self, later: Later[Any], used_weight: int) -> None:
        self._later = later
        self._used = used_weight
        self.answer: RestAnswer | None = None

    def step(self) -> bool:
        """One piece; whether ``answer`` is made (a refusal is an answer too)."""
        try:
            if not self._later.step():
                return False
            self.answer = _answered(self._later.result, self._used)
        except RequestRefused as error:
            self.answer = RestAnswer(error.status, (RestApi.error_body(error),), self._used)
        return True

    def run(self) -> RestAnswer:
        """Every piece and the answer, now."""
        while not self.step():
            pass
        assert self.answer is not None
        return self.answer


def _answered(result: Any, used_weight: int) -> RestAnswer:
    """A method's result as its 200 answer."""
    if type(result) is Spliced:  # a depth answer: its levels are written, not copied
        return RestAnswer(200, (result.head, result.tail), used_weight)
    encoded: bytes = result if isinstance(result, bytes) else _encode(result)
    return RestAnswer(200, (encoded,), used_weight)


def _constant(weight: int) -> Callable[[Params], int]:
    return lambda params: weight


class RestApi:
    """The REST surface of one market listener."""

    def __init__(
        self, market: Market, data: MarketData, weight: RequestWeight, instruments: Sequence[Instrument]
    ) -> None:
        self.weight = weight
        prefix = "/fapi" if market is Market.UM else "/dapi"
        self._instruments = list(instruments)
        self._market = market
        # query string -> (its parameters, whether a name repeats): REST clients ask the
        # same few questions over and over (`symbol=BTCUSDT&limit=1000`), and parse_qsl is
        # a good part of answering one from cached bytes. The parameters are only read.
        self._queries: dict[str, tuple[dict[str, str], bool]] = {}
        m = data.methods
        d = DerivativesData(data).methods  # mark price and funding (§7.9)
        # trades, aggTrades, continuousKlines (§7.8, §7.9)
        history = MarketHistory(data).methods
        self.routes: dict[str, Method] = {
            f"{prefix}/v1/ping": Method(_constant(1), lambda params, now: {}),
            f"{prefix}/v1/time": Method(_constant(1), lambda params, now: {"serverTime": now}),
            f"{prefix}/v1/exchangeInfo": Method(_constant(1), self._exchange_info),
            f"{prefix}/v1/depth": m["depth"],
            f"{prefix}/v1/ticker/price": m["ticker.price"],
            f"{prefix}/v1/ticker/bookTicker": m["ticker.book"],
            f"{prefix}/v1/ticker/24hr": m["ticker.24hr"],
            f"{prefix}/v1/klines": m["klines"],
            f"{prefix}/v1/premiumIndex": d["premiumIndex"],
            f"{prefix}/v1/fundingRate": d["fundingRate"],
            f"{prefix}/v1/fundingInfo": d["fundingInfo"],
            f"{prefix}/v1/markPriceKlines": d["markPriceKlines"],
            f"{prefix}/v1/indexPriceKlines": d["indexPriceKlines"],
            f"{prefix}/v1/premiumIndexKlines": d["premiumIndexKlines"],
            f"{prefix}/v1/continuousKlines": history["continuousKlines"],
            f"{prefix}/v1/trades": history["trades"],
            f"{prefix}/v1/aggTrades": history["aggTrades"],
            f"{prefix}/v1/historicalTrades": history["historicalTrades"],
            # Courtesies for clients that touch spot first (§10.2, §10.6).
            "/api/v3/ping": Method(_constant(1), lambda params, now: {}),
            "/api/v3/time": Method(_constant(1), lambda params, now: {"serverTime": now}),
            "/api/v3/exchangeInfo": Method(_constant(1), lambda params, now: exchange_info_spot_stub(now)),
        }
        self.routes.update(open_interest_routes(prefix, data))  # openInterest, openInterestHist
        # security type MARKET_DATA: answered to a valid `X-MBX-APIKEY` only (§7.1), which
        # the listener checks against the venue's keys (``begin``'s ``check``)
        self.keyed = frozenset({f"{prefix}/v1/historicalTrades"})
        if market is Market.UM:
            self.routes["/fapi/v2/ticker/price"] = m["ticker.price"]
            self.routes["/fapi/v1/rpiDepth"] = m["rpiDepth"]  # USDⓈ-M only (§4.11)
            self.routes["/fapi/v1/symbolAdlRisk"] = d["symbolAdlRisk"]  # USDⓈ-M only (trading part 3 §4.15)
            self.routes["/fapi/v1/assetIndex"] = d["assetIndex"]  # USDⓈ-M only (trading part 3 §11)

    def handles(self, path: str) -> bool:
        return path in self.routes or path.startswith(("/fapi/", "/dapi/", "/api/", "/futures/"))

    def answer(self, path: str, query: str, ip: str, now_ms: int, http_method: str = "GET") -> RestAnswer:
        """``begin``'s answer, made whole now."""
        begun = self.begin(path, query, ip, now_ms, http_method)
        return begun.run() if isinstance(begun, RestLater) else begun

    def begin(
        self, path: str, query: str, ip: str, now_ms: int, http_method: str = "GET",
        check: Callable[[], None] | None = None,
    ) -> RestAnswer | RestLater:  # fmt: skip
        """The answer to ``http_method`` on ``path``: market data is GET only, so another
        method is Binance's 404 for a path's unknown method (``unknown_path``), never the GET's
        answer. An answer that needs the past made first (a cold `fundingRate`) comes as a
        ``RestLater``, to be made in pieces. ``check``: a ``keyed`` path's API-key check, run
        once the weight is charged (part 1 §10's order); what it raises is the answer."""
        method = self.routes.get(path) if http_method == "GET" else None
        if method is None:
            unknown = unknown_path(path, http_method)
            return RestAnswer(unknown.status, (self.error_body(unknown),), self.weight.used(ip, now_ms))
        params, duplicate = self._params(query)
        try:
            weight = method.weight(params)
        except RequestRefused:
            weight = 1
        verdict = self.weight.charge(ip, weight, now_ms)
        if verdict.status != 200:
            limited = rate_limit_error(verdict, ip, self.weight.limit)
            retry_s = -(-verdict.retry_after_ms // 1000)
            return RestAnswer(verdict.status, (self.error_body(limited),), verdict.used, retry_s)
        try:
            if check is not None:
                check()
            if duplicate:
                raise RequestRefused(-1101, "Duplicate values for a parameter detected.")
            result: Any = method.answer(params, now_ms)
        except RequestRefused as error:
            return RestAnswer(error.status, (self.error_body(error),), verdict.used)
        if type(result) is Later:  # made in pieces, one a step (protocol/later.py)
            return RestLater(result, verdict.used)
        return _answered(result, verdict.used)

    def cached_queries(self) -> int:
        """How many parsed query strings are kept: at most ``QUERY_CACHE_SIZE``, each at
        most ``_CACHED_QUERY_CHARS`` long."""
        return len(self._queries)

    def _params(self, query: str) -> tuple[dict[str, str], bool]:
        parsed = self._queries.get(query)
        if parsed is not None:
            return parsed
        pairs = parse_qsl(query, keep_blank_values=True)
        params = dict(pairs)
        parsed = (params, len(params) != len(pairs))
        if len(query) <= _CACHED_QUERY_CHARS:
            if len(self._queries) >= QUERY_CACHE_SIZE:
                self._queries.clear()  # O(1) a query however many distinct ones arrive
            self._queries[query] = parsed
        return parsed

    def _exchange_info(self, params: Params, now_ms: int) -> bytes:
        return exchange_info(self._market, self._instruments, now_ms)

    @staticmethod
    def error_body(error: RequestRefused) -> bytes:
        return _encode({"code": error.code, "msg": error.msg})
