"""REST market data without I/O: path and query in, status, body and weight out (spec §7).

Every answer is JSON; every failure is ``{"code":…,"msg":…}`` with the HTTP status of
§8.1. Weight is charged per IP before answering, against the budget the WebSocket API
shares; a refused request still costs its weight (§7.1).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import msgspec

from tickerplant.market.history.farming import asked
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.exchange_info import exchange_info, exchange_info_spot_stub
from tickerplant.protocol.basis import basis_routes
from tickerplant.protocol.derivatives_data import DerivativesData
from tickerplant.protocol.errors import BAD_SYMBOL, RequestRefused, unknown_path
from tickerplant.protocol.later import Later, Pending, wait
from tickerplant.protocol.long_short import long_short_routes
from tickerplant.protocol.market_data import MarketData, Method, Spliced
from tickerplant.protocol.market_history import MarketHistory
from tickerplant.protocol.open_interest import open_interest_routes
from tickerplant.protocol.query_values import Params, optional_symbol
from tickerplant.protocol.request_weight import RequestWeight, WeightVerdict, client_key, rate_limit_error
from tickerplant.protocol.taker_volumes import taker_volume_routes

__all__ = ["QUERY_CACHE_SIZE", "RestAnswer", "RestApi", "RestLater", "RestQuestion", "answered"]

_encode = msgspec.json.encode
_Raw = msgspec.Raw
_new = tuple.__new__
QUERY_CACHE_SIZE = 256  # parsed query strings kept; the table is emptied when full
_CACHED_QUERY_CHARS = 256  # longer query strings are parsed each time, never kept


_NORMAL = {"status": 0, "msg": "normal"}  # GET /sapi/v1/system/status: the venue is up
_MAINTENANCE = {"status": 1, "msg": "system_maintenance"}  # a fault profile's maintenance window


def _status(
    maintenance: Callable[[int], bool] | None, _params: Mapping[str, str], now_ms: int
) -> dict[str, Any]:
    """``GET /sapi/v1/system/status``: maintenance while a fault profile's window covers the venue."""
    return _MAINTENANCE if maintenance is not None and maintenance(now_ms) else _NORMAL


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


class RestQuestion(NamedTuple):
    """A GET of a market-data route as ``RestApi.begin`` reads it, before it is answered:
    asked again as it is (``RestApi.ask``) when a kept-alive poller sends the same request
    (``gateway/rest_repeat.py``). Everything in it is a function of the path and query."""

    answer_at: Callable[[int], Any]  # the method's answer to the params, a function of the time
    duplicate: bool  # a parameter's name repeats (-1101, once the weight is charged)
    weight: int  # the request's weight, a function of ``params`` (1 when they are refused)
    short: bool  # a query of at most _CACHED_QUERY_CHARS: its parameters are few, and shared


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
            made = answered(self._later.result, self._used)
            assert isinstance(made, RestAnswer)  # a Later's result is the answer itself
            self.answer = made
        except RequestRefused as error:
            self.answer = RestAnswer(error.status, (RestApi.error_body(error),), self._used)
        return True

    @property
    def waiting(self) -> Pending | None:
        """A piece made elsewhere that the next step waits for (``Later.waiting``)."""
        return self._later.waiting

    def run(self) -> RestAnswer:
        """Every piece and the answer, now."""
        while not self.step():
            wait(self._later.waiting)
        assert self.answer is not None
        return self.answer


def answered(result: Any, used_weight: int) -> RestAnswer | RestLater:
    """A method's result as its 200 answer, or as one to make in pieces (a ``Later``)."""
    # RestAnswer(...) without the NamedTuple's generated Python __new__ (a step per request)
    kind = type(result)
    if kind is _Raw:  # a row encoded once (ticker.price, ticker.book): most polls' answer
        return _new(RestAnswer, (200, (_encode(result),), used_weight, None, b""))
    if kind is Spliced:  # a depth answer: its levels are written, not copied
        return _new(RestAnswer, (200, (result.head, result.tail), used_weight, None, b""))
    if kind is Later:  # made in pieces, one a step (protocol/later.py)
        return RestLater(result, used_weight)
    encoded: bytes = result if kind is bytes else _encode(result)
    return _new(RestAnswer, (200, (encoded,), used_weight, None, b""))


def _no_composite_index(params: Params, now_ms: int) -> Any:
    """``GET /fapi/v1/indexInfo``: every composite index, or the one ``symbol`` names."""
    if optional_symbol(params) is not None:
        raise BAD_SYMBOL()
    return []


def _at_market(market_now: Callable[[], int], answer_at: Callable[[int], Any], _server_ms: int) -> Any:
    """``answer_at``'s answer at the market's present (``RestApi``'s ``market_now``), not the
    server's time it was asked at."""
    return answer_at(market_now())


def _constant(weight: int) -> Callable[[Params], int]:
    return lambda params: weight


