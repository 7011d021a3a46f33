"""Whether a gateway's markets are live: the plant's frames still reach its clients.

The plant publishes a frame on every market at least once a ``HEARTBEAT_MS`` (1 s), an
empty one when the market is quiet (``NatsBus.heartbeat``), so a market that delivers no
frame for ``SILENT_LOOKS`` looks a ``LOOK_MS`` apart (10 s) has lost its plant, however:
the NATS server is away, the plant stopped or stalled, or the market is held for a state
that does not load. Its clients would otherwise wait in silence for ever, their pings
answered, so the gateway closes the market's streams with 1012 (they reconnect and see
the gap) and reports itself degraded, and does so again each ``SILENT_LOOKS`` looks while
the silence lasts (the clients that connected meanwhile). Ten seconds is well past what a
live plant is held up for (writing a state for a late gateway: 0.1 s for USDⓈ-M after a
day) and well past a nats-server's or a plant's restart by the supervisor (1-5 s), which
the gateway sees as a gap or a restart and handles itself.

Silence is counted in looks, not in clock time, so that a loop held up for a while (or a
test's clock moved a long way at once) is one look, never a silence by itself.

Sans-I/O: the shell looks every ``LOOK_MS`` and passes the frames each market delivered
so far (``NatsBus.delivered``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tickerplant.market.instruments import Market

__all__ = ["LOOK_MS", "SILENT_LOOKS", "Liveness", "Looked"]

LOOK_MS = 1000
SILENT_LOOKS = 10  # looks without a frame: 10 s


class Looked:
    """What one look found: markets gone silent (``newly`` of them since they were live),
    and markets live again."""

    __slots__ = ("back", "newly", "silent")

    def __init__(self) -> None:
        self.silent: list[Market] = []  # close their streams
        self.newly: list[Market] = []  # … and count a silence
        self.back: list[Market] = []


class Liveness:
    """Each market's frames delivered at the last look, and looks since one came."""

    def __init__(self, markets: Iterable[Market], silent_looks: int = SILENT_LOOKS) -> None:
        self.silent_looks = silent_looks
        self._frames: dict[Market, int] = {market: 0 for market in markets}
        self._quiet: dict[Market, int] = dict.fromkeys(self._frames, 0)  # looks without a frame
        self.silent: set[Market] = set()
        self.looks = 0  # made so far

    def look(self, delivered: Mapping[Market, int]) -> Looked:
        self.looks += 1
        looked = Looked()
        for market, before in self._frames.items():
            now = delivered.get(market, 0)
            if now != before:
                self._frames[market] = now
                self._quiet[market] = 0
                if market in self.silent:
                    self.silent.discard(market)
                    looked.back.append(market)
                continue
            quiet = self._quiet[market] = self._quiet[market] + 1
            if quiet % self.silent_looks == 0:
                looked.silent.append(market)
                if market not in self.silent:
                    self.silent.add(market)
                    looked.newly.append(market)
        return looked
