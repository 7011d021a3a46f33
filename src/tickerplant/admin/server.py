"""The admin listener's shell: an aiohttp application on ``--admin-host``/``--admin-port``.

- ``GET /``                       the dashboard (``admin/static/index.html``), and its
  files under ``/static/``: served from the package, no build step
- ``GET /api/status``             the server as JSON (``admin.status``)
- ``GET /metrics``                the Prometheus text format (``prometheus_client``)
- ``POST /api/replay/pause``, ``POST /api/replay/resume``: the replay controls (the market
  listeners serve only the replay's status, read-only: ``GET /tickerplant/v1/replay``)
- ``POST /api/replay/speed`` ``{"speed": 10}`` or ``{"speed": "max"}``: the replay's speed
- ``/api/accounts…``, ``/api/keys/…/revoke``: the venue's accounts and keys
  (``admin.accounts``), where the server has a venue

Every request passes ``admin.guard`` first: its ``Host`` must be this listener, its
``Origin`` (when sent) this listener's, and a POST ``application/json`` (cross-site writes
and DNS rebinding, refused 403 or 415); with a token, it carries the token (else 401). A
listener beyond loopback refuses to start without a token, and says it listens there.

What it answers comes from an ``Answers``: a server in this process through its
``AdminTarget`` (``TargetAnswers``: the single process, a ``tickerplant plant`` or
``gateway``), or ``serve --workers N``'s children, asked over their private admin ports
(``admin.workers``). It imports no source and no composition root.
"""

from __future__ import annotations

