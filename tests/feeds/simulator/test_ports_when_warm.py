"""The market listeners' ports open once the simulator's warm start is done (its history and
books: seconds of the loop on a busy machine). Opened before it, a request was taken and
then held through it, and a signed one stamped before it was refused -1021 after it: a port
that takes a connection is a server that answers it."""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest
from conftest import StartServer, quick_config
from ports import free_port

from tickerplant.admin.server import TokenRequired
from tickerplant.app import Tickerplant
from tickerplant.feeds import Sink
from tickerplant.feeds.simulator.pump import SimulatedMarket


async def test_the_ports_open_once_the_warm_start_is_done(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    um_port, cm_port = free_port(), free_port()
    tried: list[int] = []
    warm = SimulatedMarket.warm

    def tried_during(self: SimulatedMarket, sink: Sink) -> None:  # the real warm start, a connection tried first
        for port in (um_port, cm_port):
            with socket.socket() as probe:
                tried.append(probe.connect_ex(("127.0.0.1", port)))
        warm(self, sink)

    monkeypatch.setattr(SimulatedMarket, "warm", tried_during)
    await start_server(um_port=um_port, cm_port=cm_port, simulator={"actions_per_s": 1e-9})
    assert tried == [errno.ECONNREFUSED, errno.ECONNREFUSED]
    reader, writer = await asyncio.open_connection("127.0.0.1", um_port)  # open, and answering, once started
    writer.write(b"GET /fapi/v1/time HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 200")
    writer.close()


@pytest.mark.parametrize("taken", ["um_port", "cm_port", "admin_port"])
async def test_a_port_another_process_holds_is_told_before_the_warm_start(
    monkeypatch: pytest.MonkeyPatch, taken: str
) -> None:
    """The ports are bound before the source's start and listen after it: a port another
    process holds refuses the start at once, naming its listener, not after the seconds of a
    warm start, and nothing of the server is left bound or running."""
    warmed: list[SimulatedMarket] = []
    monkeypatch.setattr(SimulatedMarket, "warm", lambda self, sink: warmed.append(self))
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        ports = {"um_port": free_port(), "cm_port": free_port(), "admin_port": free_port()}
        plant = Tickerplant(quick_config(**ports | {taken: port}, simulator={"actions_per_s": 1e-9}))
        with pytest.raises(OSError, match=f"listener on 127.0.0.1:{port}: Address already in use"):
            await plant.start()
        await plant.close()
    assert warmed == []
    for name, other in ports.items():  # the others, bound before the refusal or not at all, are free
        if name != taken:
            with socket.socket() as again:
                again.bind(("127.0.0.1", other))


async def test_an_admin_listener_beyond_loopback_without_a_token_is_told_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A program's config (the command line refuses it first) with an admin listener beyond
    loopback and no token: refused before the ports are bound or the source's warm start
    runs, not after the seconds of it with the market left running."""
    warmed: list[SimulatedMarket] = []
    monkeypatch.setattr(SimulatedMarket, "warm", lambda self, sink: warmed.append(self))
    ports = {"um_port": free_port(), "cm_port": free_port(), "admin_port": free_port()}
    plant = Tickerplant(quick_config(**ports, admin_host="0.0.0.0", simulator={"actions_per_s": 1e-9}))
    with pytest.raises(TokenRequired, match=r"the admin listener on 0\.0\.0\.0 needs a token"):
        await plant.start()
    assert warmed == [] and plant._source_task is None
    await plant.close()
    for port in ports.values():  # none was bound
        with socket.socket() as again:
            again.bind(("127.0.0.1", port))
