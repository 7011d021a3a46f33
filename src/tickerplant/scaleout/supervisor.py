"""`tickerplant serve --workers N`: a private nats-server, one plant and N gateways on one host.

The supervisor starts, in order, a nats-server on a loopback port the OS chooses (or uses
``--nats URL``), the plant process (``tickerplant plant``) and N gateway processes
(``tickerplant gateway --reuse-port``) that share the listener ports with ``SO_REUSEPORT``:
the kernel spreads the clients' connections over them. Each child is given the whole
configuration and the NATS token on its stdin (``scaleout/lifeline.py``), so it
configures itself exactly as the one process would; the embedded nats-server takes only
clients with that token, drawn for each run. The pipe stays open: it is the child's
lifeline, whose end (the supervisor gone, however it went) stops the child.

While the listeners' ports were asked as 0 (the OS chooses, as the tests do), the
supervisor binds a port itself with ``SO_REUSEPORT``, without listening (so it is never
given a connection), and hands that port to every gateway: they all share it.

A child that exits is restarted, the nats-server too, and the log says so: after
``restart_delay_s`` (the configuration's, 1 s), doubled for each exit in a row that came less than
``STABLE_MS`` (30 s) after it was ready, up to ``MAX_RESTART_DELAY_S`` (30 s)
(``scaleout/restarts.py``). While a child waits, the admin listener's ``/api/status``
says so (``processes``: each child's state, since when, its restarts and when its next
start is due), so a long back-off is never a silent outage. The nats-server comes back on its port with its
token, so the plant and the gateways reconnect to it by themselves (nats-py tries every
second) and the gateways see what was lost as a gap (its streams' clients closed 1012, the
plant's state reloaded). A child that exits before it was ever ready (a replay's missing
file, a port in use) stops them all: restarting would fail the same way. On ``close`` the
gateways are stopped first (their clients get 1001 going away), then the plant, then the
nats-server. The children run in sessions of their own, so a terminal's Ctrl-C reaches the
supervisor only, which stops them in that order; and they die with it, however it ends
(``scaleout/lifeline.py``, ``scaleout/nats_server.py``). Two ``serve`` on the same ports
are refused (``port_lock.py``).

The admin listener (``--admin-port``, 8767 unless 0) is the supervisor's: each child serves
its own admin listener on a loopback port the supervisor holds for it the same way (bound
with ``SO_REUSEPORT``, never listening, so a restarted child finds it free and nobody else
takes it), and the supervisor's ``/metrics`` and ``/api/status`` are its children's, asked
at each request and merged (``admin/workers.py``, ``admin/merged.py``); the replay controls
go to the plant's. Why not ``prometheus_client``'s multiprocess mode: the metrics are
custom collectors that read each process' own counters when scraped, which that mode (a
file per process of values set through ``Counter``/``Gauge`` objects) cannot carry, and
the plant and gateways may run on other hosts, where the same scrape of each still works.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from tickerplant import logs
from tickerplant.admin.accounts import AccountsApi
from tickerplant.admin.server import AdminServer
from tickerplant.admin.workers import Worker, WorkersAnswers
from tickerplant.clock import Clock, SystemClock
from tickerplant.config import ServerConfig
from tickerplant.market.instruments import Market
from tickerplant.port_lock import PortLocks
from tickerplant.scaleout.lifeline import Handover, encode_handover
from tickerplant.scaleout.nats_server import EmbeddedNats
from tickerplant.scaleout.restarts import ChildLife
from tickerplant.venue.journal.writer_lock import claim_database

__all__ = ["Supervisor", "SupervisorFailed"]

log = logging.getLogger("tickerplant.supervisor")

# What each child says on its stdout once it serves (commands.py, ``logs.say``): the
# supervisor's "ready", the line's start in the text format, its message's in the JSON format.
_READY = {"plant": "tickerplant plant publishing", "gateway": "tickerplant gateway on"}
# the longest line read from a child at once; a longer one is passed on in pieces
_LINE_LIMIT = 1 << 20
_STOP_TIMEOUT_S = 10.0
_LOOPBACK = "127.0.0.1"  # the children's admin listeners: the supervisor's to ask, nobody else's


class SupervisorFailed(RuntimeError):
    pass


async def _lines(stream: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """``stream``'s lines until it ends; one longer than the reader's limit in pieces."""
    while True:
        try:
            line = await stream.readuntil(b"\n")
        except asyncio.IncompleteReadError as end:  # the last line, without its newline
            line = end.partial
        except asyncio.LimitOverrunError as long:  # the limit's worth, left in the buffer
            line = await stream.readexactly(long.consumed)
        if not line:
            return
        yield line


class _Child:
    """One role's process, kept running: the plant or gateway ``index``."""

    def __init__(self, name: str, role: str, argv: list[str], admin_port: int, first_delay_s: float) -> None:
        self.name = name
        self.role = role
        self.argv = argv
        self.admin_port = admin_port  # its private admin listener's, or 0: none
        self.process: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()  # printed its ready line (the first time)
        self.life = ChildLife(name, role, first_delay_s)  # its starts, exits and waits, for /api/status


