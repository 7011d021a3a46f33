"""A WebSocket API client: concurrent requests on one connection, matched by id.

With a ``Signer`` (``ws_signing.py``) it also makes the private methods' requests: signed
(``signed``: orders, account reads) or carrying the key alone (``keyed``: the user data
stream's listen key), and logs the connection on with an Ed25519 key (``logon``), after
which a signed request carries its timestamp alone (trading spec part 1 §8.6).

It keeps the server's weight rules on its side of the wire (spec §5.5): it reads the
`rateLimits` every reply carries, waits for the next UTC minute rather than send a request
that would pass the limit, and after a 429 or a 418 it waits as long as the server says
(`data.retryAfter`) before sending anything again.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import msgspec
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from tickerplant.client.ws_signing import Signer
from tickerplant.clock import Clock, SystemClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import MINUTE_MS
from tickerplant.protocol.endpoints import BINANCE_WS_API

__all__ = ["ApiError", "RateLimited", "Signer", "WebSocketAPI"]

BINANCE_USDM_WS_API = BINANCE_WS_API[Market.UM]


class ApiError(Exception):
    """The server answered with an error: Binance's code and message, and the status."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(f"{status} {code}: {msg}")
        self.status = status
        self.code = code
        self.msg = msg


class RateLimited(ApiError):
    """429 or 418: ``retry_at_ms`` says when the server will take requests again."""

    def __init__(self, status: int, code: int, msg: str, retry_at_ms: int) -> None:
        super().__init__(status, code, msg)
        self.retry_at_ms = retry_at_ms


class _Reply(msgspec.Struct):
    id: int | str | None = None
    status: int = 0
    result: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"null"))
    error: dict[str, Any] | None = None
    rateLimits: list[dict[str, Any]] | None = None  # the wire key


_decode_reply = msgspec.json.Decoder(_Reply).decode


class _Listener(WSListener):
    def __init__(self, client: WebSocketAPI) -> None:
        self._client = client

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self._client._on_reply(frame.get_payload_as_bytes())
        elif frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._client._on_disconnected()


