# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""A run reported end to end: ccxt at its defaults (``binanceusdm``, its keys, its URLs
pointed here) trades on a real server; ``write_report`` writes the account's report from
the journal; its figures agree with what the client read (fees, the wallet, its trades),
the admin listener answers the same figures on demand, and headless Chromium draws every
chart of the page with no request leaving it (plotly.js is inside)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
from chromium import DEADLINE_MS, VIEWPORT
from conftest import StartServer
from ports import free_port
from test_ccxt_trading import SYMBOL, trader
from test_venue_clients import STILL, Venue, closing, venue  # noqa: F401

from tickerplant.report.write import write_report


async def test_a_ccxt_run_reported_and_drawn(
    start_server: StartServer, venue: Venue, closing: list[Any], browser: Any, tmp_path: Path
) -> None:
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), admin_port=free_port())
    exchange = trader(plant, venue.alice_hmac, closing)
    await exchange.load_markets()
    await exchange.create_order(SYMBOL, "market", "buy", 0.02)
    await exchange.create_order(SYMBOL, "market", "sell", 0.01)
    await exchange.create_order(SYMBOL, "market", "sell", 0.01)  # flat again: one round trip
    trades = await exchange.fetch_my_trades(SYMBOL)
    wallet = (await exchange.fetch_balance())["USDT"]["total"]

    made = write_report(venue.path, venue.alice, tmp_path / "report")
    figures = json.loads(made.json.read_bytes())
    s, flows = figures["statistics"], figures["flows"]
    assert (figures["asset"], s["trades"], s["orders_filled"], s["round_trips"]) == ("USDT", len(trades), 3, 1)
    assert flows["commission"] == round(sum(t["fee"]["cost"] for t in trades) * 10**8)
    assert flows["realized_pnl"] == round(sum(float(t["info"]["realizedPnl"]) for t in trades) * 10**8)
    assert s["start_equity"] == 10_000 * 10**8  # the opening balance, journaled as a transfer
    assert s["end_equity"] == round(wallet * 10**8)  # flat: the equity is the wallet ccxt reads
    assert s["wins"] == 0 and flows["net_pnl"] < 0  # a taker's round trip in a still market pays
    slip = s["slippage"]
    assert (slip["orders"], slip["unmeasured"]) == (3, 0) and slip["cost"] > 0  # each crossed half the spread

    async with aiohttp.ClientSession() as session:
        url = f"{plant.admin_url()}/api/accounts/{venue.alice}/report"
        async with session.get(f"{url}.json") as answer:
            assert answer.status == 200 and json.loads(await answer.read()) == figures
        async with session.get(url, params={"from": "2001-01-01T00:00:00"}) as answer:
            assert answer.content_type == "text/html" and "Plotly" in await answer.text()
        async with session.get(url, params={"to": "yesterday"}) as answer:
            assert answer.status == 400 and "'yesterday'" in (await answer.json())["msg"]
        async with session.get(f"{plant.admin_url()}/api/accounts/99/report.json") as answer:
            assert answer.status == 404  # no such account: nothing journaled
        for asked, said in (({"to": "1000"}, "has no row up to 1970"), ({"asset": "ZZZ"}, "has no row in 'ZZZ'")):
            async with session.get(f"{url}.json", params=asked) as answer:  # the question's, not the account's
                assert (answer.status, said in (await answer.json())["msg"]) == (400, True), asked

    page = await browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(DEADLINE_MS)
    errors: list[str] = []
    asked: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: asked.append(request.url))
    await page.goto(made.html.as_uri())
    await page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3")
    drawn = await page.evaluate(
        "[...document.querySelectorAll('.js-plotly-plot')].map(d => "
        "[d.id, d.data.map(t => t.name), d.querySelectorAll('.trace').length])"
    )
    assert drawn == [
        ["equity", ["equity", "drawdown"], 2],
        ["price-BTCUSDT", ["price (marks)", "buys", "sells"], 3],
        ["pnl", [None], 1],
    ]
    points = await page.evaluate("document.getElementById('equity').data[0].x.length")
    assert points == len(figures["equity"])
    assert errors == [] and asked == [made.html.as_uri()]  # offline: nothing asked of the network
