"""The dashboard of `tickerplant serve --workers 2` in a real browser (as test_dashboard.py:
Debian's Chromium through Playwright): the supervisor's admin listener serves the pages,
the overview fills from the gateways' shared ports, and the server page shows the whole
server's connections, those of both gateways."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from served_workers import Served, gateway_pids, get_json, serve_workers, sockets_of
from test_dashboard import DEADLINE_MS, _page, artifacts
from timing import SECONDS

# a start of every process, under load, and its stop in order
# The servers are processes of their own, on their own loop: the test runs once, on asyncio.
pytestmark = pytest.mark.timeout(int(150 * SECONDS))
__all__ = ["artifacts"]  # the fixtures

# three times the default order flow: the quietest symbol's first push comes in seconds, not a dozen
QUICK = "[simulator]\nhistory_s = 60\nbook_levels = 20\nactions_per_s = 1200\nsteady_rate = true\n"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    config = tmp_path / "quick.toml"
    config.write_text(QUICK)
    async with serve_workers("--config", str(config)) as served:
        yield served


async def test_the_dashboard_of_two_workers_fills_and_counts_both_gateways_connections(
    served: Served, browser: Any, artifacts: Path
) -> None:
    status = await get_json(f"{served.admin}/api/status")
    symbols = sum(len(status["listeners"][m]["symbols"]) for m in ("um", "cm"))
    page, errors = await _page(browser, f"{served.admin}/#/")
    # every row pushed at least once: the quietest symbols of four processes sharing the
    # machine's two cores with the rest of the suite take longer than a page's usual deadline
    # (one CI run took past 3 of them, the suite at its busiest: a deadline, never a wait)
    await page.wait_for_function(
        "n => [...document.querySelectorAll('tr[data-symbol]')].filter(r => r.dataset.eventTime).length === n",
        arg=symbols, timeout=6 * DEADLINE_MS,
    )  # fmt: skip
    await page.screenshot(path=str(artifacts / "workers-overview.png"))
    await page.close()  # and its stream connections: the server page counts the clients' alone

    um = status["listeners"]["um"]["streams"]
    pids = gateway_pids(served)
    before = [sockets_of(pid) for pid in pids]
    async with contextlib.AsyncExitStack() as stack:
        clients = 0
        for _ in range(40):  # until the kernel has given each gateway some
            # never read: max_queue=None keeps reading them into the client, so that closing
            # one does not wait websockets' 10 s close timeout behind a paused transport
            await stack.enter_async_context(websockets.connect(f"{um}/ws/btcusdt@aggTrade", max_queue=None))
            clients += 1
            held = [sockets_of(pid) - had for pid, had in zip(pids, before, strict=True)]
            if all(n > 0 for n in held):
                break
        assert len(pids) == 2 and all(n > 0 for n in held), "the kernel gave every connection to one gateway"
        page, more_errors = await _page(browser, f"{served.admin}/#/server")
        errors += more_errors
        await page.wait_for_function(
            "n => document.querySelectorAll('.kpi b')[2]?.textContent === String(n)", arg=clients
        )
        text = await page.inner_text("#page")
        assert "btcusdt@aggTrade" in text, "the busiest streams, of both gateways"
        await page.screenshot(path=str(artifacts / "workers-server.png"))
    assert errors == []
