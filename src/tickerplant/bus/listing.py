"""What a gateway learns from the plant before it can serve: the listing.

A gateway process has no source of its own: what each market lists (the instruments its
exchangeInfo, routing and views need), which streams the source carries (the
others are acknowledged and silent) and the payload format the plant encodes in are the
plant's ``feeds.Prepared`` and its configuration, asked for by
request/reply on ``<prefix>.listing`` (``bus/nats.py``) and carried as msgpack, with the
bus's version (``frames.BUS_VERSION``): a gateway of another release refuses it, saying so.
"""

from __future__ import annotations

import msgspec

from tickerplant.bus.frames import BUS_VERSION, Unreadable, unreadable
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.events import PayloadFormat

__all__ = ["Listing", "Unreadable", "decode_listing", "encode_listing"]


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
