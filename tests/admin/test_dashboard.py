"""The dashboard in a real browser: headless Chromium (Debian's, through Playwright) reads a
real server's admin listener and, through the market listeners' own streams and REST, the
market. Each test saves a screenshot of its page (1366×768) to ``$TICKERPLANT_ARTIFACTS``
or the test's tmp_path.

Outside CI a machine without ``/usr/bin/chromium`` (or the ``playwright`` package) skips
these tests and says why; in CI (``CI=true``) that is a failure: ``.ci/run`` installs both.
"""

from __future__ import annotations

import json
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets
from chromium import DEADLINE_MS, VIEWPORT
from conftest import StartServer
from ports import free_port
from public_data import T0, UM_TRADES_HEADER, trades, trades_lines, write

from tickerplant.app import Tickerplant
from tickerplant.config import ReplayConfig
from tickerplant.market.instruments import Market

# a browser is the client: the admin listener's both loops are the API tests' (test_admin_*.py)
pytestmark = [pytest.mark.loopback, pytest.mark.uvloop_only]

UP, DOWN = (0x17, 0xC3, 0x87), (0xF0, 0x47, 0x5C)  # dashboard.css --up and --down


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TICKERPLANT_ARTIFACTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _page(browser: Any, url: str, timers: bool = False) -> tuple[Any, list[str]]:
    """A page at ``url`` and the script errors it raises (every test expects none);
    ``timers``: its timers Playwright's (``page.clock``), which run as the real ones until
    the test moves them on (``run_for``) instead of waiting for their seconds."""
    page = await browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(DEADLINE_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    if timers:
        await page.clock.install()
    await page.goto(url)
    return page, errors


async def _get(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, await response.text()
        return json.loads(await response.text())


async def _admin(server: Tickerplant) -> str:
    admin = server.admin_url()
    assert admin is not None
    return admin


async def test_the_overview_lists_both_markets_and_btcusdt_last_matches_rest(
    start_server: StartServer, browser: Any, artifacts: Path
) -> None:
    server = await start_server(admin_port=free_port())
    admin = await _admin(server)
    status = await _get(f"{admin}/api/status")
    symbols = {m: status["listeners"][m]["symbols"] for m in ("um", "cm")}
    rest = status["listeners"]["um"]["rest"]
    page, errors = await _page(browser, f"{admin}/#/")
    await page.wait_for_function(
        "n => [...document.querySelectorAll('tr[data-symbol]')].filter(r => r.dataset.eventTime).length === n",
        arg=len(symbols["um"]) + len(symbols["cm"]),
    )
    for market, names in symbols.items():
        shown = await page.eval_on_selector_all(
            f"tr[data-market={market}]", "rows => rows.map(r => r.dataset.symbol)"
        )
        assert shown == names, "every symbol of both markets, in the catalogue's order"

    # The last price the page shows, pushed by !ticker@arr after a REST read, is one the
    # market traded at between that read and the next.
    before = await _get(f"{rest}/fapi/v1/ticker/price?symbol=BTCUSDT")
    row = "tr[data-symbol=BTCUSDT][data-market=um]"
    await page.wait_for_function(
        "([row, t]) => Number(document.querySelector(row).dataset.eventTime) >= t", arg=[row, before["time"]]
    )
    shown = Decimal(await page.inner_text(f"{row} td.last"))
    after = await _get(f"{rest}/fapi/v1/ticker/price?symbol=BTCUSDT")
    traded = await _get(
        f"{rest}/fapi/v1/aggTrades?symbol=BTCUSDT&startTime={before['time']}&endTime={after['time']}&limit=1000"
    )
    window = {Decimal(before["price"]), Decimal(after["price"])} | {Decimal(t["p"]) for t in traded}
    assert shown in window, f"{shown} is none of the prices traded between the REST reads: {sorted(window)}"
    await page.screenshot(path=str(artifacts / "overview.png"))
    assert errors == []


async def test_the_symbol_page_shows_a_full_ladder_candles_and_the_tape(
    start_server: StartServer, browser: Any, artifacts: Path
) -> None:
    server = await start_server(admin_port=free_port())
    page, errors = await _page(browser, f"{await _admin(server)}/#/symbol/um/BTCUSDT")
    await page.wait_for_function(
        """() => document.querySelectorAll('tr.ask[data-price]').length >= 20
              && document.querySelectorAll('tr.bid[data-price]').length >= 20
              && Number(document.querySelector('canvas[data-candles]')?.dataset.candles) > 1
              && document.querySelectorAll('.tape-panel tbody tr:not(:has(.empty))').length > 0"""
    )  # > 1: the REST history drawn, not only a live kline pushed before it came (a race seen once)
    # one look at the ladder: asks above bids, each side from the highest price down
    asks, bids = await page.evaluate(
        """() => ['ask', 'bid'].map(side =>
              [...document.querySelectorAll(`tr.${side}[data-price]`)].map(r => r.dataset.price))"""
    )
    asks, bids = [Decimal(p) for p in asks], [Decimal(p) for p in bids]
    assert len(asks) >= 20 and len(bids) >= 20
    assert asks == sorted(asks, reverse=True) and len(set(asks)) == len(asks), (
        "asks from the 20th level down to the best"
    )
    assert bids == sorted(bids, reverse=True) and len(set(bids)) == len(bids), "bids from the best down"
    assert asks[-1] > bids[0], "the best ask above the best bid"

    # the candles are drawn: the canvas holds pixels of both candle colours
    painted = await page.evaluate(
        """([up, down]) => {
              const canvas = document.querySelector('canvas[data-candles]');
              const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
              const near = (i, c) => Math.abs(pixels[i] - c[0]) + Math.abs(pixels[i + 1] - c[1]) + Math.abs(pixels[i + 2] - c[2]) < 12;
              let ups = 0, downs = 0;
              for (let i = 0; i < pixels.length; i += 4) {
                  if (pixels[i + 3] < 250) continue;
                  if (near(i, up)) ups++; else if (near(i, down)) downs++;
              }
              return [Number(canvas.dataset.candles), ups, downs];
          }""",
        [UP, DOWN],
    )
    candles, ups, downs = painted
    assert candles > 1 and ups > 50 and downs > 50, painted
    await page.screenshot(path=str(artifacts / "symbol.png"))
    assert errors == []


# What a server with the admin metrics reports (docs/operations.md, "The admin listener", Status): per
# listener its rates, busiest streams and limit hits; the recent closes for the server
def _listener_figures(market: str) -> dict[str, Any]:
    return {
        "messagesPerSecond": 1234.5,
        "bytesPerSecond": 456789.0,
        "busiestStreams": [
            {"stream": "btcusdt@depth20@100ms", "subscribers": 3, "messages": 420, "bytes": 98765}
        ],
        "limitHits": {"too_many_requests": 2, "slow_consumer": 1, "invalid_json": 0},
    }


def _recent_closes(now_ms: int) -> list[dict[str, Any]]:
    return [
        {"time": now_ms - 4000, "market": "um", "surface": "streams", "code": 1008,
         "reason": "Slow consumer: send buffer full", "peer": "127.0.0.1:50000"},
    ]  # fmt: skip


_OPTIONAL = ("messagesPerSecond", "busiestStreams", "recentCloses", "limitHits")


async def test_the_server_page_shows_connections_and_what_the_status_reports(
    start_server: StartServer, browser: Any, artifacts: Path
) -> None:
    server = await start_server(admin_port=free_port())
    admin = await _admin(server)
    # a quiet client of each listener (nothing subscribed: it closes at once)
    async with (
        websockets.connect(f"{server.url(Market.UM)}/ws"),
        websockets.connect(f"{server.url(Market.CM)}/ws"),
    ):
        page, errors = await _page(browser, f"{admin}/#/server")
        await page.wait_for_function("() => document.querySelectorAll('.kpi b')[2]?.textContent === '2'")
    status = await _get(f"{admin}/api/status")
    listeners = await page.eval_on_selector_all(
        ".page-server table.grid tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert [row[1] for row in listeners[:2]] == [status["listeners"][m]["streams"] for m in ("um", "cm")]
    text = await page.inner_text("#page")
    for key in _OPTIONAL:
        reported = key in status or key in status["listeners"]["um"]
        assert (f"has no {key}" in text) != reported, f"{key}: shown when reported, 'not available' when not"
    assert "No fault profile is loaded" in text
    await page.screenshot(path=str(artifacts / "server.png"))

    # the keys the admin metrics add, as the listeners report them
    async def with_metrics(route: Any) -> None:
        response = await route.fetch()
        body = await response.json()
        for market in ("um", "cm"):
            body["listeners"][market].update(_listener_figures(market))
        body["recentCloses"] = _recent_closes(body["serverTimeMs"])
        fired = {"time": body["serverTimeMs"], "kind": "unknown-error", "where": "POST /fapi/v1/order",
                 "symbol": "BTCUSDT", "account": 7}  # fmt: skip
        body["listeners"]["um"]["faults"] = [fired]  # a fault profile's, as the listener lists them
        await route.fulfill(response=response, json=body)

    await page.route("**/api/status", with_metrics)
    await page.wait_for_function("() => document.body.innerText.includes('Slow consumer: send buffer full')")
    text = await page.inner_text("#page")
    assert "not available" not in text
    assert "btcusdt@depth20@100ms" in text and "too_many_requests" in text and "127.0.0.1:50000" in text
    assert "unknown-error" in text and "POST /fapi/v1/order" in text
    assert await page.inner_text(".kpi:nth-child(4) b") == "2469", "the listeners' rates summed"
    await page.screenshot(path=str(artifacts / "server-with-metrics.png"))
    await page.unroute_all(behavior="ignoreErrors")
    assert errors == []


async def test_pause_stops_the_replay_clock(
    start_server: StartServer, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    rng = random.Random(7)
    files = tmp_path / "public"
    files.mkdir()
    # about 70 minutes of trades, played at ×60: the replay clock moves a minute a second
    rows = trades(rng, 6000, T0, 42000.0, "0.1", "0.001")
    write(files, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(rows), zipped=True)
    server = await start_server(admin_port=free_port(), replay=ReplayConfig(paths=(str(files),), speed=60.0))
    admin = await _admin(server)
    page, errors = await _page(browser, f"{admin}/#/replay", timers=True)
    clock = "#replay-time"
    # `?.`: until the page has drawn the replay view there is no clock: the wait goes on
    await page.wait_for_function(f"() => Number(document.querySelector('{clock}')?.dataset.replayTime) > 0")
    first = int(await page.get_attribute(clock, "data-replay-time") or 0)
    await page.wait_for_function(
        f"t => Number(document.querySelector('{clock}')?.dataset.replayTime) > t", arg=first
    )
    await page.wait_for_function(
        "() => Number(document.querySelector('canvas[data-candles]')?.dataset.candles) > 0"
    )

    await page.click("#replay-toggle")
    await page.wait_for_function("() => document.querySelector('.replay-state')?.textContent === 'paused'")
    paused = (await _get(f"{admin}/api/status"))["replay"]
    assert paused["state"] == "paused"
    # two more polls of the page (a second each: at ×60, two minutes of replay time), their
    # seconds moved on in the page
    polls = int(await page.get_attribute("body", "data-status-polls") or 0)
    await page.clock.run_for(2000)
    await page.wait_for_function("n => Number(document.body.dataset.statusPolls) >= n", arg=polls + 2)
    still = (await _get(f"{admin}/api/status"))["replay"]
    assert still["replayTime"] == paused["replayTime"] and still["events"] == paused["events"]
    assert int(await page.get_attribute(clock, "data-replay-time") or 0) == paused["replayTime"]
    await page.screenshot(path=str(artifacts / "replay.png"))

    await page.click("#replay-toggle")
    await page.wait_for_function(
        f"t => Number(document.querySelector('{clock}')?.dataset.replayTime) > t", arg=paused["replayTime"]
    )

    # the speed: this server's admin listener takes POST /api/replay/speed, so the click
    # changes it (the page's "not available" is for a server without the control: here it
    # is the failure, and the wait ends on it too, so that the assertion says so at once)
    await page.click("button[data-speed='10']")
    await page.wait_for_function(
        """() => document.querySelector("button[data-speed='10']").classList.contains('on')
              || document.querySelector('.message').textContent.includes('not available')"""
    )
    speed = (await _get(f"{admin}/api/status"))["replay"]["speed"]
    message = await page.inner_text(".message")
    assert (speed, message) == (10, "")
    assert errors == []