class RestApi:
    """The REST surface of one market listener."""

    def __init__(
        self, market: Market, data: MarketData, weight: RequestWeight, instruments: Sequence[Instrument],
        maintenance: Callable[[int], bool] | None = None, market_now: Callable[[], int] | None = None,
    ) -> None:  # fmt: skip
        """``maintenance``: whether a fault profile's maintenance window covers the venue at
        a time (``FaultDecider.maintenance``), which the system status tells. ``market_now``:
        the market's present when it is not the server's time (``serve --replay``'s, the
        replay's own: docs/replay.md): what the market data answers is of the market at that
        time (a window back from it, a default end, the contract current then, a snapshot's
        ``E``), while what a client does by its own clock stays on the server's time, as against
        Binance: ``serverTime`` (``time``, ``exchangeInfo``), the weight's windows, and the
        system status (a fault profile's windows are the server's)."""
        self.weight = weight
        self._market_now = market_now
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
            f"{prefix}/v1/depth": dataclasses.replace(m["depth"], weight=data.rest_depth_weight),  # §7.4
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
            # The start-up calls outside futures that futures clients make (§10.2, §10.6;
            # trading overview decision 11): python-binance's ping and time, the spot
            # exchangeInfo ccxt's `binance` class loads (no spot symbols), at spot's weights
            "/api/v3/ping": Method(_constant(1), lambda params, now: {}),
            "/api/v3/time": Method(_constant(1), lambda params, now: {"serverTime": now}),
            "/api/v3/exchangeInfo": Method(_constant(20), lambda params, now: exchange_info_spot_stub(now)),
            # the wallet's system status, ccxt's ``fetch_status`` (public, weight 1): the
            # venue's REST is up whenever this answers, a fault profile's maintenance aside
            "/sapi/v1/system/status": Method(_constant(1), functools.partial(_status, maintenance)),
        }
        # answered on the server's time whatever the market's present (``market_now``)
        self._server_time = frozenset({
            f"{prefix}/v1/ping", f"{prefix}/v1/time", f"{prefix}/v1/exchangeInfo",
            "/api/v3/ping", "/api/v3/time", "/api/v3/exchangeInfo", "/sapi/v1/system/status",
        })  # fmt: skip
        self.routes.update(open_interest_routes(prefix, data))  # openInterest, openInterestHist
        self.routes.update(long_short_routes(data))  # the long/short ratios
        self.routes.update(taker_volume_routes(data))  # read from the klines, as the basis
        self.routes.update(basis_routes(data, d["indexPriceKlines"].answer))
        # security type MARKET_DATA: answered to a valid `X-MBX-APIKEY` only (§7.1), which
        # the listener checks against the venue's keys (``begin``'s ``check``)
        self.keyed = frozenset({f"{prefix}/v1/historicalTrades"})
        if market is Market.UM:
            self.routes["/fapi/v2/ticker/price"] = m["ticker.price"]
            self.routes["/fapi/v1/rpiDepth"] = m["rpiDepth"]  # USDⓈ-M only (§4.11)
            self.routes["/fapi/v1/symbolAdlRisk"] = d["symbolAdlRisk"]  # USDⓈ-M only (trading part 3 §4.15)
            self.routes["/fapi/v1/assetIndex"] = d["assetIndex"]  # USDⓈ-M only (trading part 3 §11)
            # composite index symbols (python-binance's ``futures_index_info``): the venue lists
            # none (its ``@compositeIndex`` streams deliver nothing), so none is named
            self.routes["/fapi/v1/indexInfo"] = Method(_constant(1), _no_composite_index)

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
        question = self.question(path, query) if http_method == "GET" else None
        if question is None:
            unknown = unknown_path(path, http_method)
            return RestAnswer(unknown.status, (self.error_body(unknown),), self.weight.used(ip, now_ms))
        return self.ask(question, ip, now_ms, check)

    def question(self, path: str, query: str) -> RestQuestion | None:
        """A GET of ``path`` with ``query``, read (None: no such market-data route)."""
        method = self.routes.get(path)
        if method is None:
            return None
        params, duplicate = self._params(query)
        try:
            weight = method.weight(params)
        except RequestRefused:
            weight = 1
        answer_at = None
        if method.prepared is not None:
            with contextlib.suppress(RequestRefused):  # then refused by ``answer``, each time
                answer_at = method.prepared(params)
        if answer_at is None:
            answer_at = functools.partial(method.answer, params)
        if self._market_now is not None and path not in self._server_time:
            answer_at = functools.partial(_at_market, self._market_now, answer_at)
        return RestQuestion(answer_at, duplicate, weight, len(query) <= _CACHED_QUERY_CHARS)

    def ask(
        self, question: RestQuestion, ip: str, now_ms: int, check: Callable[[], None] | None = None
    ) -> RestAnswer | RestLater:
        """``question``'s answer to ``ip`` now: its weight charged first, then ``check``,
        then the answer (``begin``'s)."""
        return self.charged(question, self.weight.charge(ip, question.weight, now_ms), ip, now_ms, check)

    def charged(
        self, question: RestQuestion, verdict: WeightVerdict, ip: str, now_ms: int,
        check: Callable[[], None] | None = None,
    ) -> RestAnswer | RestLater:  # fmt: skip
        """``ask``'s answer once the weight is charged, ``verdict`` the charge's: a refusal
        of the weight, of ``check``, of a repeated name, of the parameters, or the answer."""
        if verdict.status != 200:
            limited = rate_limit_error(verdict, ip, self.weight.limit)
            retry_s = -(-verdict.retry_after_ms // 1000)
            return RestAnswer(verdict.status, (self.error_body(limited),), verdict.used, retry_s)
        try:
            if check is not None:
                check()
            if question.duplicate:
                raise RequestRefused(-1101, "Duplicate values for a parameter detected.")
            result: Any = asked(client_key(ip), question.answer_at, now_ms)  # its past's tasks: ip's turns
        except RequestRefused as error:
            return RestAnswer(error.status, (self.error_body(error),), verdict.used)
        return answered(result, verdict.used)

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
        return exchange_info(self._market, self._instruments, now_ms, self.weight.limit)

    @staticmethod
    def error_body(error: RequestRefused) -> bytes:
        return _encode({"code": error.code, "msg": error.msg})
