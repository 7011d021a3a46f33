"""The admin listener's shell: an aiohttp application on ``--admin-host``/``--admin-port``.

- ``GET /``                       the dashboard (``admin/static/index.html``), and its
  files under ``/static/``: served from the package, no build step
- ``GET /api/status``             the server as JSON (``admin.status``)
- ``GET /metrics``                the Prometheus text format (``prometheus_client``)
- ``POST /api/replay/pause``, ``POST /api/replay/resume``: the replay controls (the market
  listeners' ``GET /tickerplant/v1/replay/…`` paths are kept, deprecated)
- ``POST /api/replay/speed`` ``{"speed": 10}`` or ``{"speed": "max"}``: the replay's speed

It reads the server through ``AdminTarget``, the running server's public surface, so that
it imports no source and no composition root.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal, Protocol

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["STATIC", "AdminServer", "AdminTarget"]

log = logging.getLogger("tickerplant.admin")

STATIC = Path(__file__).with_name("static")


class AdminTarget(Protocol):
    """What the admin listener reads and drives of the running server."""

    registry: CollectorRegistry

    def status(self) -> dict[str, Any]: ...

    def replay_control(self, action: str) -> dict[str, Any] | None:
        """``pause`` or ``resume`` the replay; its status after, or None when not replaying."""
        ...

    def replay_speed(self, speed: float | None) -> dict[str, Any] | None:
        """Play the replay at ``speed`` (None: flat out); its status after, or None when not
        replaying; ValueError for a speed that is not positive."""
        ...


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(body), status=status, content_type="application/json")


class AdminServer:
    """The admin listener of one server."""

    def __init__(self, target: AdminTarget) -> None:
        self._target = target
        self._runner: web.AppRunner | None = None
        self.port = 0
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/api/status", self._status)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_post("/api/replay/speed", self._replay_speed)
        app.router.add_post("/api/replay/{action:pause|resume}", self._replay)
        app.router.add_static("/static/", STATIC)
        self._app = app

    async def start(self, host: str, port: int) -> None:
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _status(self, request: web.Request) -> web.Response:
        return _json(self._target.status())

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self._target.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _replay(self, request: web.Request) -> web.Response:
        answer = self._target.replay_control(request.match_info["action"])
        if answer is None:
            return _json({"code": -1, "msg": "not replaying"}, status=409)
        return _json(answer)

    async def _replay_speed(self, request: web.Request) -> web.Response:
        try:
            asked = msgspec.json.decode(await request.read(), type=_Speed).speed
            speed = None if asked == "max" else float(asked)
            answer = self._target.replay_speed(speed)
        except (msgspec.DecodeError, ValueError) as exc:
            msg = f'expected {{"speed": <positive number> | "max"}}: {exc}'
            return _json({"code": -1, "msg": msg}, status=400)
        if answer is None:
            return _json({"code": -1, "msg": "not replaying"}, status=409)
        return _json(answer)


class _Speed(msgspec.Struct):
    speed: float | Literal["max"]
