"""Each connection's requests: their heads read, then answered here or handed to picows.

A listener's connections are mostly REST requests. picows' server protocol costs a
connection some 50 µs before it has read a byte (its constructor, and on
``connection_made`` two socket options set and four read back for a log line, a child
logger and its transport), all of it for a WebSocket that a REST request never opens. So
every connection starts on the ``FrontDoor``, a plain asyncio protocol:

- it reads request heads as they come (``http_head.RequestHeads``), and the body each
  declares with ``Content-Length``: a head too long, of a method other than GET, POST, PUT
  or DELETE, not HTTP/1.1, with a body framed otherwise or over 64 KiB, or that picows'
  parser refuses is answered with its refusal and closed (``http_head``);
- a request that does not ask to upgrade (REST, the control paths, a stream path asked
  without ``Upgrade``) is routed and answered here, the bytes picows would write, as one
  writev (``responses.answer_bytes``). The connection then stays open for the next
  request, as Binance's do (HTTP/1.1 keep-alive): requests sent before their answers
  (pipelining) are answered in order, each as soon as the one before it is. It is closed
  after an answer when ``http_head.keeps_alive`` says so (``Connection: close``), and when
  no request comes for ``KEEP_ALIVE_IDLE_MS``. An answer the router makes in pieces
  (``picows_server.LaterRoute``: a cold `fundingRate`, ``protocol/later.py``) is made a piece
  at a time within the REST turns (``rest_turns``), as if each piece were an answer (in line
  while one is made elsewhere, ``LaterRoute.resumes``), and written when made; the requests
  after it wait, as for one made elsewhere (``AwaitedRoute``: by the plant, nothing read nor
  timed out meanwhile; held for this turn's commit, what comes meanwhile read, answered
  after). The router is given each request's body; the next is read from the byte after it.
  ``Expect: 100-continue`` is answered ``100 Continue``;
- the same request again, alone in a read, after an answer that says how to make it again
  (a poller's, ``rest_repeat``), is answered so, its head neither parsed nor routed;
- an upgrade is handed over: picows' protocol (``picows_server.PeerAwareProtocol``) takes
  the transport and every byte from the upgrade's head on (``picows_server.take_over``);
  from there on the connection is picows' alone, at picows' cost per read.

A head, and its body, must be complete within ``HEAD_TIMEOUT_MS`` of its first byte, or
of the connection for the first (on the listener's clock; picows' own handshake timeout, 5 s, for
the same purpose): a client that opens a connection and sends nothing, or a head or a body a
byte at a time, is closed, so it holds a descriptor for seconds, not for ever. An idle keep-alive
connection holds one for ``KEEP_ALIVE_IDLE_MS`` at most, and counts against the process'
file descriptors like any other (``acceptor``: past the soft limit, new clients get 503).

Memory: the bytes kept are bounded by a head's (16 KiB, ``http_head.MAX_HEAD_BYTES``) and a
body's (64 KiB, ``http_head.MAX_BODY_BYTES``) plus two reads. A client that pipelines faster
than its REST turns answer is not read again until what it sent is answered
(``resume_answers``), nor one that does not read its answers while the send buffer is over
its high-water mark (``pause_writing``): its requests wait in the socket, not the process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import cast

from picows import WSUpgradeRequest

from tickerplant.clock import Clock, Timer
from tickerplant.gateway.http_head import Refusal, RequestHeads, expects_continue, http_date, keeps_alive
from tickerplant.gateway.memory_trim import AllocatorTrim
from tickerplant.gateway.picows_server import (
    AwaitedRoute,
    Head,
    LaterRoute,
    PeerAwareProtocol,
    PeerRouter,
    Routed,
    asks_to_upgrade,
    checked_head,
    take_over,
)
from tickerplant.gateway.responses import answer_bytes
from tickerplant.gateway.rest_repeat import Repeat, kept_to_repeat
from tickerplant.gateway.rest_turns import RestTurns
from tickerplant.gateway.traffic import Traffic
from tickerplant.protocol.limits import LimitCounters

__all__ = ["HEAD_TIMEOUT_MS", "KEEP_ALIVE_IDLE_MS", "FrontDoor"]

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"  # the body is welcome (RFC 9110 §15.2.1)
HEAD_TIMEOUT_MS = 5_000  # picows' handshake timeout: a request head (a TLS handshake) is complete by then
# How long a kept-alive connection may wait for its next request. Binance does not say;
# its servers keep a connection idle for about a minute, as nginx's 75 s default does.
KEEP_ALIVE_IDLE_MS = 60_000


class FrontDoor(asyncio.Protocol):
    """One connection until its request head is read (see the module's docstring)."""

    __slots__ = (
        "_accepted", "_answered", "_awaiting", "_clock", "_deadline_ms", "_doors", "_eof", "_heads",
        "_in_line", "_later", "_line_paused", "_logger", "_paused", "_pending", "_reading_paused", "_repeat",
        "_router", "_timer", "_timer_ms", "_traffic", "_transport", "_turns", "counters", "peer_ip", "trim",
    )  # fmt: skip

    def __init__(
        self, router: PeerRouter, logger: logging.Logger, counters: LimitCounters, clock: Clock,
        trim: AllocatorTrim | None = None, accepted: Callable[[int], None] | None = None,
        doors: set[FrontDoor] | None = None, traffic: Traffic | None = None, turns: RestTurns | None = None,
    ) -> None:  # fmt: skip
        """``doors``: the listener's open front doors, which this one joins while its
        connection is its own, so that a listener that stops closes them. ``traffic``: where
        a connection that carried REST requests is counted, once. ``turns``: the loop's
        share of REST per turn, which each answer asks first (``rest_turns``)."""
        self.peer_ip = "?"
        self.counters = counters
        self.trim = trim  # counts connections to give memory back after a wave of them
        self._router = router
        self._logger = logger  # picows', for an upgraded connection
        self._clock = clock
        self._accepted = accepted  # told each connection's descriptor (acceptor.Acceptor)
        self._heads: RequestHeads | None = RequestHeads()  # None once closing or handed over
        self._transport: asyncio.Transport | None = None
        self._timer: Timer | None = None
        self._timer_ms = 0  # when the timer fires
        self._deadline_ms = 0  # when the connection is closed unless a head completes first
        self._paused = False  # the send buffer is over its high-water mark: answer no more
        self._doors, self._traffic = doors, traffic
        self._answered = False  # a plain request was answered on this connection
        self._turns = turns
        self._in_line = False  # waiting for a turn to answer: no timeout
        self._line_paused = False  # more came while in line: reading paused until the turn
        self._pending: tuple[bytes, Head] | None = None  # a head checked, its body still coming
        # an answer being made in pieces (protocol/later.py), with its request and keep-alive
        self._later: tuple[LaterRoute, WSUpgradeRequest, bool] | None = None
        # an answer made elsewhere is awaited (AwaitedRoute); reading stopped until it comes
        self._awaiting = self._reading_paused = False
        # the last request's bytes (head and blank line), when its answer can be made again
        # without them parsed or routed (rest_repeat), with what answers it and the request
        self._repeat: Repeat | None = None
        self._eof = False  # the client half-closed while requests it sent wait (eof_received)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else "?"
        if self._accepted is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                self._accepted(sock.fileno())
        if self.trim is not None:
            self.trim.opened()
        if self._doors is not None:
            self._doors.add(self)
        self._arm(HEAD_TIMEOUT_MS)

    def data_received(self, data: bytes) -> None:
        heads = self._heads
        if heads is None or self._transport is None:
            return  # answered and closing: what else comes is not read
        if self._in_line:  # kept for its turn, nothing more read until then (_wait_in_line)
            heads.receive(data)
            self._line_paused = True
            self._transport.pause_reading()
            return
        repeat = self._repeat
        if (
            repeat is not None and data == repeat[0] and not heads.started
            and not (self._paused or self._in_line or self._awaiting or self._later or self._pending)
        ):  # fmt: skip
            # the last request again, alone: answered as rest_repeat says (inlined: a tenth a call)
            turns = self._turns
            if turns is None or turns.admit(self):  # else in line now, read as any request
                started = self._clock.now_ns()
                made = repeat[1].again(self.peer_ip, started)
                if isinstance(made, bytes):
                    self._transport.write(made)
                elif not isinstance(made, LaterRoute):
                    self._transport.writelines(made)
                if turns is not None:
                    turns.spent(started)
                if isinstance(made, LaterRoute):  # made in pieces, turn by turn, as _answer makes them
                    self._later = (made, repeat[2], True)
                    self._answer()
                elif self._timer is None:
                    self._arm(KEEP_ALIVE_IDLE_MS)
                else:  # _arm's: a later deadline, the armed timer looks again when it fires
                    self._deadline_ms = started // 1_000_000 + KEEP_ALIVE_IDLE_MS
                return
        idle = not heads.started
        heads.receive(data)
        if not self._answer() and idle and self._heads is not None and not (self._paused or self._in_line):
            self._arm(HEAD_TIMEOUT_MS)  # idle until now, and a head begun: its time starts

    def pause_writing(self) -> None:
        """The send buffer is over its high-water mark: answer and read nothing more until the
        client reads; one that reads nothing for ``KEEP_ALIVE_IDLE_MS`` is closed."""
        self._paused = True
        if self._transport is not None and self._heads is not None:
            self._transport.pause_reading()
            self._arm(KEEP_ALIVE_IDLE_MS)

    def resume_writing(self) -> None:
        self._paused = False
        transport = self._transport
        held = self._line_paused or self._reading_paused  # reading paused for another reason
        if transport is not None and self._heads is not None and not held:
            transport.resume_reading()
            if not self._in_line:
                self._arm(HEAD_TIMEOUT_MS if self._heads.started else KEEP_ALIVE_IDLE_MS)
                self._answer()

    def _answer(self) -> bool:
        """Answer the requests that came, in order, until one is incomplete, the send buffer
        is full, or the connection closes or is handed over; whether one was answered."""
        heads = self._heads
        transport = self._transport
        answered = False
        while heads is not None and transport is not None and not (self._paused or self._awaiting):
            later = self._later
            if later is not None:  # an answer made in pieces: its next, within the turn's budget
                turns = self._turns
                if turns is not None and not turns.admit(self):
                    self._wait_in_line(transport)
                    break
                route, request, alive = later
                if turns is not None:
                    started = turns.started()
                    made = route.step()
                    turns.spent(started)
                    if not made and route.resumes(self.resume_answers):  # until made elsewhere
                        self._wait_in_line(transport)
                        break
                    if not made:
                        continue
                made_route = route.run()  # made: its answer (without turns, every piece now)
                self._later = None
                date = http_date(self._clock.now_ms())
                transport.writelines(answer_bytes(made_route, request, alive, date))
                answered = True
                if not alive:
                    self._close(transport)
                    break
                continue
            pending = self._pending
            if pending is None:
                outcome = heads.next()
                if outcome is None:
                    break
                if isinstance(outcome, Refusal):
                    checked: Refusal | Head = outcome
                else:
                    checked = checked_head(outcome)
                    head_bytes = outcome
                if isinstance(checked, Refusal):
                    self.counters.head_refused(checked.status)
                    transport.write(checked.to_bytes(http_date(self._clock.now_ms())))
                    self._close(transport)
                    return True
                # an upgrade is a GET (RFC 6455 §4.1): another method asking for one is refused
                # (``checked_head``)
                if checked.request.method == b"GET" and asks_to_upgrade(checked.request):
                    self._stop_timer()
                    self._heads = None
                    self._hand_over(transport, heads.received)
                    return True
                pending = self._pending = (head_bytes, checked)
                head, (request, length) = pending
                if length and heads.body(head, length) is None and expects_continue(request.headers):
                    transport.write(_CONTINUE)
            head, (request, length) = pending
            body = heads.body(head, length) if length else b""
            if body is None:
                break  # the body comes within the head's time (HEAD_TIMEOUT_MS), or never
            turns = self._turns
            if turns is not None and not turns.admit(self):
                self._wait_in_line(transport)
                break
            heads.consume(length)
            self._pending = None
            alive = keeps_alive(request.headers)
            started = turns.started() if turns is not None else 0
            routed = self._router(request, self.peer_ip, body)
            if isinstance(routed, LaterRoute):  # its pieces next, turn by turn, then its answer
                self._later = (routed, request, alive)
                if turns is not None:
                    turns.spent(started)
                continue
            if isinstance(routed, AwaitedRoute):  # written when it comes; nothing answered meanwhile
                if turns is not None:
                    turns.spent(started)
                answered = self._awaiting = True  # (no wait for a head is armed while it is)
                if not routed.this_turn:  # nothing read meanwhile either, and no timeout
                    self._stop_timer()
                    transport.pause_reading()
                self._reading_paused = not routed.this_turn
                routed.then(functools.partial(self._awaited, request, alive))
                break
            transport.writelines(answer_bytes(routed, request, alive, http_date(self._clock.now_ms())))
            if turns is not None:
                turns.spent(started)
            answered = True
            self._repeat = kept_to_repeat(routed, head, pending[1]) if alive else None
            if not alive:
                self._close(transport)
                break
        if answered and not self._answered:
            self._answered = True
            if self._traffic is not None:
                self._traffic.accepted["rest"] += 1
        if answered and not (self._paused or self._awaiting) and self._heads is not None and self._transport:
            # the next head's time starts now, or the wait for it
            self._arm(HEAD_TIMEOUT_MS if self._heads.started else KEEP_ALIVE_IDLE_MS)
        return answered

    def _awaited(self, request: WSUpgradeRequest, alive: bool, routed: Routed) -> None:
        """The answer an ``AwaitedRoute`` waited for: written, then the requests after it."""
        self._awaiting = False
        transport = self._transport
        if transport is None or self._heads is None:
            return  # the client left, or the listener shut it meanwhile
        transport.writelines(answer_bytes(routed, request, alive, http_date(self._clock.now_ms())))
        if not alive:
            self._close(transport)
            return
        if self._reading_paused and not (self._paused or self._line_paused):
            transport.resume_reading()
        self._reading_paused = False
        if self._heads.started:
            # the next requests at the loop's next turn, not inside the journal's commit that
            # released this answer (a command of the next group must not run among its acks)
            asyncio.get_running_loop().call_soon(self._after_awaited)
        elif not self._paused:  # none came meanwhile: the wait for the next starts now
            self._arm(KEEP_ALIVE_IDLE_MS)

    def _after_awaited(self) -> None:
        if self._heads is None or self._transport is None or self._awaiting or self._answer():
            return  # closed, waiting again, or answered more (and armed the wait for the next)
        if self._heads is not None and not (self._paused or self._in_line):
            self._arm(HEAD_TIMEOUT_MS if self._heads.started else KEEP_ALIVE_IDLE_MS)

    def _wait_in_line(self, transport: asyncio.Transport) -> None:
        """The REST budget is spent, or a piece is made elsewhere (``LaterRoute.resumes``): answer
        and time out nothing until ``resume_answers`` (the timer, if it fires, does nothing). What
        comes meanwhile (one read: a client that waits sends nothing) is kept and reading paused
        (``data_received``), so most waits cost no pause and resume of the socket."""
        self._in_line = True

    def resume_answers(self) -> None:
        """This connection's turn (``RestTurns``): answer while the budget lasts, then read again
        unless back in line with requests kept (a pipelining client's reads would pile up)."""
        transport = self._transport
        if not self._in_line or transport is None or self._heads is None:
            return
        self._in_line = False
        answered = self._answer()
        if self._line_paused and not self._in_line and self._heads is not None:
            self._line_paused = False  # all it kept answered, or a head still coming: read on
            if not (self._paused or self._reading_paused):
                transport.resume_reading()
        if not answered and not self._in_line and self._heads is not None and not self._paused:
            self._arm(HEAD_TIMEOUT_MS if self._heads.started else KEEP_ALIVE_IDLE_MS)

    def eof_received(self) -> bool:
        """The client sends no more: what it sent before is still answered (RFC 9112 §9.6),
        the connection closing once nothing of it waits (``_arm``); else it closes now."""
        if self._in_line or self._awaiting or self._later is not None or self._reading_paused:
            self._eof = True
            return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._later = None
        self._leave_line()
        self._stop_timer()
        self._heads = None
        self._transport = None
        if self._doors is not None:
            self._doors.discard(self)
        if self.trim is not None:
            self.trim.closed()

    def shut(self) -> None:
        """Close the connection between requests, or under one not yet answered: the
        listener stops."""
        self._leave_line()
        self._stop_timer()
        self._heads = None
        if self._transport is not None:
            self._transport.close()

    def _leave_line(self) -> None:
        if self._in_line and self._turns is not None:
            self._turns.forget(self)
        self._in_line = self._line_paused = False

    def _close(self, transport: asyncio.Transport) -> None:
        """End the connection after what was written: the answer, then the end of the
        stream (FIN). Closing the socket outright while the client's bytes wait unread (a
        body, a pipelined request) would reset the connection and could destroy the answer
        on its way (RFC 9112 §9.6); so what the client still sends is read and dropped until
        it closes, for ``HEAD_TIMEOUT_MS`` at most."""
        self._heads = None
        self._stop_timer()
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        clock = self._clock
        self._timer = clock.call_at(clock.now_ms() + HEAD_TIMEOUT_MS, transport.close)

    def _hand_over(self, transport: asyncio.Transport, received: bytes) -> None:
        """picows takes the connection, ``received`` (the head and what came after it) first."""
        ws = PeerAwareProtocol(self._router, self._logger, self.counters, self.peer_ip, self.trim)
        self.trim = None  # counted closed by picows' protocol, whose connection it is now
        self._transport = None
        if self._doors is not None:
            self._doors.discard(self)  # picows' now, closed as the listener's connections are
        take_over(transport, ws, received)

    def _arm(self, timeout_ms: int) -> None:
        """Close the connection unless a head completes within ``timeout_ms``. A request per
        connection moves the deadline later without a new timer: the one armed looks again
        when it fires; only a deadline earlier than it replaces it. After the client's
        half-close with nothing of it waiting, the connection ends instead."""
        if self._eof and self._idle() and self._transport is not None:
            self._close(self._transport)
            return
        clock = self._clock
        deadline = self._deadline_ms = clock.now_ms() + timeout_ms
        if self._timer is not None:
            if deadline >= self._timer_ms:
                return
            self._timer.cancel()
        self._timer_ms = deadline
        self._timer = clock.call_at(deadline, self._timed_out)

    def _idle(self) -> bool:
        """Nothing the client sent waits: no request in line, awaited, in pieces, or begun."""
        heads, waiting = self._heads, self._in_line or self._awaiting or self._paused
        return heads is not None and not (heads.started or waiting or self._pending or self._later)

    def _timed_out(self) -> None:
        self._timer = None
        transport = self._transport
        if self._heads is None or transport is None or self._awaiting or self._in_line:
            return  # (an answer awaited or in line: the wait is armed again after it)
        if self._clock.now_ms() < self._deadline_ms:  # moved on since it was armed
            self._timer_ms = self._deadline_ms
            self._timer = self._clock.call_at(self._deadline_ms, self._timed_out)
            return
        heads = self._heads
        if not self._paused and (self._pending is not None or heads.started or not self._answered):
            self.counters.head_timeout += 1  # a head (or body) late, not a kept-alive connection idle
        self._close(transport)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