import abc
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import msgspec
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from tickerplant.admin.accounts import AccountsApi
from tickerplant.admin.guard import (
    TOKEN_COOKIE,
    TokenRequired,
    check_token,
    is_loopback,
    refusal,
    token_matches,
    token_refusal,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ["STATIC", "AdminServer", "AdminTarget", "Answers", "TargetAnswers", "TokenRequired", "Unavailable"]

log = logging.getLogger("tickerplant.admin")


def _not_the_servers_error(record: logging.LogRecord) -> bool:
    """aiohttp logs a request it cannot parse (no ``Host``, a bad header) at ERROR with a
    traceback, before any guard runs: the client has its 400, and on an admin listener
    beyond loopback anyone could fill the log with them, so they are left out."""
    return not (record.exc_info and isinstance(record.exc_info[1], HttpProcessingError))


logging.getLogger("aiohttp.server").addFilter(_not_the_servers_error)

STATIC = Path(__file__).with_name("static")


class AdminTarget(Protocol):
    """What the admin listener reads and drives of a server running in this process."""

    registry: CollectorRegistry

    def status(self) -> dict[str, Any]: ...

    def replay_control(self, action: str) -> dict[str, Any] | None:
        """``pause`` or ``resume`` the replay; its status after, or None when not replaying."""
        ...

    def replay_speed(self, speed: float | None) -> dict[str, Any] | None:
        """Play the replay at ``speed`` (None: flat out); its status after, or None when not
        replaying; ValueError for a speed outside ``clock.SPEEDS``."""
        ...


class Unavailable(Exception):
    """The process that would answer is not there (a supervisor's child that is down)."""


class Answers(abc.ABC):
    """What the admin listener answers, however it finds it out."""

    @abc.abstractmethod
    async def metrics(self) -> bytes:
        """The Prometheus text exposition."""

    @abc.abstractmethod
    async def status(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    async def replay_control(self, action: str) -> dict[str, Any] | None:
        """As ``AdminTarget.replay_control``; ``Unavailable`` when the replayer is away."""

    @abc.abstractmethod
    async def replay_speed(self, speed: float | None) -> dict[str, Any] | None:
        """As ``AdminTarget.replay_speed``; ``Unavailable`` when the replayer is away."""


class TargetAnswers(Answers):
    """The answers of a server in this process, read through its ``AdminTarget``."""

    def __init__(self, target: AdminTarget) -> None:
        self._target = target

    async def metrics(self) -> bytes:
        return generate_latest(self._target.registry)

    async def status(self) -> dict[str, Any]:
        return self._target.status()

    async def replay_control(self, action: str) -> dict[str, Any] | None:
        return self._target.replay_control(action)

    async def replay_speed(self, speed: float | None) -> dict[str, Any] | None:
        return self._target.replay_speed(speed)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(body), status=status, content_type="application/json")


class AdminServer:
    """The admin listener of one server (an ``AdminTarget`` in this process) or of a
    supervisor's (its ``Answers``)."""

    def __init__(self, target: AdminTarget | Answers, *, accounts: AccountsApi | None = None) -> None:
        """``accounts``: the venue's accounts and keys, served under ``/api/accounts``
        (``admin.accounts``)."""
        self._answers = target if isinstance(target, Answers) else TargetAnswers(target)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._host = ""
        self._token: str | None = None
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_get("/api/status", self._status)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_post("/api/replay/speed", self._replay_speed)
        app.router.add_post("/api/replay/{action:pause|resume}", self._replay)
        app.router.add_static("/static/", STATIC)
        if accounts is not None:
            accounts.routes(app)
        self._app = app

    async def start(
        self, host: str, port: int, *, reuse_port: bool = False, token: str | None = None,
        bound: list[socket.socket] | None = None,
    ) -> None:  # fmt: skip
        """Listen; ``reuse_port``: on a port a supervisor holds for this process
        (``scaleout/supervisor.py``), bound but never listening there; ``token``: what every
        request must carry (``admin.guard``), required beyond loopback (``TokenRequired``);
        ``bound``: the port's sockets, bound already (``gateway/listening.reserve``)."""
        check_token(host, token)
        self._token = token or None
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        sites: list[web.BaseSite] = [web.SockSite(runner, sock) for sock in bound or ()]
        try:
            for site in sites or [web.TCPSite(runner, host, port, reuse_port=reuse_port or None)]:
                await site.start()
        except OSError as exc:  # "Address already in use": which listener, which address
            await runner.cleanup()
            raise OSError(exc.errno, f"the admin listener on {host}:{port}: {exc.strerror}") from exc
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._host = host
        if not is_loopback(host):
            log.warning(
                "the admin listener on %s:%d is reachable beyond this machine; every request must carry "
                "its token", host, self.port,
            )  # fmt: skip

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = refusal(
            request.method, request.headers.get("Host"), request.headers.get("Origin"),
            request.content_type, self._host, self.port,
        )  # fmt: skip
        if refused is not None:
            return _json({"code": -1, "msg": refused.msg}, status=refused.status)
        token = self._token
        if token is not None:
            if request.path == "/" and "token" in request.query:
                # the dashboard opened with its token: a cookie for the page's own requests
                if not token_matches(token, request.query["token"]):
                    return _json({"code": -1, "msg": "wrong token"}, status=401)
                redirect = web.HTTPSeeOther("/")
                redirect.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/")
                return redirect
            cookie = request.cookies.get(TOKEN_COOKIE)
            refused = token_refusal(token, request.headers.get("Authorization"), cookie)
            if refused is not None:
                answer = _json({"code": -1, "msg": refused.msg}, status=refused.status)
                answer.headers["WWW-Authenticate"] = 'Bearer realm="tickerplant admin"'
                return answer
        try:
            return await handler(request)
        except web.HTTPException as raised:  # routing's (404, 405) and the body's bound (413): JSON
            if raised.status < 400:  # as every other refusal of the listener, not aiohttp's text
                raise
            answer = _json({"code": -1, "msg": raised.reason}, status=raised.status)
            if "Allow" in raised.headers:  # a 405's methods
                answer.headers["Allow"] = raised.headers["Allow"]
            return answer

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _status(self, request: web.Request) -> web.Response:
        return _json(await self._answers.status())

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await self._answers.metrics()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _replay(self, request: web.Request) -> web.Response:
        try:
            answer = await self._answers.replay_control(request.match_info["action"])
        except Unavailable as exc:
            return _json({"code": -1, "msg": str(exc)}, status=503)
        if answer is None:
            return _json({"code": -1, "msg": "not replaying"}, status=409)
        return _json(answer)

    async def _replay_speed(self, request: web.Request) -> web.Response:
        try:
            asked = msgspec.json.decode(await request.read(), type=_Speed).speed
            speed = None if asked == "max" else float(asked)
            answer = await self._answers.replay_speed(speed)
        except (msgspec.DecodeError, ValueError, RecursionError) as exc:  # (nested too deep: RecursionError)
            msg = f'expected {{"speed": <number> | "max"}}: {exc}'  # (its range: clock.check_speed's)
            return _json({"code": -1, "msg": msg}, status=400)
        except Unavailable as exc:
            return _json({"code": -1, "msg": str(exc)}, status=503)
        if answer is None:
            return _json({"code": -1, "msg": "not replaying"}, status=409)
        return _json(answer)


class _Speed(msgspec.Struct):
    speed: float | Literal["max"]