class WebSocketAPI:
    """``async with WebSocketAPI(url) as api: book = await api.ticker_book("BTCUSDT")``;
    ``signer``: the API key the private methods are made with (``Signer``)."""

    def __init__(
        self,
        url: str = BINANCE_USDM_WS_API,
        *,
        timeout_s: float = 10.0,
        weight_margin: float = 0.95,
        ping_interval_s: float = 20.0,
        pong_timeout_s: float = 20.0,
        clock: Clock | None = None,
        signer: Signer | None = None,
    ) -> None:
        self.url = url
        self.signer = signer
        self.logged_on = False  # this connection's session holds the signer's key (``logon``)
        self._clock = clock or SystemClock()  # the weight minute and the waits (§7.1)
        self.timeout_s = timeout_s
        self.weight_margin = weight_margin  # use at most this share of the weight budget
        self._ping_interval_s = ping_interval_s
        self._pong_timeout_s = pong_timeout_s
        self._transport: WSTransport | None = None
        self._pending: dict[int, asyncio.Future[_Reply]] = {}
        self._ids = itertools.count(1)
        self.weight_used = 0  # as the server last reported it
        self.weight_limit: int | None = None
        # until a reply of this connection tells the limit and what this IP has used (other
        # connections' requests count too), one request goes at a time (``_wait_for_budget``):
        # ``_moved`` wakes the waiting ones at a reply, a request's end, answered or not, and
        # the connection's end
        self._told = False
        self._moved = asyncio.Event()
        self._weight_minute = -1
        self._blocked_until_ms = 0

    async def __aenter__(self) -> WebSocketAPI:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        self.logged_on = False  # a session is its connection's (§8.6)
        self._told = self.weight_limit is not None  # a new connection: gated until told, unless known
        self._transport, _ = await ws_connect(
            lambda: _Listener(self),
            self.url,
            enable_auto_ping=True,
            auto_ping_idle_timeout=self._ping_interval_s,
            auto_ping_reply_timeout=self._pong_timeout_s,
        )

    async def close(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_disconnected:
            transport.send_close(WSCloseCode.OK)  # picows' default, 1005, is never sent (RFC 6455 §7.4.1)
            transport.disconnect()
            await transport.wait_disconnected()

    # -- requests ----------------------------------------------------------------------

    async def request(self, method: str, params: dict[str, Any] | None = None, *, weight: int = 1) -> Any:
        """Send one request and return its ``result``; raise ``ApiError`` on failure.

        ``weight`` is what the request will cost, so the client can wait for the next
        minute instead of running into a 429.
        """
        self._connected()  # a closed connection fails now, not after a ban's wait (a 418 closes it)
        await self._wait_for_budget(weight)
        transport = self._connected()
        request_id = next(self._ids)
        future: asyncio.Future[_Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        body = {"id": request_id, "method": method, "params": params or {}}
        transport.send(WSMsgType.TEXT, msgspec.json.encode(body))
        try:
            reply = await asyncio.wait_for(future, self.timeout_s)
        finally:
            self._pending.pop(request_id, None)
            self._moved.set()  # unanswered (timed out, cancelled): the next waiting one goes
        if reply.status == 200:
            return msgspec.json.decode(reply.result)
        error = reply.error or {}
        code, msg = int(error.get("code", 0)), str(error.get("msg", ""))
        if reply.status in (418, 429):
            retry_at = int((error.get("data") or {}).get("retryAfter", self._clock.now_ms() + MINUTE_MS))
            self._blocked_until_ms = max(self._blocked_until_ms, retry_at)
            raise RateLimited(reply.status, code, msg, retry_at)
        raise ApiError(reply.status, code, msg)

    async def signed(self, method: str, params: dict[str, Any] | None = None, *, weight: int = 1) -> Any:
        """A SIGNED method's ``request`` (``order.place``, ``account.status``, …): its
        ``timestamp`` on the client's clock and, unless the connection is logged on, the
        ``apiKey`` and the ``signature`` (§8.5)."""
        signer = self._signer()
        sent = signer.sign(params or {}, self._clock.now_ms(), with_key=not self.logged_on)
        return await self.request(method, sent, weight=weight)

    async def keyed(self, method: str, params: dict[str, Any] | None = None, *, weight: int = 1) -> Any:
        """A USER_STREAM method's ``request`` (``userDataStream.start``, …): the ``apiKey`` alone."""
        return await self.request(method, {**(params or {}), "apiKey": self._signer().api_key}, weight=weight)

    async def logon(self) -> Any:
        """``session.logon`` with the signer's key (an Ed25519 one: the server refuses the
        others -1022, §8.6); its result, and the connection's signed requests carry their
        timestamp alone from now."""
        signer = self._signer()
        result = await self.request("session.logon", signer.sign({}, self._clock.now_ms()), weight=2)
        self.logged_on = True
        return result

    async def logout(self) -> Any:
        """``session.logout``: the connection's requests are signed one by one again."""
        result = await self.request("session.logout", weight=2)
        self.logged_on = False
        return result

    async def session_status(self) -> Any:
        return await self.request("session.status", weight=2)

    async def place_order(self, symbol: str, side: str, type: str, **params: Any) -> Any:
        """``order.place`` (its result: the order as REST's ``POST /fapi/v1/order`` answers
        it); ``params`` by Binance's names: ``quantity``, ``price``, ``timeInForce``, …
        (strings or ``Decimal``s for the numbers, as the server reads their text)."""
        order = {"symbol": symbol, "side": side, "type": type, **params}
        return await self.signed("order.place", order, weight=0)  # the IP's weight 0: ORDERS count it

    async def cancel_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Any:
        """``order.cancel`` by ``order_id`` or ``orig_client_order_id``."""
        params: dict[str, Any] = {"symbol": symbol}
        if order_id is not None:
            params["orderId"] = order_id
        if orig_client_order_id is not None:
            params["origClientOrderId"] = orig_client_order_id
        return await self.signed("order.cancel", params)

    def _signer(self) -> Signer:
        if self.signer is None:
            raise ValueError("a private method needs the API key: WebSocketAPI(..., signer=Signer(...))")
        return self.signer

    def _connected(self) -> WSTransport:
        transport = self._transport
        if transport is None or transport.is_disconnected:
            raise ConnectionError("not connected")
        return transport

    async def ticker_book(self, symbol: str | None = None) -> Any:
        return await self.request("ticker.book", _symbol(symbol), weight=2 if symbol else 5)

    async def ticker_price(self, symbol: str | None = None) -> Any:
        return await self.request("ticker.price", _symbol(symbol), weight=1 if symbol else 2)

    async def depth(self, symbol: str, limit: int = 500) -> Any:
        weight = {5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20}.get(limit, 20)
        return await self.request("depth", {"symbol": symbol, "limit": limit}, weight=weight)

    # -- weight ------------------------------------------------------------------------

    async def _wait_for_budget(self, weight: int) -> None:
        """Until ``weight`` fits the minute's budget: every request waiting for the next
        minute looks again when it comes, after the ones woken before it have taken their
        share (they all wake at once), so many concurrent ones spread over the minutes."""
        clock = self._clock
        while True:
            now = clock.now_ms()
            if now < self._blocked_until_ms:  # the server said when (429/418, Retry-After)
                await clock.sleep_until(self._blocked_until_ms)
                continue
            minute = now // MINUTE_MS
            if minute != self._weight_minute:
                self.weight_used = 0  # the window is the UTC clock minute (§7.1)
                self._weight_minute = minute
            limit, used = self.weight_limit, self.weight_used
            if limit is None and not self._told:  # nothing known yet: the first alone
                if not self._pending:
                    break
                self._moved.clear()
                await self._moved.wait()
                continue
            if limit is None or not used or used + weight <= limit * self.weight_margin:
                break  # (alone in its minute, a request heavier than the margin goes: it cannot wait less)
            await clock.sleep_until((minute + 1) * MINUTE_MS)
        self.weight_used += weight  # counted now, corrected by the reply's rateLimits

    def _on_reply(self, payload: bytes) -> None:
        try:
            reply = _decode_reply(payload)
        except msgspec.DecodeError:
            return
        for limit in reply.rateLimits or ():
            if limit.get("rateLimitType") == "REQUEST_WEIGHT" and limit.get("interval") == "MINUTE":
                self.weight_limit = int(limit["limit"])
                self.weight_used = max(self.weight_used, int(limit["count"]))
        self._told = True  # (a server asked to return no rateLimits tells nothing: requests go on)
        self._moved.set()
        future = self._pending.get(reply.id) if isinstance(reply.id, int) else None
        if future is not None and not future.done():
            future.set_result(reply)

    def _on_disconnected(self) -> None:
        self._moved.set()  # the ones waiting go on, to find the connection closed
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the connection closed"))


def _symbol(symbol: str | None) -> dict[str, Any]:
    return {"symbol": symbol} if symbol else {}

