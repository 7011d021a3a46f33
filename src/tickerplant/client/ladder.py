"""`tickerplant book`: one symbol's local order book as a live ladder in the terminal
(rich), or line-delimited JSON for piping.

``ladder`` and ``book_line`` render a ``LocalBook`` (plain functions of its state);
``show_book`` is the shell, around ``OrderBooks``.
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from typing import Any, TextIO

import msgspec
from rich.console import Console
from rich.live import Live
from rich.table import Table

from tickerplant.client.books import OrderBooks
from tickerplant.client.orderbook import BookItem, BookResync, Level, LocalBook
from tickerplant.clock import Clock, SystemClock
from tickerplant.market.instruments import Market

__all__ = ["book_line", "ladder", "show_book"]


def _cumulative(levels: list[Level]) -> list[tuple[Decimal, Decimal, Decimal]]:
    total = Decimal(0)
    rows = []
    for price, qty in levels:
        total += qty
        rows.append((price, qty, total))
    return rows


def ladder(book: LocalBook, depth: int, *, reconnects: int = 0) -> Table:
    """Asks above, bids below, the touch in the middle; sizes and cumulative sizes."""
    if book.synced:
        state = f"u={book.update_id}"
        best_bid, best_ask = book.best_bid(), book.best_ask()
        if best_bid is not None and best_ask is not None:
            state += f"  spread {best_ask[0] - best_bid[0]}"
    else:
        state = "syncing…"
    table = Table(
        title=f"{book.symbol}  {state}  resyncs {book.resyncs}  reconnects {reconnects}",
        expand=False,
    )
    table.add_column("bid total", justify="right")
    table.add_column("bid size", justify="right", style="green")
    table.add_column("price", justify="right", style="bold")
    table.add_column("ask size", justify="right", style="red")
    table.add_column("ask total", justify="right")
    for price, qty, total in reversed(_cumulative(book.asks(depth))):
        table.add_row("", "", str(price), str(qty), str(total))
    for price, qty, total in _cumulative(book.bids(depth)):
        table.add_row(str(total), str(qty), str(price), "", "")
    return table


def book_line(item: BookItem, book: LocalBook, depth: int) -> bytes:
    """One JSON line: the top ``depth`` levels after a ``BookUpdate``, or the resync."""
    line: dict[str, Any]
    if isinstance(item, BookResync):
        line = {"tickerplant": "resync", **msgspec.to_builtins(item)}
    else:
        line = {
            "tickerplant": "book",
            **msgspec.to_builtins(item),
            "bids": book.bids(depth),
            "asks": book.asks(depth),
        }
    return msgspec.json.encode(line)


async def show_book(
    url: str,
    symbol: str,
    *,
    market: Market | None = None,
    depth: int = 10,
    as_json: bool = False,
    count: int | None = None,
    seconds: float | None = None,
    out: TextIO = sys.stdout,
    clock: Clock | None = None,
) -> int:
    """Show ``symbol``'s book until interrupted, ``count`` updates or ``seconds`` pass;
    returns how many items (updates and resyncs) were shown."""
    clock = clock or SystemClock()
    deadline_ms = clock.now_ms() + seconds * 1000 if seconds is not None else None
    seen = 0
    async with OrderBooks(url, market=market, clock=clock) as books:
        try:  # the deadline holds from the start: a host that never answers ends too
            await asyncio.wait_for(books.watch(symbol), None if deadline_ms is None else seconds)
        except TimeoutError:
            return 0
        book = books[symbol]
        live = None if as_json else Live(ladder(book, depth), console=Console(file=out), refresh_per_second=8)
        try:
            if live is not None:
                live.start()
            while count is None or seen < count:
                timeout_s = None if deadline_ms is None else (deadline_ms - clock.now_ms()) / 1000
                if timeout_s is not None and timeout_s <= 0:
                    break
                try:
                    item = await asyncio.wait_for(books.__anext__(), timeout_s)
                except (TimeoutError, StopAsyncIteration):
                    break
                seen += 1
                if live is not None:
                    live.update(ladder(book, depth, reconnects=books.reconnects))
                else:
                    out.write(book_line(item, book, depth).decode() + "\n")
                    out.flush()
        finally:
            if live is not None:
                live.stop()
    return seen
