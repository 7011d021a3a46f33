"""A gateway waiting for the plant's listing over a real nats-server (``bus/listing.py``):
the plant's answer, its announcement, and a wait that ends however the plant comes — even
when its announcement was never heard."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from nats.aio.msg import Msg
from nats_servers import buses, nats_url, running_nats
from timing import eventually

from tickerplant.bus.nats import NatsBus

pytestmark = pytest.mark.loopback
__all__ = ["buses", "nats_url"]  # the fixtures: a real nats-server for the test, buses on it

LISTING = b"the plant's listing"


async def _answers_unannounced(plant: NatsBus, subject: str) -> None:
    """``plant`` answers the listing's requests from now on, and announces nothing (as a
    plant whose announcement went while the gateway's connection was away)."""

    async def answer(msg: Msg) -> None:
        await msg.respond(LISTING)

    await plant.client.subscribe(subject, cb=answer)
    await plant.client.flush()


async def test_a_plant_there_answers_at_once_and_nobody_is_told_of_a_wait(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    plant, gateway = buses
    await plant.answer_listing(LISTING)
    waits: list[None] = []
    async with asyncio.timeout(10):
        assert await gateway.wait_listing(lambda: waits.append(None)) == LISTING
    assert waits == []


@pytest.mark.parametrize("announced", [True, False], ids=["announced", "unannounced"])
async def test_a_plant_that_comes_later_ends_the_wait_heard_or_asked_again(
    buses: tuple[NatsBus, NatsBus], announced: bool
) -> None:
    """A plant that starts after the gateway asked: its announcement ends the wait; or,
    when the gateway did not hear it (it went while the gateway's connection was away), the
    gateway's request goes again and the answer ends it. Before, such a gateway waited for
    an announcement that never came."""
    plant, gateway = buses
    waits: list[None] = []
    waiting = asyncio.ensure_future(gateway.wait_listing(lambda: waits.append(None)))
    await eventually(lambda: waits == [None])
    if announced:
        await plant.answer_listing(LISTING)
    else:
        await _answers_unannounced(plant, gateway.listing_subject)
    async with asyncio.timeout(10):
        assert await waiting == LISTING
    assert waits == [None]  # the wait is told once, however long it lasts


async def test_a_wait_across_the_nats_servers_restart_ends_when_a_plant_comes() -> None:
    """The gateway asks while the NATS server is gone (the request is lost with the
    connection); the server comes back on its port, and a plant with it."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(running_nats())
        port = int(url.rsplit(":", 1)[1])
        gateway = await NatsBus.connect(url, name="gateway")
        try:
            stack.close()  # the NATS server goes
            await eventually(lambda: not gateway.client.is_connected)
            waits: list[None] = []
            waiting = asyncio.ensure_future(gateway.wait_listing(lambda: waits.append(None)))
            await eventually(lambda: waits == [None], timeout_s=10)
            stack.enter_context(running_nats(port=port))
            await eventually(lambda: gateway.client.is_connected, timeout_s=10)
            plant = await NatsBus.connect(url, name="plant")
            try:
                await _answers_unannounced(plant, gateway.listing_subject)
                async with asyncio.timeout(10):
                    assert await waiting == LISTING
            finally:
                waiting.cancel()
                await plant.close()
        finally:
            await gateway.close()
