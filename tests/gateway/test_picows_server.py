"""The gateway's use of picows' private server protocol: fails when picows changes under it.

``gateway/picows_server.py`` builds picows' ``WSProtocol`` by hand (the public server hides
the peer's address from the router). These tests pin what it relies on: the constructor's
argument names and count, and the attributes the listener reads.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
from importlib.metadata import version

import picows.api
from picows import WSUpgradeRequest

from tickerplant.gateway.picows_server import LaterRoute, PeerAwareProtocol, Routed, protocol_arguments
from tickerplant.market.history.farming import ASKING
from tickerplant.protocol.limits import LimitCounters


def route(request: WSUpgradeRequest) -> Routed | None:
    return None


def test_picows_is_the_tested_minor() -> None:
    # Bump this together with the pin in pyproject.toml, once this file passes on the new one.
    assert version("picows").split(".")[:2] == ["2", "3"]


async def test_the_protocol_takes_our_arguments_by_name() -> None:
    # A renamed, removed or newly required argument raises TypeError here.
    protocol = PeerAwareProtocol(lambda request, ip: None, logging.getLogger("test"), LimitCounters(), "10.0.0.1")
    assert isinstance(protocol, asyncio.BufferedProtocol)
    assert protocol.transport is None and protocol.listener is None  # set on connection_made
    assert protocol.peer_ip == "10.0.0.1"


def test_picows_own_server_passes_as_many_arguments_as_we_do() -> None:
    # picows' public ws_create_server builds the same protocol; if it starts passing
    # another argument, the constructor grew one we do not set.
    tree = ast.parse(inspect.getsource(picows.api.ws_create_server))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "WSProtocol"
    ]
    assert len(calls) == 1
    passed = len(calls[0].args) + len(calls[0].keywords)
    assert passed == len(protocol_arguments(route, logging.getLogger("test")))


def test_an_answer_in_pieces_is_stepped_for_its_client_counted_as_the_weight_counts_it() -> None:
    """``LaterRoute``'s steps ask the past's workers for ``asker`` (``farming.ASKING``: its
    tasks take their turns with that client's others), an IPv6 address as its /64."""
    seen: list[object] = []

    def step() -> bool:
        seen.append(ASKING.get())
        return True

    for asker in ("192.0.2.7", "2001:db8::1", "2001:db8::2:3", None):
        route = LaterRoute(step, lambda: None, asker=asker)  # type: ignore[arg-type,return-value]
        assert route.step() is True
    assert seen == ["192.0.2.7", "2001:db8::/64", "2001:db8::/64", None]
    assert ASKING.get() is None  # set for the step alone
