"""Answers held for the journal's commit at the end of the loop turn
(``durable_replies.after_commit``: ``AwaitedRoute(this_turn=True)``): the front door neither stops
reading nor re-arms its timer for each, and pipelined requests are still answered in order,
each after the one before it is released; an answer made elsewhere (not this turn) still
stops the reading until it comes."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

from picows import WSUpgradeRequest
from recorded_transport import Recorded

from tickerplant.clock import ManualClock, Timer
from tickerplant.gateway.front_door import FrontDoor
from tickerplant.gateway.picows_server import AwaitedRoute, Routed
from tickerplant.gateway.responses import json_response
from tickerplant.protocol.limits import LimitCounters


class Counting(ManualClock):
    """A manual clock that counts the timers set on it."""

    def __init__(self) -> None:
        super().__init__()
        self.set_timers = 0

    def call_at(self, when_ms: float, callback: Callable[[], object]) -> Timer:
        self.set_timers += 1
        return super().call_at(when_ms, callback)


def _door(this_turn: bool, clock: ManualClock) -> tuple[FrontDoor, Recorded]:
    loop = asyncio.get_running_loop()

    def route(request: WSUpgradeRequest, ip: str, body: bytes) -> AwaitedRoute:
        answer = json_response(200, b'{"path":"%s"}' % request.path)

        def then(reply: Callable[[Routed], None]) -> None:
            loop.call_soon(reply, answer)  # released at the end of the turn, as the commit's flush

        return AwaitedRoute(then, this_turn=this_turn)

    door = FrontDoor(route, logging.getLogger("test"), LimitCounters(), clock)
    transport = Recorded()
    door.connection_made(transport)
    return door, transport


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_answers_held_this_turn_leave_reading_and_timer_alone() -> None:
    clock = Counting()
    door, transport = _door(True, clock)
    assert clock.set_timers == 1  # the wait for the first head
    door.data_received(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
    door.data_received(b"GET /c HTTP/1.1\r\n\r\n")  # comes while /a is held: kept, answered after
    await _settle()
    bodies = re.findall(rb'\{"path":"/."\}', bytes(transport.written))
    assert bodies == [b'{"path":"/a"}', b'{"path":"/b"}', b'{"path":"/c"}']
    assert transport.calls == []  # never paused, never resumed, never closed
    assert clock.set_timers == 1  # the wait for each next head moved that timer's deadline


async def test_an_answer_made_elsewhere_still_stops_the_reading() -> None:
    door, transport = _door(False, ManualClock())
    door.data_received(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
    await _settle()
    bodies = re.findall(rb'\{"path":"/."\}', bytes(transport.written))
    assert bodies == [b'{"path":"/a"}', b'{"path":"/b"}']
    assert transport.calls == ["pause", "resume", "pause", "resume"]
