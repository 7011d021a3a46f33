"""What a browser may call, as on Binance's fapi (trading part 1 §7.3, a captured answer's
fields: ``Access-Control-Allow-Origin: *``, ``Access-Control-Allow-Methods: GET, POST,
PUT, DELETE, OPTIONS``): every REST answer says so, and a preflight (``OPTIONS``) is
answered on a kept-alive connection, naming no header a client may add, as Binance's names
none: a page on another origin reads public market data and sends a PUT, and a call
carrying ``X-MBX-APIKEY`` is refused by the browser at its preflight ("x-mbx-apikey is not
allowed by Access-Control-Allow-Headers", what browser users of Binance's clients report)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from chromium import DEADLINE_MS
from conftest import StartServer
from ports import free_port
from rawws import read_answer

from tickerplant.market.instruments import Market

METHODS = "GET, POST, PUT, DELETE, OPTIONS"
PREFLIGHT = (
    b"OPTIONS /fapi/v2/balance HTTP/1.1\r\nHost: x\r\nOrigin: http://elsewhere.example\r\n"
    b"Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-mbx-apikey\r\n\r\n"
)


def _fields(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    line, *lines = head.decode("latin-1").split("\r\n")
    return int(line.split(" ")[1]), {k.lower(): v for k, v in (x.split(": ", 1) for x in lines)}, body


async def test_a_preflight_is_answered_on_a_kept_alive_connection_naming_no_header(
    start_server: StartServer,
) -> None:
    plant = await start_server(simulator={"actions_per_s": 1e-9})
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    try:
        writer.write(PREFLIGHT + b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")  # pipelined behind it
        status, fields, body = _fields(await read_answer(reader))
        assert (status, body, fields["content-length"]) == (200, b"", "0")
        assert fields["access-control-allow-origin"] == "*"
        assert fields["access-control-allow-methods"] == METHODS
        assert "access-control-allow-headers" not in fields  # X-MBX-APIKEY is not allowed
        assert fields["connection"] == "keep-alive"
        assert "x-mbx-used-weight-1m" not in fields  # a preflight is not a request of the API
        status, fields, body = _fields(await read_answer(reader))  # the same connection goes on
        assert (status, body, fields["x-mbx-used-weight-1m"]) == (200, b"{}", "1")
        assert fields["access-control-allow-methods"] == METHODS
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@pytest.mark.uvloop_only
async def test_a_page_on_another_origin_reads_market_data_and_is_refused_a_keyed_call(
    start_server: StartServer, browser: Any
) -> None:
    plant = await start_server(admin_port=free_port())
    admin = plant.admin_url()
    assert admin is not None
    um = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    page = await browser.new_page()
    page.set_default_timeout(DEADLINE_MS)
    await page.goto(admin)  # the page's origin: the admin listener's, another port
    call = """async ([url, init]) => {
        try { const r = await fetch(url, init); return [r.status, await r.text()]; }
        catch (e) { return ["refused", String(e)]; }
    }"""
    assert await page.evaluate(call, [um + "/fapi/v1/ping", {}]) == [200, "{}"]
    # a PUT is preflighted: allowed, then sent, and its refusal is readable by the page
    status, text = await page.evaluate(call, [um + "/fapi/v1/listenKey", {"method": "PUT"}])
    assert status == 401 and '"code":-2014' in text, (status, text)
    # a header of its own is preflighted and not allowed: the browser never sends the call
    keyed = {"headers": {"X-MBX-APIKEY": "k" * 64}}
    assert (await page.evaluate(call, [um + "/fapi/v2/balance", keyed]))[0] == "refused"
    await page.close()
