"""Accepting connections, with a file descriptor held back to say no with.

Every connection holds a file descriptor. Once the process has none left, ``accept()``
fails with EMFILE (ENFILE: the system's table is full) and the clients waiting in the
listen backlog can be neither served nor told why: asyncio's own server logs a traceback
and stops accepting for a second, and uvloop's (libuv's) accepts and closes them without a
word. So the listeners take over accepting once descriptors run short, the classic way:

- the acceptor holds one descriptor open on ``/dev/null``, the reserve;
- when ``accept()`` runs out, it closes the reserve, accepts one waiting client into the
  freed descriptor, answers it ``503 Service Unavailable`` with ``Retry-After: 1``, closes
  it and takes the reserve back; and so on while clients wait, so none of them is left
  hanging or reset without an answer;
- each refusal is logged through a ``LogBudget`` (at most 10 per 10 s; the next record
  let through says how many were held), and counted;
- should the reserve itself be lost (something else took the descriptor meanwhile),
  accepting pauses for a second, as asyncio's server does, instead of spinning.

While descriptors are plentiful the loop's own server accepts too (in C on uvloop: a Python
``accept()`` and a task per connection cost a REST request, a connection each, some 50 µs
more), on a duplicate of each listening socket. But it accepts one connection per turn of
the loop (libuv's ``uv__server_io`` under uvloop, seen with strace: one ``accept4`` between
two ``epoll_wait``), and a turn that fans a real-time stream out to 5,000 connections takes
20-40 ms: new clients then came up at 25-50 a second, and waited in the listen backlog for
tens of seconds. So the acceptor reads the listening sockets itself all the time, beside the
loop's server, and accepts what that one left waiting, up to ``ACCEPTS_PER_TURN`` a turn
(the loop runs each reader once a turn): a quiet listener's lone client is taken by
whichever looks first, a queue of them at up to ``ACCEPTS_PER_TURN`` + 1 a turn however
long the turn, while the work they bring (a head, a handshake) stays bounded per turn.

The protocol reports each connection's descriptor (``accepted``); once one comes within the
margin of the soft limit (1/16 of it, at least 8: ``_guard_at``), the acceptor closes the
loop's servers (their duplicates: the listening sockets stay open) and accepts alone, with
its reserve, as above; once it accepts a descriptor below the limit less twice the margin,
it gives the loop's servers back. The limit is read at every check, so a limit lowered while
running is honoured.

The refusal is written before the request has been read (there is no descriptor to wait
for it with): whatever of the request has already arrived is read and dropped first, so
that closing does not reset the connection under the answer. Serving clients is
unchanged: each accepted socket goes to the loop's ``connect_accepted_socket``, which
builds the same transport its own server would have.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import socket
from collections.abc import Callable
from ssl import SSLContext

from tickerplant.clock import Clock, Timer
from tickerplant.gateway.front_door import HEAD_TIMEOUT_MS
from tickerplant.gateway.http_head import Refusal
from tickerplant.gateway.log_budget import LogBudget, held_note
from tickerplant.protocol.limits import LimitCounters

__all__ = ["ACCEPTS_PER_TURN", "OUT_OF_FILES", "Acceptor", "bind"]

_OUT_OF_FILES = {errno.EMFILE, errno.ENFILE}
_SHORT_OF_MEMORY = {errno.ENOBUFS, errno.ENOMEM}
# Connections the acceptor takes per turn of the loop, then the loop's other callbacks run:
# at a 50 ms turn (a real-time stream to 10,000 connections) still 10,000 a second; the
# turn that handshakes them takes some 50 ms more. (128 a turn: a burst of 1,000 at 10,000
# connections took 1.4-1.6 s to its 99th handshake; 512: 0.56-0.74 s, on the same machine.)
ACCEPTS_PER_TURN = 512
_PAUSE_MS = 1000  # accept again after this when even the reserve is gone (asyncio's delay)
_DRAIN_BYTES = 64 * 1024
_MIN_MARGIN = 8  # descriptors short of the soft limit at which the acceptor takes over
_NEVER = 1 << 62
OUT_OF_FILES = Refusal(503, b"Server out of file descriptors; retry later\n", (("Retry-After", "1"),))
_OUT_OF_FILES_BYTES = OUT_OF_FILES.to_bytes()


def bind(
    host: str, port: int, backlog: int, *, reuse_port: bool = False, listen: bool = True
) -> list[socket.socket]:
    """Listening sockets for ``host:port``, one per address it resolves to, as asyncio's
    ``create_server`` binds them (``SO_REUSEADDR``; IPv6 sockets IPv6 only); with
    ``reuse_port``, ``SO_REUSEPORT`` too: gateway processes share the port, and the kernel
    spreads the connections over them. ``listen`` False: bound only (``listening.reserve``),
    the port held and a connection to it refused until ``socket.listen``."""
    infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            if listen:
                sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Acceptor:
    """Accepts on ``sockets`` and hands each connection to ``factory``'s protocol."""

    def __init__(
        self,
        sockets: list[socket.socket],
        factory: Callable[[], asyncio.Protocol],
        clock: Clock,
        logger: logging.Logger,
        counters: LimitCounters,
        backlog: int,
        ssl: SSLContext | None = None,
        handshake_ms: int = HEAD_TIMEOUT_MS,
    ) -> None:
        """``ssl``: every connection speaks TLS (``tls.server_context``); a client refused
        for want of descriptors is then closed without the 503, which it could not read
        before a handshake the reserve has no time for. Its handshake is done within
        ``handshake_ms``, or the connection closed."""
        self.sockets = sockets
        self._ssl = ssl
        # a TLS handshake is done within a plain connection's time for its head, not asyncio's
        # 60 s: a client that starts one and sends nothing holds its descriptor no longer
        self._handshake_s = None if ssl is None else handshake_ms / 1000
        self._backlog = backlog
        self._native: list[asyncio.AbstractServer] = []  # the loop's servers, while they accept
        self._guarding = False  # this acceptor accepts (descriptors are short)
        self._handing_back = False
        self._factory = factory
        self._clock = clock
        self._log = logger
        self._counters = counters  # the listener's: out_of_files counts the 503s
        self.log_budget = LogBudget()
        self._loop = asyncio.get_running_loop()
        self._reserve: int | None = _reserve()
        self._pause: Timer | None = None
        self._closed = False

    async def start(self) -> None:
        native = await self._servers()
        if native is None:
            self._guard()
        else:
            self._native = native
        self._read()  # beside the loop's servers: what they leave waiting (module docstring)

    @property
    def accepting_itself(self) -> bool:
        """True while descriptors are short and this acceptor accepts alone (with its
        reserve); False while the loop's own servers accept beside it."""
        return self._guarding

    def accepted(self, fd: int) -> None:
        """A connection was made on descriptor ``fd``: take over accepting once it is within
        the margin of the soft limit."""
        if not self._guarding and fd >= _guard_at()[0]:
            self._guard()

    async def _servers(self) -> list[asyncio.AbstractServer] | None:
        """The loop's own servers on duplicates of the listening sockets; None when a
        duplicate cannot be had (no descriptor for it)."""
        servers: list[asyncio.AbstractServer] = []
        try:
            for sock in self.sockets:
                server = await self._loop.create_server(
                    self._factory, sock=sock.dup(), backlog=self._backlog, ssl=self._ssl,
                    ssl_handshake_timeout=self._handshake_s,
                )  # fmt: skip
                servers.append(server)
        except OSError:
            for made in servers:
                made.close()
            return None
        return servers

    def _guard(self) -> None:
        self._guarding = True
        for server in self._native:
            server.close()  # its duplicate of the listening socket; connections stay
        self._native = []

    def _read(self) -> None:
        for sock in self.sockets:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _unread(self) -> None:
        for sock in self.sockets:
            self._loop.remove_reader(sock.fileno())

    async def _hand_back(self) -> None:
        try:
            native = await self._servers()
        finally:
            self._handing_back = False
        if native is None:
            return
        if self._closed or not self._guarding:
            for server in native:
                server.close()
            return
        self._guarding = False
        self._native = native

    def _accept(self, sock: socket.socket) -> None:
        loop = self._loop
        for _ in range(ACCEPTS_PER_TURN):
            try:
                client, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_FILES:
                    refused = self._refuse(sock, exc)
                    if refused is not None:
                        if refused:
                            continue
                        return  # nobody was waiting after all
                self._counters.accept_failed += 1
                if exc.errno in _OUT_OF_FILES or exc.errno in _SHORT_OF_MEMORY:
                    self._pause_accepting(exc)
                    return
                # ECONNABORTED and the network errors accept(2) passes on: that client
                # is gone; the next one may be fine.
                continue
            if not self._guarding and client.fileno() >= _guard_at()[0]:
                self._guard()  # at once: a turn's accepts could take the rest before it is told
            client.setblocking(False)
            accepted = loop.connect_accepted_socket(
                self._factory, client, ssl=self._ssl, ssl_handshake_timeout=self._handshake_s
            )
            task = loop.create_task(accepted)
            task.add_done_callback(_retrieved)
            if self._guarding and not self._handing_back and client.fileno() < _guard_at()[1]:
                self._handing_back = True  # descriptors are plentiful again
                loop.create_task(self._hand_back()).add_done_callback(_retrieved)

    def _refuse(self, sock: socket.socket, exc: OSError) -> bool | None:
        """Answer one waiting client 503 through the reserve: True once done, False when
        nobody was waiting, None without a reserve to do it with."""
        if self._reserve is None:
            self._reserve = _reserve()
            if self._reserve is None:
                return None
        os.close(self._reserve)
        self._reserve = None
        try:
            client, _ = sock.accept()
        except OSError as again:
            self._reserve = _reserve()
            if again.errno in _OUT_OF_FILES:
                return None  # something else took the descriptor meanwhile
            return False
        with client:
            client.setblocking(False)
            with contextlib.suppress(OSError):  # the request may not have arrived yet
                client.recv(_DRAIN_BYTES)  # what arrived of it: see the docstring
            with contextlib.suppress(OSError):  # the client may be gone already
                if self._ssl is None:
                    client.send(_OUT_OF_FILES_BYTES)
                # the answer is all we send; what arrived of the request meanwhile is read
                # too, so that closing does not reset the connection under the answer
                client.shutdown(socket.SHUT_WR)
                client.recv(_DRAIN_BYTES)
        self._reserve = _reserve()
        self._counters.out_of_files += 1
        held = self.log_budget.allow("out of file descriptors", self._clock.now_ms())
        if held is not None:
            self._log.warning(
                "out of file descriptors (%s): a new connection was answered 503%s",
                os.strerror(exc.errno or 0), held_note(held),
            )  # fmt: skip
        return True

    def _pause_accepting(self, exc: OSError) -> None:
        held = self.log_budget.allow("accept paused", self._clock.now_ms())
        if held is not None:
            self._log.warning(
                "cannot accept connections (%s): accepting again in %d ms%s",
                os.strerror(exc.errno or 0), _PAUSE_MS, held_note(held),
            )  # fmt: skip
        self._unread()
        self._pause = self._clock.call_at(self._clock.now_ms() + _PAUSE_MS, self._resume)

    def _resume(self) -> None:
        self._pause = None
        if not self._closed:
            self._read()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pause is not None:
            self._pause.cancel()
        for server in self._native:
            server.close()
        self._native = []
        for sock in self.sockets:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None

    async def wait_closed(self) -> None:
        """As ``asyncio.Server.wait_closed`` on Python 3.11: the connections it handed on
        are their listeners' to close."""


def _guard_at() -> tuple[int, int]:
    """The descriptor at which the acceptor takes over, and the one below which it hands
    back: the soft limit less its margin, and less twice the margin."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _NEVER, _NEVER
    margin = max(_MIN_MARGIN, soft // 16)
    return soft - margin, soft - 2 * margin


def _reserve() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


def _retrieved(task: asyncio.Task[object]) -> None:
    # A client can be gone before its transport is built; nothing to report.
    if not task.cancelled():
        task.exception()
