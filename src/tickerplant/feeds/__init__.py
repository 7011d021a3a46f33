"""Sources of market data: the simulator (default), replay of files, relay of an upstream.

A source says what it lists (``prepare``) and then feeds a ``Sink`` until it is done or
cancelled (``run``). Sources whose events the plant derives streams from (simulator,
public-file replay) go through ``sink.plants``; sources that carry payloads already
encoded elsewhere (a recording, an upstream feed) publish them on ``sink.bus`` unchanged,
so they reach clients byte for byte. Either way the gateways see the same bus.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection, Hashable, Iterable, Mapping
from typing import NamedTuple, Protocol

from tickerplant.bus import Bus
from tickerplant.market.demand import Demand
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.plant.plant import Plant

__all__ = ["INPUT_ERRORS", "Backlog", "Prepared", "Sink", "Source", "failure_reason"]


class Prepared(NamedTuple):
    instruments: dict[Market, list[Instrument]]  # what each market lists
    start_ms: int  # the market's clock when the source starts: now, or the first recorded time
    # the streams the source carries, when it carries fewer than tickerplant serves (a
    # relay of some): each per-symbol stream's suffix as Binance writes it ("kline_1m",
    # "depth@100ms") and each all-market stream's name ("!bookTicker"); the others are
    # acknowledged and silent, with a warning. None: every stream
    carried: frozenset[str] | None = None
    # a simulated past before the start, which the gateways answer history from
    past: PastSpec | None = None


class Backlog(NamedTuple):
    """A client connection's bytes written and not yet taken (``Sink.backlogs``)."""

    consumer: Hashable  # the connection
    unsent: int  # bytes written to it that its client has not taken yet
    bound: int  # past this it is cut off as a slow consumer (``--send-buffer``)


class Sink(Protocol):
    """What a running source feeds."""

    @property
    def plants(self) -> Mapping[Market, Plant]: ...

    @property
    def bus(self) -> Bus: ...

    @property
    def demand(self) -> Demand:
        """The streams this process' clients take, which the plants follow (``Plant.follow``,
        ``market/demand.py``); None where the clients are in other processes: everything."""
        ...

    def interrupt(self, market: Market, streams: Collection[str], reason: str) -> None:
        """Messages on ``streams`` (canonical names) were lost upstream: close the client
        connections that carry any of them, so that the loss is seen, not hidden."""
        ...

    def backlogs(self) -> Iterable[Backlog]:
        """The stream connections that hold unsent bytes, for a source that can wait for
        its clients (a replay at full speed, ``feeds/replay/waits.py``); none when the
        connections are in other processes."""
        ...

    def finished(self, reason: str, *, failed: bool = False) -> None:
        """The source has nothing more to send: a replay reached its end, or (``failed``)
        the source broke off."""
        ...


class Source(Protocol):
    async def prepare(self) -> Prepared:
        """Load or fetch what the source lists; called once, before anything is served."""
        ...

    async def run(self, sink: Sink) -> None:
        """Feed ``sink`` until the source ends (then call ``sink.finished``) or is cancelled."""
        ...


# What a source meets in its input while it runs (a replay's file gone, a row it cannot read,
# a zip broken past its start): told in a line and in the clients' close, not as a bug's traceback
INPUT_ERRORS = (OSError, ValueError, zipfile.BadZipFile)


def failure_reason(exc: BaseException) -> str:
    """The clients' close reason for a source that met ``exc`` in its input: what it met (the
    listeners cut it to a close frame's reason, ``Listener.finish``)."""
    return f"source failed: {exc}"
