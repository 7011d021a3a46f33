"""Request weight shared by the gateways: Binance counts it per IP across all its servers.

Binance's REQUEST_WEIGHT is per IP per minute whichever of its servers answers (spec
§7.1), so a client that spreads its requests over gateways must meet the same 429, and
the same 418 after it, at the same total. Each gateway keeps the ``RequestWeight`` it
always has, and tells the others every charge it makes; each applies the others' charges
to its own table as if it had made them. Every table then sees every charge of an IP,
within NATS's propagation (a loop iteration and a hop: milliseconds), and decides alike.

Per market (``<prefix>.<market>.weight``), as the markets' hosts have limits of their
own; the charges of one loop iteration go out as one message, msgpack
``[origin, [[ip, weight, now_ms], …]]``, ``origin`` the sending bus's epoch so a gateway
skips its own. Another gateway's refusals are not counted in this one's ``LimitCounters``
(they are that gateway's): the counters of all gateways add up to the refusals made.
Per-connection limits stay per connection.

A gateway started later (a restarted one) has heard none of the charges before it: it asks
the others for their table first (``<prefix>.<market>.weight.state``, request/reply,
msgpack ``[[ip, window_start_ms, used, refused, banned_until_ms, ban_ms], …]``: every
limited IP, then those charged this minute, within a NATS message) and adopts it before it
serves, so an IP banned on the others is banned on it too, and its minute goes on counting.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
import nats.errors
from nats.aio.msg import Msg

from tickerplant.bus.nats import NatsBus
from tickerplant.clock import Clock
from tickerplant.market.instruments import Market
from tickerplant.protocol.limits import LimitCounters
from tickerplant.protocol.request_weight import IpStanding, RequestWeight, WeightVerdict

__all__ = ["SharedRequestWeight", "WeightSharing"]

log = logging.getLogger("tickerplant.gateway")


class _Charges(msgspec.Struct, array_like=True):
    origin: int  # the sending gateway's bus epoch
    charges: list[tuple[str, int, int]]  # (ip, weight, now_ms)


_decoder = msgspec.msgpack.Decoder(_Charges)
_standings = msgspec.msgpack.Decoder(list[IpStanding])
_STANDING_BYTES = 100  # a standing's most in msgpack: an IPv6 /64's text and five integers
_ASK_S = 1.0  # how long a starting gateway waits for another's table (none: it is the first)


class SharedRequestWeight(RequestWeight):
    """A gateway's request weight, told to the others and told theirs."""

    def __init__(self, limit: int, *, counters: LimitCounters, sharing: WeightSharing) -> None:
        super().__init__(limit, counters=counters)
        self._sharing = sharing

    def charge(self, ip: str, weight: int, now_ms: int) -> WeightVerdict:
        verdict = super().charge(ip, weight, now_ms)
        self._sharing.charged(ip, weight, now_ms)
        return verdict

    def absorb(self, ip: str, weight: int, now_ms: int) -> None:
        """Another gateway's charge: counted in this table, not in this one's counters."""
        counters = self.counters
        refused, banned = counters.weight_refused, counters.weight_banned
        super().charge(ip, weight, now_ms)
        counters.weight_refused, counters.weight_banned = refused, banned


class WeightSharing:
    """One market's sharing of request weight over the bus."""

    def __init__(self, bus: NatsBus, market: Market, clock: Clock) -> None:
        self.bus = bus
        self.clock = clock
        self.subject = f"{bus.prefix}.{market.value}.weight"
        self.state_subject = f"{self.subject}.state"
        self.weight: SharedRequestWeight | None = None
        self._pending: list[tuple[str, int, int]] = []
        self.absorbed = 0  # other gateways' charges applied here

    def make_weight(self, limit: int, *, counters: LimitCounters, **_: Any) -> SharedRequestWeight:
        """The listener's ``make_weight``."""
        self.weight = SharedRequestWeight(limit, counters=counters, sharing=self)
        return self.weight

    async def start(self) -> None:
        """Hear the others' charges, take in their table, then answer those started later.
        (Asked before answering: a gateway's own empty table must not answer its question.)"""
        await self.bus.on(self.subject, self._received)
        await self._adopt()
        await self.bus.client.subscribe(self.state_subject, cb=self._answer)

    async def _adopt(self) -> None:
        try:
            reply = await self.bus.client.request(self.state_subject, b"", timeout=_ASK_S)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError, TimeoutError):
            return  # no other gateway: nothing was charged before this one
        try:
            standings = _standings.decode(reply.data)
        except msgspec.DecodeError:
            log.error("an unreadable weight table on %s (%d bytes)", self.state_subject, len(reply.data))
            return
        if self.weight is not None:
            self.weight.adopt(standings, self.clock.now_ms())
            self.absorbed += len(standings)

    async def _answer(self, msg: Msg) -> None:
        if self.weight is None or not msg.reply:
            return
        most = self.bus.client.max_payload // _STANDING_BYTES
        table = self.weight.standings(self.clock.now_ms(), most)
        await self.bus.client.publish(msg.reply, msgspec.msgpack.encode(table))

    def charged(self, ip: str, weight: int, now_ms: int) -> None:
        if not self._pending:  # once an iteration: the charges of a wave of requests together
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append((ip, weight, now_ms))

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self.bus.post(self.subject, msgspec.msgpack.encode(_Charges(self.bus.epoch, pending)))

    def _received(self, data: bytes) -> None:
        try:
            message = _decoder.decode(data)
        except msgspec.DecodeError:
            log.error("an unreadable weight message on %s (%d bytes)", self.subject, len(data))
            return
        if message.origin == self.bus.epoch or self.weight is None:
            return
        absorb = self.weight.absorb
        for ip, weight, now_ms in message.charges:
            absorb(ip, weight, now_ms)
        self.absorbed += len(message.charges)
