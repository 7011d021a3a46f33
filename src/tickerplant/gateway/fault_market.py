"""The fault profile applied to the market streams (docs/faults.md), between the bus and
the fan-out: what reaches the market view (REST, the WebSocket API) is untouched, so a
client that resyncs from a snapshot finds the book as it is.

- ``depth-break``: a diff depth message is not sent; the next one's ``pu`` is not the ``u``
  a client last saw, which market data §4.9 answers with a new snapshot;
- ``market-reset``: the connections carrying the message's stream cut without a close frame
  (per message), or every stream connection at ``at`` (its symbols' when it names some);
- ``market-stall``: from ``at`` for ``for_s`` (without it, to the end), the streams of its
  symbols (all when it names none) send nothing, then go on: what they missed is lost, as
  after a stalled upstream;
- ``rollover``: at ``at``, every stream connection closed as at its 24th hour (§2.4).

A symbol's streams are those named after it and those named after what it belongs to: its
pair and contract type (``ethusdt_perpetual@continuousKline_1m``) and, on COIN-M, its pair
(``btcusd@indexPrice@1s``, every contract of the pair's). Only the streams somebody holds
are asked about, so a profile without market faults costs the fan-out nothing
(``publishing`` hands it back the fan-out's own ``publish``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from tickerplant.faults.decider import Timed
from tickerplant.faults.profile import Family, FaultKind
from tickerplant.gateway.fault_gate import FaultGate
from tickerplant.gateway.fault_names import stream_heads
from tickerplant.gateway.market_streams import StreamSurface
from tickerplant.market.instruments import Instrument
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import CLOSE_LIFETIME

__all__ = ["MarketFaults", "publishing"]

Publish = Callable[[Sequence[StreamMessage]], None]


def publishing(faults: FaultGate | None, surface: StreamSurface, own: Mapping[str, Instrument]) -> Publish:
    """What the bus hands the market's messages to: the fan-out's ``publish``, through the
    profile's market faults when it has some (``own``: the listener's market's instruments)."""
    if faults is None or not faults.decider.has(Family.MARKET):
        return surface.fanout.publish
    return MarketFaults(faults, surface, own).publish


class MarketFaults:
    def __init__(self, faults: FaultGate, surface: StreamSurface, own: Mapping[str, Instrument]) -> None:
        """``own``: the listener's market's instruments. A timed fault that names only the
        other market's is applied here to what carries them (the streams both hosts serve,
        §4.13) but told (logged, counted) by its own market's listener alone."""
        self.faults = faults
        self.surface = surface
        self._own = frozenset(own)
        self._heads = stream_heads(own)
        clock = faults.clock
        self._stalls: list[Timed] = []
        for timed in faults.decider.timed(Family.MARKET):
            if timed.kind is FaultKind.MARKET_STALL:
                self._stalls.append(timed)
            clock.call_at(timed.at_ms, functools.partial(self._timed, timed))

    def publish(self, messages: Sequence[StreamMessage]) -> None:
        fanout, faults = self.surface.fanout, self.faults
        now_ms = faults.clock.now_ms()
        stalls = [
            t for t in self._stalls
            if t.at_ms <= now_ms and (t.duration_ms is None or now_ms < t.at_ms + t.duration_ms)
        ]  # fmt: skip
        kept: list[StreamMessage] = []
        for message in messages:
            stream = message.stream
            if not fanout.carries(stream):
                continue
            head = stream.partition("@")[0]
            found = self._heads.get(head)
            # a stream of no listed symbol (an all-market one, !bookTicker): its head as named
            symbol, symbols = found if found is not None else (head.upper(), frozenset((head.upper(),)))
            if any(not t.symbols or not t.symbols.isdisjoint(symbols) for t in stalls):
                continue
            decision = faults.decide_stream(Family.MARKET, stream, symbol, None, now_ms)
            if decision is None:
                kept.append(message)
            elif decision.kind is FaultKind.MARKET_RESET:
                kept.append(message)  # to those who hold it on other connections
                fanout.publish(kept)
                kept = []
                self.surface.close_carrying([stream], None)
            # DEPTH_BREAK: not sent
        if kept:
            fanout.publish(kept)

    def _timed(self, timed: Timed) -> None:
        """A timed market fault at its time."""
        now_ms = self.faults.clock.now_ms()
        if not timed.symbols or not timed.symbols.isdisjoint(self._own):
            self.faults.fired(timed.kind, "market streams", None, now_ms, ",".join(sorted(timed.symbols)))
        if timed.kind is FaultKind.MARKET_STALL:
            return  # ``publish`` holds the streams back for its window
        connections = list(self.surface.connections)
        if timed.symbols:
            heads = [head for head, (_, named) in self._heads.items() if not named.isdisjoint(timed.symbols)]
            prefixes = tuple(f"{head}@" for head in {*heads, *(s.lower() for s in timed.symbols)})
            connections = [c for c in connections if any(k.startswith(prefixes) for k in c.delivery_keys())]
        for connection in connections:
            if timed.kind is FaultKind.ROLLOVER:
                connection.close(CLOSE_LIFETIME)
            else:
                connection.cut()