class Supervisor:
    def __init__(
        self,
        config: ServerConfig,
        *,
        nats_token: str = "",
        log_level: str = "INFO",
        log_format: str = "text",
        clock: Clock | None = None,
        command: Sequence[str] = (sys.executable, "-m", "tickerplant.cli"),
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock(config.clock_offset_ms)
        self._command = list(command)
        self._log = ["--log-level", log_level, "--log-format", log_format]  # each child's
        self._as_json = log_format == "json"
        self.nats: EmbeddedNats | None = None
        self.nats_url = config.nats_url
        self.nats_token = nats_token  # the children's (--nats URL's, or the embedded server's)
        # what the children's private admin listeners take, made for this run and handed over
        # with the configuration (never a flag): without one, any local process could drive
        # the plant's accounts past the token the operator set on the supervisor's listener
        self.child_admin_token = secrets.token_urlsafe(32)
        self.children: list[_Child] = []
        self.nats_life: ChildLife | None = None  # the embedded nats-server's
        self.restarts = 0  # children restarted after they exited
        self.failed = asyncio.Event()  # a child exited before it was ever ready
        self.failure = ""
        self._reserved: list[socket.socket] = []
        self._keepers: list[asyncio.Task[None]] = []  # the children's and the nats-server's
        self._stopping = False
        self.admin: AdminServer | None = None
        self._answers: WorkersAnswers | None = None
        self._locks = PortLocks()

    def url(self, market: Market) -> str:
        port = self.config.um_port if market is Market.UM else self.config.cm_port
        return f"ws://{self.config.host}:{port}"

    async def start(self) -> None:
        """Start everything; return once the plant and every gateway serve. ``PortHeld``
        when another tickerplant serves the listener ports (``port_lock.py``), ``DatabaseHeld``
        when another journals the venue database (``writer_lock.py``)."""
        self._locks.claim(self.config.um_port, "USDⓈ-M")
        self._locks.claim(self.config.cm_port, "COIN-M")
        database = Path(self.config.venue_db)
        # journaled by another server: refused before any child starts, not by a plant that
        # fails again at every restart (the plant takes its own lock: writer_lock.py)
        if database.exists():
            claim_database(database).release()
        um_port, cm_port = self._reserve(self.config.um_port), self._reserve(self.config.cm_port)
        self.config = config = dataclasses.replace(self.config, um_port=um_port, cm_port=cm_port)
        if config.admin_port:  # first: a port in use stops it before any child starts
            token = self.child_admin_token
            self._answers = WorkersAnswers(self.workers, token=token, processes=self.processes)
            # an account's trading, asked of the plant's admin listener (its engines)
            accounts = AccountsApi(config.venue_db, self.clock, asked=self._answers.trading)
            self.admin = AdminServer(self._answers, accounts=accounts)
            await self.admin.start(config.admin_host, config.admin_port, token=config.admin_token)
        if not self.nats_url:
            self.nats = EmbeddedNats()
            self.nats_url = await self.nats.start()
            self.nats_token = self.nats.token
            assert self.nats.process is not None
            log.info("nats-server started on %s (pid %d)", self.nats_url, self.nats.process.pid)
            self.nats_life = ChildLife("nats-server", "nats", config.restart_delay_s)
            self.nats_life.started(self.nats.process.pid, self.clock.now_ms())
            self.nats_life.ready(self.clock.now_ms())  # it answers once start returns
            self._keepers.append(asyncio.get_running_loop().create_task(self._keep_nats(self.nats)))
        base = [*self._command]
        plant = [*base, "plant", "--config-stdin", "--reuse-port", *self._log]
        gateway = [*base, "gateway", "--config-stdin", "--reuse-port", *self._log]
        first_s = config.restart_delay_s
        self.children = [
            _Child(name, role, argv, self._reserve(0, _LOOPBACK) if config.admin_port else 0, first_s)
            for name, role, argv in [
                ("plant", "plant", plant),
                *((f"gateway {i}", "gateway", gateway) for i in range(1, config.workers + 1)),
            ]
        ]
        loop = asyncio.get_running_loop()
        self._keepers += [
            loop.create_task(self._keep(child, self._child_config(child))) for child in self.children
        ]
        waits = [loop.create_task(child.ready.wait()) for child in self.children]
        failed = loop.create_task(self.failed.wait())
        try:
            for ready in asyncio.as_completed([*waits, failed]):
                await ready
                if self.failed.is_set() or all(wait.done() for wait in waits):
                    break
        finally:  # a start cancelled (a signal while the children start) leaves no wait behind
            for wait in [*waits, failed]:
                wait.cancel()
        if self.failed.is_set():
            raise SupervisorFailed(self.failure)

    def _child_config(self, child: _Child) -> bytes:
        """What ``child`` is handed: the whole configuration (the supervisor's NATS, one
        process, and its private admin port) and the NATS token."""
        config = dataclasses.replace(
            self.config, nats_url=self.nats_url, workers=1, admin_host=_LOOPBACK, admin_port=child.admin_port,
            admin_token=self.child_admin_token,  # the supervisor's to ask, on loopback
        )
        return encode_handover(Handover(config, self.nats_token))

    def workers(self) -> list[Worker]:
        """The children's admin listeners, the plant first (``admin.merged`` takes the
        market's gauges from the first)."""
        return [
            Worker(child.role, f"http://{_LOOPBACK}:{child.admin_port}")
            for child in self.children
            if child.admin_port
        ]

    def processes(self) -> list[dict[str, Any]]:
        """Each child process as ``/api/status`` lists it (``processes``): the nats-server
        (when embedded), the plant, the gateways."""
        lives = [self.nats_life] if self.nats_life is not None else []
        return [life.status() for life in [*lives, *(child.life for child in self.children)]]

    def admin_url(self) -> str | None:
        """The admin listener's base URL, or None when it is off (``--admin-port 0``)."""
        if self.admin is None:
            return None
        return f"http://{self.config.admin_host}:{self.admin.port}"

    def _reserve(self, port: int, host: str | None = None) -> int:
        if port:
            return port
        host = host or self.config.host
        family = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, 0))  # bound, never listening: it takes no connection
        self._reserved.append(sock)
        return int(sock.getsockname()[1])

    async def _keep(self, child: _Child, config: bytes) -> None:
        life = child.life
        while not self._stopping:
            # in the JSON format the child's stderr comes through here too, so that whatever
            # it writes outside its log (a crash before its log is set up) is a JSON line
            process = await asyncio.create_subprocess_exec(
                *child.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE if self._as_json else None, start_new_session=True,
                limit=_LINE_LIMIT,
            )  # fmt: skip
            child.process = process
            life.started(process.pid, self.clock.now_ms())
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(config)
            with contextlib.suppress(ConnectionError):
                await process.stdin.drain()
            # stdin stays open: the child's lifeline, closed by the kernel when this exits
            log.info("%s started (pid %d)", child.name, process.pid)
            relays = [self._relay_output(child, process.stdout)]
            if process.stderr is not None:
                relays.append(self._relay_log(child, process.stderr))
            await asyncio.gather(*relays)
            code = await process.wait()
            process.stdin.close()
            if self._stopping:
                return
            if not child.ready.is_set():
                self.failure = f"{child.name} exited with {code} before it served"
                log.error("%s", self.failure)
                self.failed.set()
                return
            self.restarts += 1
            delay_ms = life.exited(code, self.clock.now_ms())
            name, pid = child.name, process.pid
            log.warning("%s (pid %d) exited with %s; restarting it in %d ms", name, pid, code, delay_ms)
            await self.clock.sleep_until(self.clock.now_ms() + delay_ms)

    async def _keep_nats(self, nats: EmbeddedNats) -> None:
        """The nats-server started again whenever it exits, on its port with its token."""
        life = self.nats_life
        assert life is not None
        while not self._stopping:
            process = nats.process
            assert process is not None
            code = await process.wait()
            if self._stopping:
                return
            self.restarts += 1
            delay_ms = life.exited(code, self.clock.now_ms())
            pid = process.pid
            log.warning("nats-server (pid %d) exited with %s; restarting it in %d ms", pid, code, delay_ms)
            while not self._stopping:
                await self.clock.sleep_until(self.clock.now_ms() + delay_ms)
                try:
                    await nats.start()
                except (OSError, RuntimeError) as exc:  # its port taken meanwhile, say
                    delay_ms = life.failed_to_start(self.clock.now_ms())
                    log.error("nats-server did not start again (%s); trying in %d ms", exc, delay_ms)
                    continue
                assert nats.process is not None
                log.info("nats-server started again on %s (pid %d)", nats.url, nats.process.pid)
                life.started(nats.process.pid, self.clock.now_ms())
                life.ready(self.clock.now_ms())
                break

    async def _relay_output(self, child: _Child, stdout: asyncio.StreamReader) -> None:
        """The child's stdout, passed on, but for its ready line, which sets ``ready``."""
        async for line in _lines(stdout):
            if logs.said_text(line, self._as_json).startswith(_READY[child.role]):
                child.ready.set()
                child.life.ready(self.clock.now_ms())
                continue
            self._pass_on(child, line, sys.stdout.buffer, logging.INFO)

    async def _relay_log(self, child: _Child, stderr: asyncio.StreamReader) -> None:
        """The child's stderr (the JSON format only), passed on as JSON lines."""
        async for line in _lines(stderr):
            self._pass_on(child, line, sys.stderr.buffer, logging.ERROR)

    def _pass_on(self, child: _Child, line: bytes, out: BinaryIO, level: int) -> None:
        """``line`` as it came; in the JSON format one that is not a JSON record wrapped in
        one of this logger at ``level``, naming the child."""
        out.write(logs.json_line(line, log.name, level, child=child.name) if self._as_json else line)
        out.flush()

    async def close(self) -> None:
        self._stopping = True
        if self.admin is not None:
            await self.admin.close()
        if self._answers is not None:
            await self._answers.close()
        gateways = [child for child in self.children if child.role == "gateway"]
        plants = [child for child in self.children if child.role == "plant"]
        for group in (gateways, plants):
            await asyncio.gather(*(self._stop(child) for child in group))
        for keeper in self._keepers:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        self._keepers.clear()
        if self.nats is not None:
            await self.nats.stop()
        for sock in self._reserved:
            sock.close()
        self._reserved.clear()
        self._locks.release()

    @staticmethod
    async def _stop(child: _Child) -> None:
        process = child.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("%s (pid %d) did not stop; killing it", child.name, process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
