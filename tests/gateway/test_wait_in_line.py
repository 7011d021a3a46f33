"""A connection waiting in line for its REST turn (``rest_turns``) keeps reading until
something more comes: a client waiting for its answer costs no pause and resume of its
socket; one that sends more meanwhile has that read kept, reading paused until its turn,
and its requests answered in order; reading resumes only once what it kept is answered, not
at a turn that leaves some of it in line."""

from __future__ import annotations

import logging
from collections.abc import Callable

from picows import WSUpgradeRequest
from recorded_transport import Recorded

from tickerplant.clock import ManualClock
from tickerplant.gateway.front_door import FrontDoor
from tickerplant.gateway.picows_server import Routed
from tickerplant.gateway.responses import json_response
from tickerplant.gateway.rest_turns import RestTurns
from tickerplant.protocol.limits import LimitCounters


def _door() -> tuple[FrontDoor, Recorded, list[Callable[[], None]]]:
    scheduled: list[Callable[[], None]] = []
    ticks = iter(range(0, 10**12, 1000))
    turns = RestTurns(scheduled.append, lambda: next(ticks), budget_ms=0.0)  # one answer a turn

    def route(request: WSUpgradeRequest, ip: str, body: bytes) -> Routed:
        return json_response(200, b'{"path":"%s"}' % request.path)

    door = FrontDoor(route, logging.getLogger("test"), LimitCounters(), ManualClock(), turns=turns)
    transport = Recorded()
    door.connection_made(transport)
    return door, transport, scheduled


def _turn(scheduled: list[Callable[[], None]]) -> None:
    """One turn of the loop: the callbacks scheduled before it."""
    now, scheduled[:] = list(scheduled), []
    for callback in now:
        callback()


def test_a_wait_without_more_sent_does_not_pause_reading() -> None:
    door, transport, scheduled = _door()
    door.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    assert not transport.written  # in line
    _turn(scheduled)
    assert b'{"path":"/a"}' in transport.written
    assert transport.calls == []


def test_what_comes_in_line_is_kept_reading_paused_and_answered_in_order() -> None:
    door, transport, scheduled = _door()
    door.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    door.data_received(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
    assert not transport.written and transport.calls == ["pause"]  # kept, nothing more read
    for _ in range(6):
        _turn(scheduled)
    written = bytes(transport.written)
    assert [written.find(b'{"path":"/%s"}' % p) for p in (b"a", b"b", b"c")] == sorted(
        written.find(b'{"path":"/%s"}' % p) for p in (b"a", b"b", b"c")
    )
    assert all(b'{"path":"/%s"}' % p in written for p in (b"a", b"b", b"c"))
    assert transport.calls == ["pause", "resume"]


def test_reading_stays_paused_until_what_was_kept_is_answered() -> None:
    door, transport, scheduled = _door()
    door.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    door.data_received(b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(3)))
    assert transport.calls == ["pause"]
    _turn(scheduled)  # the turn's one answer, /a: back in line with /0, /1 and /2 kept
    assert b'{"path":"/a"}' in transport.written and transport.calls == ["pause"]  # nothing more read
    for answered in (b"/0", b"/1"):
        _turn(scheduled)
        assert b'{"path":"%s"}' % answered in transport.written and transport.calls == ["pause"]
    _turn(scheduled)  # the last kept one answered: reading again
    assert b'{"path":"/2"}' in transport.written and transport.calls == ["pause", "resume"]
