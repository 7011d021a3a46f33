"""`tickerplant watch`: the latest value of each stream and its message rate, live in the
terminal (rich), or line-delimited JSON for piping.

``WatchBoard`` is the state (plain Python, time passed in); ``watch`` is the shell.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import deque
from collections.abc import Sequence
from typing import Any, TextIO
from urllib.parse import urlsplit

import msgspec
from rich.console import Console
from rich.live import Live
from rich.table import Table

from tickerplant.client.events import (
    AggTrade,
    BookTicker,
    ContinuousKline,
    DepthUpdate,
    ForceOrder,
    IndexPriceUpdate,
    Kline,
    MarkPriceUpdate,
    MiniTicker,
    Ticker,
    Trade,
    UnknownEvent,
)
from tickerplant.client.sequencing import Gap
from tickerplant.client.streams import Lagged, MarketStreams, StreamItem

__all__ = ["WatchBoard", "describe", "watch"]

log = logging.getLogger("tickerplant.client")

_RATE_WINDOW_S = 5.0


def describe(item: StreamItem) -> tuple[str, str]:
    """(row key, a one-line summary) for an item."""
    if isinstance(item, BookTicker):
        return (
            f"{item.symbol} bookTicker",
            f"bid {item.bid_price} × {item.bid_qty}   ask {item.ask_price} × {item.ask_qty}",
        )
    if isinstance(item, MiniTicker):
        return (
            f"{item.symbol} miniTicker",
            f"last {item.close}  open {item.open}  high {item.high}  low {item.low}  vol {item.volume}",
        )
    if isinstance(item, Ticker):
        return f"{item.symbol} ticker", f"last {item.close}  {item.price_change_percent}%  vol {item.volume}"
    if isinstance(item, Trade):
        side = "sell" if item.buyer_is_maker else "buy"
        return f"{item.symbol} trade", f"{side} {item.qty} @ {item.price}  #{item.trade_id}"
    if isinstance(item, AggTrade):
        side = "sell" if item.buyer_is_maker else "buy"
        return f"{item.symbol} aggTrade", f"{side} {item.qty} @ {item.price}  #{item.agg_id}"
    if isinstance(item, DepthUpdate):
        # A partial-depth event (§4.8) is the top of the book, so its best levels are the
        # book's; a diff (§4.9) holds the changed levels only, so they are the best changed.
        bid = max((level for level in item.bids if level[1]), default=None)
        ask = min((level for level in item.asks if level[1]), default=None)
        return (
            f"{item.symbol} depth",
            f"bid {_level(bid)}   ask {_level(ask)}   u={item.final_update_id}"
            f"   ({len(item.bids)} bids, {len(item.asks)} asks)",
        )
    if isinstance(item, Kline | ContinuousKline):
        k = item.kline
        name = item.symbol if isinstance(item, Kline) else f"{item.pair} {item.contract_type.lower()}"
        kind = "kline" if isinstance(item, Kline) else "continuousKline"
        return (
            f"{name} {kind}_{k.interval}",
            f"o {k.open}  h {k.high}  l {k.low}  c {k.close}  vol {k.volume}  n {k.trade_count}"
            + ("  closed" if k.closed else ""),
        )
    if isinstance(item, MarkPriceUpdate):
        funding = f"  funding {item.funding_rate}" if item.funding_rate else ""
        return f"{item.symbol} markPrice", f"mark {item.mark_price}  index {item.index_price}{funding}"
    if isinstance(item, IndexPriceUpdate):
        return f"{item.pair} indexPrice", f"index {item.price}"
    if isinstance(item, ForceOrder):
        o = item.order
        return f"{o.symbol} forceOrder", f"{o.side} {o.filled_qty}/{o.qty} @ {o.avg_price}  {o.status}"
    if isinstance(item, Gap):
        return f"{item.stream} gap", f"{item.reason}"
    if isinstance(item, Lagged):
        return "(consumer)", f"fell behind: {item.dropped} dropped"
    assert isinstance(item, UnknownEvent)
    return f"{item.stream or '?'}", item.raw[:80].decode(errors="replace")


def _level(level: tuple[Any, Any] | None) -> str:
    return "-" if level is None else f"{level[0]} × {level[1]}"


def _depth_rows(names: Sequence[str]) -> dict[str, str]:
    """Symbol -> its depth stream's name, for the symbols watched on one depth stream, so
    the row says which (``btcusdt@depth5``); the payload does not."""
    streams: dict[str, list[str]] = {}
    for name in names:
        symbol, _, kind = name.partition("@")
        if kind.startswith("depth"):
            streams.setdefault(symbol.upper(), []).append(name)
    return {symbol: found[0] for symbol, found in streams.items() if len(found) == 1}


class WatchBoard:
    """Per row: the latest summary, how many messages, and the recent rate.

    ``names`` (the streams watched) lets a depth row carry its stream's name."""

    def __init__(self, names: Sequence[str] = ()) -> None:
        self._depth_rows = _depth_rows(names)
        self.latest: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self._times: dict[str, deque[float]] = {}

    def update(self, item: StreamItem, now_s: float) -> None:
        key, summary = describe(item)
        if isinstance(item, DepthUpdate):
            key = self._depth_rows.get(item.symbol, key)
        self.latest[key] = summary
        self.counts[key] = self.counts.get(key, 0) + 1
        times = self._times.setdefault(key, deque())
        times.append(now_s)
        while times and times[0] < now_s - _RATE_WINDOW_S:
            times.popleft()

    def rate(self, key: str, now_s: float) -> float:
        times = self._times.get(key, deque())
        recent = [t for t in times if t >= now_s - _RATE_WINDOW_S]
        return len(recent) / _RATE_WINDOW_S

    def table(self, now_s: float) -> Table:
        table = Table(title="tickerplant watch", expand=True)
        table.add_column("stream", no_wrap=True)
        table.add_column("latest")
        table.add_column("messages", justify="right")
        table.add_column("msg/s", justify="right")
        for key in sorted(self.latest):
            table.add_row(key, self.latest[key], str(self.counts[key]), f"{self.rate(key, now_s):.1f}")
        return table


