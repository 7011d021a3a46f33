"""Signed requests held for the order latency (``protocol/latency.py``; docs/venue.md,
"Latency"), in the server's time, which is the market's: a request is performed once the
clock reaches its arrival, so it meets the market as it is then, not as it was when it was
sent, and its answer is written once its response leg has passed. A REST request is an
``AwaitedRoute`` (its connection reads no further meanwhile, as a client waiting on one
connection would); a WebSocket API request an ``AwaitedReply`` (the connection's other
requests go on, each on the same first-in-first-out path).

The path's times never go back (``OrderPath``), so many requests share one arrival
millisecond; each direction is one ``Lane`` that runs what is due in the order it was given,
on one timer. A timer each would not: the wall clock's (``SystemClock.call_at``) turns a
time into a delay rounded up to a whole millisecond when it is set, so two timers for one
millisecond set a fraction of one apart fire in either order, and a cancel sent after its
order was performed before it (``-2011``, the order left open)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Set
from pathlib import Path
from typing import Any, Generic, TypeVar

from tickerplant.clock import Clock, Timer
from tickerplant.gateway.picows_server import AwaitedRoute, Routed
from tickerplant.protocol.latency import OrderPath, latency_file, latency_model
from tickerplant.protocol.ws_api import AwaitedReply, PrivateMethods, WsApiReply, WsSession

__all__ = ["Lane", "LatentPath", "LatentWs", "Replies", "latent_route", "latent_ws", "order_path"]

Answer = TypeVar("Answer")


class Lane:
    """One direction of a path: callbacks due at times that never go back, each run once the
    clock reaches its time, in the order they were given (the module's docstring); one timer,
    for the first of them."""

    __slots__ = ("_clock", "_due", "_timer")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._due: deque[tuple[float, Callable[[], object]]] = deque()  # times ascending
        self._timer: Timer | None = None

    def __len__(self) -> int:
        return len(self._due)

    def at(self, when_ms: float, callback: Callable[[], object]) -> None:
        """``callback`` at ``when_ms``, no earlier than the last one given."""
        due = self._due
        if due and when_ms < due[-1][0]:
            raise ValueError("a lane's times never go back")
        due.append((when_ms, callback))
        if self._timer is None:
            self._timer = self._clock.call_at(when_ms, self._run)

    def _run(self) -> None:
        self._timer = None
        due = self._due
        try:
            while due and due[0][0] <= self._clock.now_ms():
                due.popleft()[1]()  # a callback may add to the lane: it runs here if due now
        finally:  # one that raised (the loop's handler logs it) stops none after it
            if due and self._timer is None:
                self._timer = self._clock.call_at(due[0][0], self._run)


class Replies(Generic[Answer]):
    """Where an answer goes once made: the caller's callback (``then``, given when the request
    is taken, before it arrives)."""

    __slots__ = ("_to",)

    def __init__(self) -> None:
        self._to: Callable[[Answer], None] | None = None

    def then(self, to: Callable[[Answer], None]) -> None:
        self._to = to

    def reply(self, answer: Answer) -> None:
        if self._to is None:  # the callers give theirs as they take the request: a bug
            raise RuntimeError("an answer came before anyone awaited it")
        self._to(answer)


class LatentPath:
    """One listener's ``OrderPath`` on the server's clock: its requests' arrivals and its
    answers, each direction a ``Lane``."""

    __slots__ = ("answers", "arrivals", "clock", "path")

    def __init__(self, path: OrderPath, clock: Clock) -> None:
        self.path, self.clock = path, clock
        self.arrivals, self.answers = Lane(clock), Lane(clock)

    def send(self, now_ms: int, arrive: Callable[[], object]) -> int:
        """A request sent at ``now_ms``: ``arrive`` run at its arrival; its response leg."""
        arrives, response_ms = self.path.send(now_ms)
        self.arrivals.at(arrives, arrive)
        return response_ms

    def answer(self, response_ms: int, reply: Callable[[], object]) -> None:
        """An answer made now: ``reply`` run once it reaches its client."""
        self.answers.at(self.path.answer(self.clock.now_ms(), response_ms), reply)


def order_path(spec: str, seed: str, clock: Clock) -> LatentPath | None:
    """The path ``spec``'s model makes, on ``clock`` (None: no latency), a ``file:`` spec's
    file read here; ValueError saying what is wrong with it."""
    path = latency_file(spec)
    text = None
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ValueError(f"latency file {path}: {exc.strerror or exc}") from None
    model = latency_model(spec, seed, text)
    return LatentPath(OrderPath(model), clock) if model is not None else None


def latent_route(
    path: LatentPath, now_ms: int, perform: Callable[[int], Routed | AwaitedRoute]
) -> AwaitedRoute:
    """The answer ``perform`` makes at the request's arrival (given the time then), written
    after its response leg; the request sent at ``now_ms``."""
    return AwaitedRoute(_through(path, now_ms, perform, AwaitedRoute))


class LatentWs:
    """The WebSocket API's private methods, each request performed at its arrival and its
    reply sent after its response leg."""

    def __init__(self, methods: PrivateMethods, path: LatentPath) -> None:
        self.methods = methods
        self.path = path

    @property
    def names(self) -> Set[str]:
        return self.methods.names

    def answer(
        self, frame: bytes, session: WsSession | None, ip: str, now_ms: int, rate_limits_default: bool
    ) -> WsApiReply | AwaitedReply:
        answer = self.methods.answer

        def perform(at_ms: int) -> WsApiReply | AwaitedReply:
            return answer(frame, session, ip, at_ms, rate_limits_default)

        return AwaitedReply(_through(self.path, now_ms, perform, AwaitedReply))


def _through(
    path: LatentPath, now_ms: int, perform: Callable[[int], object],
    awaited: type[AwaitedRoute | AwaitedReply],
) -> Callable[[Callable[[Any], None]], None]:  # fmt: skip
    """A request sent at ``now_ms`` on ``path``: ``perform`` at its arrival (given the time
    then), its answer (or, when ``awaited``, the answer it awaits: the journal's commit) to
    the callback the returned ``then`` is given, after its response leg."""
    clock, replies = path.clock, Replies[Any]()

    def arrive() -> None:
        made = perform(clock.now_ms())
        if isinstance(made, awaited):
            made.then(send)
        else:
            send(made)

    def send(answer: object) -> None:
        path.answer(response_ms, lambda: replies.reply(answer))

    response_ms = path.send(now_ms, arrive)
    return replies.then


def latent_ws(methods: PrivateMethods, path: LatentPath | None) -> PrivateMethods:
    """``methods`` behind ``path``'s latency; as they are when there is none."""
    return methods if path is None else LatentWs(methods, path)
