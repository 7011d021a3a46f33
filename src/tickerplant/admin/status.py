"""What ``/api/status`` says of each listener beyond its address: connections, the
message and byte rates of its streams, the busiest streams, its limit hits, and the
server's recent closes.

Rates are differences of the fan-out's ``sent`` counters (``gateway/fanout.py``): once a
second ``StatusBoard`` samples each listener's totals on the server's Clock (a sum over
its streams, not per message), and a request divides what was sent since the oldest
sample of the last ``RATE_WINDOW_S`` seconds by the time between. A ManualClock moves it
in tests. Unstarted (the admin listener off), it samples nothing and the rates are 0.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tickerplant.clock import Clock, Timer
from tickerplant.faults.record import FaultRecord
from tickerplant.gateway.traffic import RECENT_CLOSES
from tickerplant.market.instruments import Market
from tickerplant.protocol.user_streams import is_listen_key_item

# for the annotations alone: serve --workers' supervisor imports this module for its merged
# status (admin/merged.py) and serves no listener; the listeners' import (~0.1 s of a core)
# was paid at each of its starts
if TYPE_CHECKING:
    from tickerplant.gateway.server import Listener

__all__ = ["BUSIEST_STREAMS", "RATE_WINDOW_S", "RECENT_CLOSES", "StatusBoard", "fault_rows"]

RATE_WINDOW_S = 5  # the rates are over the last few seconds
BUSIEST_STREAMS = 10  # streams listed per listener, by subscribers
_SAMPLE_MS = 1000


def _totals(listener: Listener) -> tuple[int, int]:
    """Frames and bytes the listener's fan-out has queued, ever."""
    if listener.streams is None:
        return 0, 0
    fanout = listener.streams.fanout
    frames, size = fanout.retired  # the user data names' that left the table
    for sent in list(fanout.sent.values()):
        frames += sent[0]
        size += sent[1]
    return frames, size


class StatusBoard:
    """The status' listener figures, with a sample of each listener's totals a second."""

    def __init__(self, clock: Clock, listeners: Mapping[Market, Listener]) -> None:
        self._clock = clock
        self._listeners = listeners
        # market -> (time ms, frames, bytes), the last RATE_WINDOW_S seconds of samples
        self._samples: dict[Market, deque[tuple[int, int, int]]] = {
            market: deque(maxlen=RATE_WINDOW_S + 1) for market in listeners
        }
        self._timer: Timer | None = None

    def start(self) -> None:
        self._sample()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sample(self) -> None:
        now_ms = self._clock.now_ms()
        for market, listener in self._listeners.items():
            self._samples[market].append((now_ms, *_totals(listener)))
        self._timer = self._clock.call_at(now_ms + _SAMPLE_MS, self._sample)

    def listener(self, market: Market) -> dict[str, Any]:
        """``messagesPerSecond``, ``bytesPerSecond``, ``busiestStreams``, ``limitHits``, and
        ``faults``: the fault profile's latest, newest first (docs/faults.md), when one is loaded."""
        listener = self._listeners[market]
        now_ms = self._clock.now_ms()
        frames, size = _totals(listener)
        per_s_frames = per_s_bytes = 0.0
        samples = self._samples.get(market)
        if samples:
            then_ms, then_frames, then_size = samples[0]
            if now_ms > then_ms:
                seconds = (now_ms - then_ms) / 1000
                per_s_frames = (frames - then_frames) / seconds
                per_s_bytes = (size - then_size) / seconds
        return {
            "messagesPerSecond": round(per_s_frames, 1),
            "bytesPerSecond": round(per_s_bytes, 1),
            "busiestStreams": _busiest(listener),
            "limitHits": listener.limit_counters.as_dict(),
            **({} if listener.faults is None else {"faults": fault_rows(listener.faults.decider.record)}),
        }

    def describe(self, market: Market, host: str, symbols: list[str]) -> dict[str, Any]:
        """The status of ``market``'s listener on ``host``: its address, connections and
        symbols, and ``listener``'s figures."""
        listener = self._listeners[market]
        streams = listener.streams
        return {
            "host": host,
            "port": listener.port,
            "rest": f"http://{host}:{listener.port}",
            "streams": f"ws://{host}:{listener.port}",
            "connections": {
                "streams": len(streams.connections) if streams is not None else 0,
                "wsApi": len(listener.ws_api_connections),
            },
            "symbols": symbols,
            **self.listener(market),
        }

    def recent_closes(self) -> list[dict[str, Any]]:
        """The server's last ``RECENT_CLOSES`` closes, newest first."""
        records = heapq.merge(
            *(_closes(market, listener) for market, listener in self._listeners.items()),
            key=lambda close: close["time"],
            reverse=True,
        )
        return [close for _, close in zip(range(RECENT_CLOSES), records, strict=False)]


def _closes(market: Market, listener: Listener) -> Iterable[dict[str, Any]]:
    for record in reversed(listener.traffic.recent_closes):  # newest first
        yield {
            "time": record.time_ms,
            "market": market.value,
            "surface": record.surface,
            "code": record.code,
            "reason": record.reason,
            "peer": record.peer,
        }


def fault_rows(record: FaultRecord) -> list[dict[str, object]]:
    """A fault record's latest, newest first, as the status lists them."""
    return [fired.as_json() for fired in reversed(record.recent)]


def _busiest(listener: Listener) -> list[dict[str, Any]]:
    """The ``BUSIEST_STREAMS`` market streams most connections hold, with what each has sent.
    A user data stream is named by its listen key, a bearer credential: never listed (the
    dashboard shows this, and secrets never reach it: docs/venue.md)."""
    if listener.streams is None:
        return []
    fanout = listener.streams.fanout
    held = [(stream, n) for stream, n in fanout.subscriptions().items() if not is_listen_key_item(stream)]
    top = heapq.nlargest(BUSIEST_STREAMS, held, key=lambda item: (item[1], item[0]))
    busiest = []
    for stream, subscribers in top:
        frames, size = fanout.sent.get(stream, (0, 0))
        busiest.append({"stream": stream, "subscribers": subscribers, "messages": frames, "bytes": size})
    return busiest