async def watch(
    url: str,
    names: Sequence[str],
    *,
    as_json: bool = False,
    count: int | None = None,
    seconds: float | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Watch ``names`` on ``url`` until interrupted, ``count`` items or ``seconds`` pass
    (reaching the host counts in them: one that is not there is tried again until then);
    ``ValueError`` for a URL that is no stream host's."""
    split = urlsplit(url)
    if split.scheme not in ("ws", "wss") or not split.hostname:
        raise ValueError(f"--url is a stream host, ws:// or wss://, not {url!r}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds if seconds is not None else None
    seen = [0]
    try:
        async with asyncio.timeout_at(deadline):
            await _watch(url, names, as_json, count, deadline, out, seen)
    except TimeoutError:
        pass
    return seen[0]


async def _watch(
    url: str, names: Sequence[str], as_json: bool, count: int | None, deadline: float | None, out: TextIO,
    counted: list[int],
) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    board = WatchBoard(names)
    seen = 0
    encode = msgspec.json.encode
    async with MarketStreams(url) as streams:
        await streams.subscribe(*names)
        console = Console(file=out)
        live = None if as_json else Live(board.table(loop.time()), console=console, refresh_per_second=4)
        try:
            if live is not None:
                live.start()
            while count is None or seen < count:
                timeout = None if deadline is None else deadline - loop.time()
                if timeout is not None and timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(streams.__anext__(), timeout)
                except (TimeoutError, StopAsyncIteration):
                    break
                except msgspec.DecodeError as malformed:  # a frame no stream sends: told, and on
                    if as_json:
                        told = {"tickerplant": "malformed", "error": str(malformed)}
                        out.write(encode(told).decode() + "\n")
                        out.flush()
                    else:
                        log.warning("a frame that is no stream's message, skipped: %s", malformed)
                    continue
                seen += 1
                counted[0] = seen  # what the caller returns, however the watch ends
                if as_json:
                    if isinstance(item, UnknownEvent):
                        out.write(item.raw.decode(errors="replace") + "\n")
                    elif isinstance(item, Gap | Lagged):
                        out.write(
                            encode(
                                {"tickerplant": type(item).__name__.lower(), **msgspec.to_builtins(item)}
                            ).decode()
                            + "\n"
                        )
                    else:
                        out.write(encode(item).decode() + "\n")  # the wire keys, as received
                    out.flush()
                else:
                    board.update(item, loop.time())
                    assert live is not None
                    live.update(board.table(loop.time()))
        finally:
            if live is not None:
                live.stop()
