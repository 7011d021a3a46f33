"""Which streams somebody takes, so that the plant writes a payload only for those.

Most of what a plant can push has nobody listening: a kline and a continuous kline per
symbol and interval every 250 ms, the depth streams at three speeds and three partial
sizes, the tickers' arrays. Writing them all for nobody was most of an idle server's CPU
and most of a replay's time at full speed. A plant that follows a ``Demand`` (``Plant.follow``)
still keeps every stream's state as if it pushed (the candles' changed marks, each depth
speed's U/u/pu chain, the tickers' changed marks), and only the writing of an unwanted
payload is skipped: a client that subscribes gets the very bytes it would have got had
the plant pushed everything (``tests/market/test_demand.py`` holds it to that).

The internal streams the market views read (`@bookTicker`, `@aggTrade`, `@ticker`,
`@depthDiff`, the mark-state and funding notes, open interest) are always written.

``Subscribed`` is the demand of one process: the stream listeners' fan-outs count each
canonical name while some connection holds it (``gateway/fanout.py``). A plant whose
clients are in other processes (``tickerplant plant``, behind the bus) follows none and
writes everything, as the gateways may ask for anything.
"""

from __future__ import annotations

from collections.abc import Container

__all__ = ["Demand", "Subscribed"]

# The streams wanted: ``name in demand`` (a dict's own lookup, in C, on the hot paths);
# None: every stream.
Demand = Container[str] | None


class Subscribed(dict[str, int]):
    """Canonical stream -> how many routing tables hold it (one per listener holding it).

    A dict so that ``name in subscribed`` is the dict's own lookup: the plant asks it for
    every payload it may skip. ``version`` changes whenever a name comes or goes, so that
    what is worked out from the membership can be kept until then (``KlineStreams``)."""

    version = 0

    def hold(self, stream: str) -> None:
        held = self.get(stream, 0)
        if not held:
            self.version += 1
        self[stream] = held + 1

    def release(self, stream: str) -> None:
        held = self.get(stream, 0) - 1
        if held > 0:
            self[stream] = held
        elif self.pop(stream, None) is not None:
            self.version += 1
