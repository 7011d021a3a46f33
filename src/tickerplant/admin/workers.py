"""The admin answers of ``serve --workers N``: its children's, asked over their private
admin ports and merged (``admin.merged``).

The supervisor serves the public admin port; each child (the plant and every gateway)
serves its own ``/metrics`` and ``/api/status`` on a loopback port the supervisor gave it.
A scrape asks them all at once: a child that does not answer within ``timeout_s`` (down,
restarting) adds nothing, and the merged figures say how many answered. The replay
controls go to the plant's admin port, where the source is. The status adds what the
supervisor knows of each child process (``processes``): whether it is up, starting or down
waiting for its restart, since when, and when that restart is due.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import aiohttp
import msgspec

from tickerplant.admin.merged import Said, merge_metrics, merge_status
from tickerplant.admin.server import Answers, Unavailable

__all__ = ["Worker", "WorkersAnswers"]

ASK_TIMEOUT_S = 3.0  # under Prometheus' default scrape timeout (10 s)


class Worker(NamedTuple):
    role: str  # "plant" or "gateway"
    url: str  # its admin listener's base URL, http://127.0.0.1:PORT


class WorkersAnswers(Answers):
    """The whole server's answers, from ``workers()`` (the plant first) asked each time."""

    def __init__(
        self, workers: Callable[[], Sequence[Worker]], timeout_s: float = ASK_TIMEOUT_S, *, token: str = "",
        processes: Callable[[], list[dict[str, Any]]] = list,
    ) -> None:  # fmt: skip
        """``token``: what the workers' admin listeners take (``Supervisor.child_admin_token``);
        ``processes``: the supervisor's account of its children (``Supervisor.processes``)."""
        self._workers = workers
        self._processes = processes
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _get(self, worker: Worker, path: str) -> bytes | None:
        try:
            async with self._client().get(worker.url + path) as response:
                return await response.read() if response.status == 200 else None
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def _ask_all(self, path: str) -> list[tuple[Worker, bytes | None]]:
        workers = self._workers()
        answers = await asyncio.gather(*(self._get(worker, path) for worker in workers))
        return list(zip(workers, answers, strict=True))

    async def metrics(self) -> bytes:
        answers = await self._ask_all("/metrics")
        texts = [None if text is None else text.decode() for _, text in answers]
        return merge_metrics([Said(w.role, text, w.url) for (w, _), text in zip(answers, texts, strict=True)])

    async def status(self) -> dict[str, Any]:
        said = []
        for worker, body in await self._ask_all("/api/status"):
            try:
                answer = None if body is None else msgspec.json.decode(body)
            except msgspec.DecodeError:
                answer = None
            said.append(Said(worker.role, answer, worker.url))
        status = merge_status(said)
        status["processes"] = self._processes()  # asked after the answers: the state they saw, or later
        return status

    async def _plant(self, path: str, body: Any = None) -> dict[str, Any] | None:
        plant = next((worker for worker in self._workers() if worker.role == "plant"), None)
        if plant is None:
            raise Unavailable("no plant")
        try:
            # a JSON body, empty or not: the admin listener takes JSON POSTs only (admin.guard)
            async with self._client().post(plant.url + path, json=body or {}) as response:
                answer = msgspec.json.decode(await response.read())
                status = response.status
        except (aiohttp.ClientError, TimeoutError, msgspec.DecodeError) as exc:
            raise Unavailable(f"the plant did not answer: {type(exc).__name__}") from None
        if status == 409:
            return None
        if status == 400:
            raise ValueError(answer.get("msg", "refused"))
        if status != 200:
            raise Unavailable(f"the plant answered {status}: {answer.get('msg', '')}")
        result: dict[str, Any] = answer
        return result

    async def trading(self, account_id: int) -> Any:
        """An account's positions, open orders and fills, from the plant (where the engines
        are, ``scaleout/plant_venue.py``); None when it does not answer."""
        plant = next((worker for worker in self._workers() if worker.role == "plant"), None)
        body = None if plant is None else await self._get(plant, f"/api/accounts/{account_id}")
        try:
            return None if body is None else msgspec.json.decode(body).get("trading")
        except (msgspec.DecodeError, AttributeError):
            return None

    async def replay_control(self, action: str) -> dict[str, Any] | None:
        return await self._plant(f"/api/replay/{action}")

    async def replay_speed(self, speed: float | None) -> dict[str, Any] | None:
        return await self._plant("/api/replay/speed", {"speed": "max" if speed is None else speed})
