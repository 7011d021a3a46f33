# ruff: noqa: F811  (the fixtures imported from test_dashboard are parameters here)
"""The dashboard's accounts page in a real browser: the account made
with ``tickerplant accounts``, then its balances, its position at mark and its open order
after python-binance traded, as the page polls ``/api/accounts/<id>``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from binance_hosts import python_binance_at
from conftest import StartServer
from ports import free_port
from test_dashboard import _page, artifacts  # noqa: F401

from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.account_payloads import position_risk

pytestmark = pytest.mark.uvloop_only  # a browser is the client (test_dashboard.py)


def server_positions(server: Any, account_id: int) -> list[Any]:
    return position_risk(server.engines[Market.UM], account_id, "BTCUSDT", v3=True)


async def test_an_accounts_position_and_open_order(
    start_server: StartServer, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    store = AccountStore(tmp_path / "venue.db")
    now = SystemClock().now_ms()
    account = store.create_account("alice", [(Market.UM, "USDT", parse_amount("10000"))], now)
    key = store.add_key(account.account_id, KeyType.HMAC, "A" * 64, now_ms=now)
    store.close()
    server = await start_server(simulator={"actions_per_s": 1e-9}, venue_db=str(tmp_path / "venue.db"),
                                admin_port=free_port())  # fmt: skip
    client = await python_binance_at(f"http://127.0.0.1:{server.listeners[Market.UM].port}", None, key.api_key, "A" * 64)
    try:
        await client.futures_change_margin_type(symbol="BTCUSDT", marginType="ISOLATED")
        await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010")
        engine = server.engines[Market.UM]
        bid = next(engine.data.levels("BTCUSDT", True))[0]
        resting = await client.futures_create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.020",
            price=fixed(bid - 50_000, engine.instruments["BTCUSDT"].price_decimals),
        )  # fmt: skip
    finally:
        await client.close_connection()
    admin = server.admin_url()
    page, errors = await _page(browser, f"{admin}/#/accounts")
    await page.click(f"tr[data-account='{account.account_id}']")
    await page.wait_for_selector("tr[data-position=BTCUSDT]")
    await page.wait_for_selector(f"tr[data-order='{resting['orderId']}']")
    assert "10000.00000000" in await page.inner_text("#balances")
    cells = await page.eval_on_selector_all("tr[data-position=BTCUSDT] td", "cells => cells.map(c => c.textContent)")
    assert cells[:3] == ["BTCUSDT", "BOTH", "0.010"]
    # the position's own margin (wallet + uPnL at the mark of the moment), as positionRisk has it
    (wallet,) = [Decimal(r["isolatedWallet"]) for r in server_positions(server, account.account_id)]
    kind, margin = cells[-1].split(" ")
    assert kind == "isolated" and abs(Decimal(margin) - wallet) < wallet / 10
    await page.screenshot(path=str(artifacts / "accounts.png"))
    assert errors == []
