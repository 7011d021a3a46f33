"""A relay's upstream for tests: ``RawStreams``' surface as ``RelaySource`` reads it (one
connection, its subscriptions, a drop asked for, its close, the frames it passed over),
doing nothing; each test's fake hands out its own script (``__aiter__``) and overrides what
its test is about."""

from __future__ import annotations

from tickerplant.clock import ManualClock
from tickerplant.feeds.relay.relay import RelaySource
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.payloads.exchange_info import exchange_info


class QuietUpstream:
    """Subscribes to anything, drops nothing, passes no frame over, closes when asked."""

    connections = 1

    def __init__(self) -> None:
        self.passed_over: tuple[int, bytes] = (0, b"")  # frames off the combined form, the last
        self.subscribed: list[str] = []
        self.closed = False

    async def subscribe(self, *names: str) -> None:
        self.subscribed.extend(names)

    def reconnect(self, *names: str) -> int:
        return 0

    async def close(self) -> None:
        self.closed = True


def relay_over(
    upstream: QuietUpstream, kinds: list[str], clock: ManualClock, refuse_snapshots: bool = False
) -> RelaySource:
    """A USDⓈ-M relay of BTCUSDT, the catalogue's at ``clock``'s time, taking ``kinds`` from
    ``upstream`` on ``clock``; ``refuse_snapshots``: every depth snapshot asked fails."""
    now = clock.now_ms()
    listed = exchange_info(Market.UM, [i for i in catalogue(Market.UM, now) if i.symbol == "BTCUSDT"], now, 2400)

    async def fetch(url: str) -> bytes:
        if refuse_snapshots and "/depth?" in url:
            raise OSError("no snapshot here")
        return listed

    return RelaySource(
        {Market.UM: "ws://unused"}, symbols=["BTCUSDT"], kinds=kinds, clock=clock,
        connect=lambda url, **options: upstream, fetch=fetch,
    )  # fmt: skip
