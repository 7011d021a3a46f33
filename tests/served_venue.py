"""A real ``tickerplant serve`` in a process of its own, on a venue database, for the tests
that kill it (SIGKILL) and start it again on the same journal; and a signed request to it."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from timing import SECONDS, eventually

from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

__all__ = ["SECRET", "account", "refused", "serve", "signed"]

SECRET = "S" * 64
PAST_MS = 600_000  # the simulated past these servers answer: ten minutes


def account(path: Path, name: str, market: Market, asset: str, amount: str) -> tuple[int, str]:
    """An account made in the database at ``path`` with ``amount`` of ``asset`` in
    ``market``'s wallet and an HMAC key signing with ``SECRET``: its id and its API key."""
    store = AccountStore(path)
    try:
        now = SystemClock().now_ms()
        made = store.create_account(name, [(market, asset, parse_amount(amount))], now).account_id
        return made, store.add_key(made, KeyType.HMAC, SECRET, now_ms=now).api_key
    finally:
        store.close()


@contextlib.asynccontextmanager
async def serve(
    path: Path, port: int, admin_port: int = 0, cm_port: int = 0, options: tuple[str, ...] = (),
    past_ms: int | None = PAST_MS, sim_rate: str = "1", warm_s: float | None = None, book_levels: int = 20,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A real `tickerplant serve` (and its ``options``), read until it says it serves (no
    polling); killed on exit if it still runs. Its simulated past is the last ``past_ms``
    (``--history-start``: the plants warm from less, and it starts in half the time; None:
    every symbol's since its listing). ``warm_s``: the plants warmed with that much of the
    past instead of a day (``simulator.history_s``, in a config file beside the database):
    a longer past starts as fast, and the past it answers is the same. ``book_levels``: the
    simulated books' least depth a side (``simulator.book_levels``), the least by default as
    ``conftest.quick_config``'s: 1,000 (the server's default) made a third more of each start."""
    if past_ms is not None:
        options = ("--history-start", str(SystemClock().now_ms() - past_ms), *options)
    config = path.parent / "quick.toml"
    warm = "" if warm_s is None else f"history_s = {warm_s}\n"
    config.write_text(f"[simulator]\nbook_levels = {book_levels}\nsteady_rate = true\n{warm}")
    options = ("--config", str(config), *options)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant.cli", "serve", "--venue-db", str(path), "--um-port", str(port),
        "--cm-port", str(cm_port), "--admin-port", str(admin_port), "--sim-rate", sim_rate, *options,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    said: list[str] = []

    async def read(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            said.append(line.decode())

    reading = asyncio.ensure_future(read(process.stdout))
    try:
        await eventually(lambda: any("Ctrl-C stops" in line for line in said) or process.returncode is not None,
                         60 * SECONDS)  # fmt: skip
        assert process.returncode is None, "".join(said)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await reading


async def signed(
    session: aiohttp.ClientSession, method: str, url: str, key: str, query: str, secret: str = SECRET
) -> tuple[int, Any]:
    """``method url?query`` signed with ``secret`` under ``key``: the status and the body."""
    query = f"{query}&timestamp={SystemClock().now_ms()}".lstrip("&")
    signed = f"{query}&signature={hmac_hex(secret, query.encode())}"
    async with session.request(method, f"{url}?{signed}", headers={"X-MBX-APIKEY": key}) as answer:
        return answer.status, await answer.json()


async def refused(*argv: str) -> tuple[int, str]:
    """A `tickerplant serve` (and ``argv``) that is expected to refuse: its exit status and
    its stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant.cli", "serve", "--admin-port", "0", *argv,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(30 * SECONDS):
        _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err.decode()
