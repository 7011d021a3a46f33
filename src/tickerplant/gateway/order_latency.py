"""Signed requests held for the order latency (``protocol/latency.py``; docs/venue.md,
"Latency"), in the server's time, which is the market's: a request is performed once the
clock reaches its arrival, so it meets the market as it is then, not as it was when it was
sent, and its answer is written once its response leg has passed. A REST request is an
``AwaitedRoute`` (its connection reads no further meanwhile, as a client waiting on one
connection would); a WebSocket API request an ``AwaitedReply`` (the connection's other
requests go on, each on the same first-in-first-out path)."""

from __future__ import annotations

from collections.abc import Callable, Set
from pathlib import Path

from tickerplant.clock import Clock
from tickerplant.gateway.picows_server import AwaitedRoute, Routed
from tickerplant.protocol.latency import OrderPath, latency_file, latency_model
from tickerplant.protocol.ws_api import AwaitedReply, PrivateMethods, WsApiReply, WsSession

__all__ = ["LatentWs", "latent_route", "latent_ws", "order_path"]


def order_path(spec: str, seed: str) -> OrderPath | None:
    """The path ``spec``'s model makes (None: no latency), a ``file:`` spec's file read here;
    ValueError saying what is wrong with it."""
    path = latency_file(spec)
    text = None
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ValueError(f"latency file {path}: {exc.strerror or exc}") from None
    model = latency_model(spec, seed, text)
    return OrderPath(model) if model is not None else None


def latent_route(
    path: OrderPath, clock: Clock, now_ms: int, perform: Callable[[int], Routed | AwaitedRoute]
) -> AwaitedRoute:
    """The answer ``perform`` makes at the request's arrival (given the time then), written
    after its response leg."""
    arrives, response_ms = path.send(now_ms)

    def then(reply: Callable[[Routed], None]) -> None:
        def send(routed: Routed) -> None:
            clock.call_at(path.answer(clock.now_ms(), response_ms), lambda: reply(routed))

        def arrive() -> None:
            made = perform(clock.now_ms())
            if isinstance(made, AwaitedRoute):  # held for the journal's commit
                made.then(send)
            else:
                send(made)

        clock.call_at(arrives, arrive)

    return AwaitedRoute(then)


class LatentWs:
    """The WebSocket API's private methods, each request performed at its arrival and its
    reply sent after its response leg."""

    def __init__(self, methods: PrivateMethods, path: OrderPath, clock: Clock) -> None:
        self.methods = methods
        self.path = path
        self.clock = clock

    @property
    def names(self) -> Set[str]:
        return self.methods.names

    def answer(
        self, frame: bytes, session: WsSession | None, ip: str, now_ms: int, rate_limits_default: bool
    ) -> WsApiReply | AwaitedReply:
        path, clock, methods = self.path, self.clock, self.methods
        arrives, response_ms = path.send(now_ms)

        def then(reply: Callable[[WsApiReply], None]) -> None:
            def send(made: WsApiReply) -> None:
                clock.call_at(path.answer(clock.now_ms(), response_ms), lambda: reply(made))

            def arrive() -> None:
                made = methods.answer(frame, session, ip, clock.now_ms(), rate_limits_default)
                if isinstance(made, AwaitedReply):
                    made.then(send)
                else:
                    send(made)

            clock.call_at(arrives, arrive)

        return AwaitedReply(then)


def latent_ws(methods: PrivateMethods, path: OrderPath | None, clock: Clock) -> PrivateMethods:
    """``methods`` behind ``path``'s latency; as they are when there is none."""
    return methods if path is None else LatentWs(methods, path, clock)
