"""A gateway waiting for the plant's listing over a real nats-server (``bus/listing.py``):
the plant's answer, its announcement, and a wait that ends however the plant comes — even
when its announcement was never heard."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from nats.aio.msg import Msg
from nats_servers import nats_url, running_nats
from timing import eventually

from tickerplant.bus.nats import NatsBus

pytestmark = pytest.mark.loopback
__all__ = ["nats_url"]  # the fixture: a real nats-server for the test

LISTING = b"the plant's listing"


async def test_a_plant_there_answers_at_once_and_nobody_is_told_of_a_wait(nats_url: str) -> None:
    plant = await NatsBus.connect(nats_url, name="plant")
    gateway = await NatsBus.connect(nats_url, name="gateway")
    try:
        await plant.answer_listing(LISTING)
        waits: list[None] = []
        async with asyncio.timeout(10):
            assert await gateway.wait_listing(lambda: waits.append(None)) == LISTING
        assert waits == []
    finally:
        await gateway.close()
        await plant.close()


async def test_a_plant_that_starts_later_ends_the_wait_with_its_announcement(nats_url: str) -> None:
    gateway = await NatsBus.connect(nats_url, name="gateway")
    plant = await NatsBus.connect(nats_url, name="plant")
    try:
        waits: list[None] = []
        waiting = asyncio.ensure_future(gateway.wait_listing(lambda: waits.append(None)))
        await eventually(lambda: waits == [None])
        await plant.answer_listing(LISTING)
        async with asyncio.timeout(10):
            assert await waiting == LISTING
    finally:
        await plant.close()
        await gateway.close()


async def test_a_plant_whose_announcement_was_not_heard_is_asked_again(nats_url: str) -> None:
    """A plant that answers but does not announce (its announcement went while the
    gateway's connection was away): the gateway's request goes again, and the answer ends
    the wait. Before, the gateway waited for an announcement that never came."""
    gateway = await NatsBus.connect(nats_url, name="gateway")
    plant = await NatsBus.connect(nats_url, name="plant")
    try:
        waits: list[None] = []
        waiting = asyncio.ensure_future(gateway.wait_listing(lambda: waits.append(None)))
        await eventually(lambda: waits == [None])

        async def answer(msg: Msg) -> None:
            await msg.respond(LISTING)

        await plant.client.subscribe(gateway.listing_subject, cb=answer)
        await plant.client.flush()
        async with asyncio.timeout(10):
            assert await waiting == LISTING
        assert waits == [None]  # the wait is told once, however long it lasts
    finally:
        await plant.close()
        await gateway.close()


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

                async def answer(msg: Msg) -> None:
                    await msg.respond(LISTING)

                await plant.client.subscribe(gateway.listing_subject, cb=answer)
                await plant.client.flush()
                async with asyncio.timeout(10):
                    assert await waiting == LISTING
            finally:
                waiting.cancel()
                await plant.close()
        finally:
            await gateway.close()
