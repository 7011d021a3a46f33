"""What a gateway learns from the plant before it can serve: the listing.

A gateway process has no source of its own: what each market lists (the instruments its
exchangeInfo, routing and views need), which streams the source carries (the
others are acknowledged and silent) and the payload format the plant encodes in are the
plant's ``feeds.Prepared`` and its configuration, asked for by request/reply on
``<prefix>.listing`` (``answer_listing``, ``wait_listing``, for ``bus/nats.py``) and carried
as msgpack, with the bus's version (``frames.BUS_VERSION``): a gateway of another release
refuses it, saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import msgspec
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tickerplant.bus.frames import BUS_VERSION, Unreadable, unreadable
from tickerplant.bus.nats_writer import settle
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.events import PayloadFormat

__all__ = ["Listing", "Unreadable", "answer_listing", "decode_listing", "encode_listing", "wait_listing"]

_REQUEST_TIMEOUT_S = 2.0  # a plant answers its listing at once, or is not there
_ASK_AGAIN_S = 1.0  # between a request no plant answered and the next


class Listing(msgspec.Struct, frozen=True, array_like=True):
    version: int  # BUS_VERSION first, as in every message on the bus
    instruments: dict[Market, list[Instrument]]  # what each market lists
    carried: frozenset[str] | None = None  # the streams the source carries (feeds.Prepared); None: all
    # the format the plant encodes in: the gateways' merged all-market streams follow it
    payload_format: PayloadFormat = PayloadFormat.CLASSIC
    past: PastSpec | None = None  # the simulator's past, which every gateway answers from
    # the venue's private routes per market, as gateways admit them before forwarding them:
    # (method, path, security, weight, weight without a symbol) (``venue/wire/forwarded.py``)
    venue: dict[Market, list[tuple[str, str, str, int, int]]] = {}


_decoder = msgspec.msgpack.Decoder(Listing)


def encode_listing(listing: Listing) -> bytes:
    return msgspec.msgpack.encode(listing)


def decode_listing(data: bytes) -> Listing:
    """``frames.Unreadable`` (a ``ValueError``) when the bytes are not a listing of this
    version."""
    try:
        decoded = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise unreadable("listing", data, exc) from None
    if decoded.version != BUS_VERSION:
        raise unreadable("listing", data, ValueError(f"version {decoded.version}"))
    return decoded


async def answer_listing(client: Client, subject: str, listing: bytes) -> Subscription:
    """Answer every request on ``subject`` with ``listing``, and announce it on
    ``<subject>.announced`` to the gateways waiting already (the plant's side); the
    answering subscription."""

    async def answer(msg: Msg) -> None:
        await msg.respond(listing)

    answering = await client.subscribe(subject, cb=answer)
    await settle(client)
    await client.publish(f"{subject}.announced", listing)
    await settle(client)
    return answering


async def wait_listing(client: Client, subject: str, on_waiting: Callable[[], None]) -> bytes:
    """The plant's listing: its answer, or when no plant answers (``on_waiting`` is called
    once), its announcement when one starts or its answer to a request sent again.

    The request goes again every ``_ASK_AGAIN_S`` while the wait lasts: a plant announces
    once, as it starts, and an announcement (or a request, or its answer) sent while this
    gateway's connection was away is lost with it, so waiting for the announcement alone
    could wait for ever."""
    announced: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def heard(msg: Msg) -> None:
        if not announced.done():
            announced.set_result(msg.data)

    # Listening before asking: a plant that starts after the request went unanswered
    # announces after it answers, which this subscription, in place first, receives.
    listening = await client.subscribe(f"{subject}.announced", cb=heard)
    told = False
    try:
        while not announced.done():
            reply = await _ask(client, subject)
            if reply is not None:
                return reply
            if not told:
                on_waiting()
                told = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_ASK_AGAIN_S):
                    await asyncio.shield(announced)
        return announced.result()
    finally:
        with contextlib.suppress(nats.errors.Error):
            await listening.unsubscribe()


async def _ask(client: Client, subject: str) -> bytes | None:
    """The listing a plant answers with; None when none answered (no plant, a request or
    an answer lost with the connection). A closed connection raises: nothing will answer."""
    if client.is_connected:
        # The subscription in place before the request; a flush sent as the connection
        # goes is never answered (nats-py drops its PONGs on reconnect), so it is bounded.
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            async with asyncio.timeout(_REQUEST_TIMEOUT_S):
                await settle(client)
    try:
        return (await client.request(subject, b"", timeout=_REQUEST_TIMEOUT_S)).data
    except nats.errors.ConnectionClosedError:
        raise
    except nats.errors.Error:  # no responders, a timeout, the connection away
        return None
