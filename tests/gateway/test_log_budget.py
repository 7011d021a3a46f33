"""The log lines clients can cause are bounded: a budget per kind, names cut short, and
what was held back counted and said."""

from __future__ import annotations

import json
import logging

import pytest
from conftest import StartServer
from rawws import CLOSE, TEXT, RawWebSocket, close_code
from scripted_market import ScriptedMarket

from tickerplant.clock import ManualClock
from tickerplant.gateway.log_budget import LogBudget, held_note
from tickerplant.market.instruments import Market


def test_a_budget_per_kind_per_interval_counts_what_it_holds() -> None:
    budget = LogBudget(per_interval=2, interval_ms=1000)
    assert [budget.allow("a", 0), budget.allow("a", 10), budget.allow("a", 20), budget.allow("a", 30)] == [
        0, 0, None, None,
    ]  # fmt: skip
    assert budget.allow("b", 30) == 0  # another kind has its own budget
    assert budget.allow("a", 999) is None
    assert budget.allow("a", 1000) == 3  # the next interval's first record says how many were held
    assert budget.allow("a", 1001) == 0
    assert budget.suppressed == {"a": 3}
    assert budget.allow("a", 1002) is None  # spent again
    assert budget.allow("a", 500) == 1  # a clock set back (another server's, a test's): a new interval
    assert held_note(3) == " (3 more like it were not logged)" and held_note(0) == ""
    with pytest.raises(ValueError):
        LogBudget(0)


async def test_never_delivering_names_cannot_flood_the_log(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Spec §3.4: every SUBSCRIBE is acknowledged, so a client may subscribe 1,023 names
    that never deliver; the server warns about ten of them per 10 s, each line short."""
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock))
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws")
    caplog.set_level(logging.WARNING, logger="tickerplant.streams")
    names = [f"nosuch{i}usdt@{'x' * 100}" for i in range(1023)]  # within a connection's bytes
    ws.send_text(json.dumps({"method": "SUBSCRIBE", "params": names, "id": 1}))
    assert json.loads((await ws.recv_until(TEXT)).payload) == {"result": None, "id": 1}
    warned = [r.getMessage() for r in caplog.records if "will never deliver" in r.getMessage()]
    assert len(warned) == 10 and max(map(len, warned)) < 400
    clock.advance(10_000)
    ws.send_text(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@nosuchkind"], "id": 2}))
    assert json.loads((await ws.recv_until(TEXT)).payload) == {"result": None, "id": 2}
    warned = [r.getMessage() for r in caplog.records if "will never deliver" in r.getMessage()]
    assert len(warned) == 11 and warned[-1].endswith("(1013 more like it were not logged)")
    await ws.close()


async def test_a_never_delivering_name_as_long_as_a_connection_may_hold_is_one_short_line(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A name's symbol part as long as a connection's names may be (128 KiB,
    ``protocol/subscription_budget.py``): the reason quotes it, cut as the name is
    (docs/operations.md, "log lines clients can cause"); a line of ~1 MB a subscribe
    grew the log by ~1.6 MB a second from four connections."""
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock))
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws")
    caplog.set_level(logging.WARNING, logger="tickerplant.streams")
    ws.send_text(json.dumps({"method": "SUBSCRIBE", "params": [f"{'b' * 131_000}@aggTrade"], "id": 1}))
    assert json.loads((await ws.recv_until(TEXT)).payload) == {"result": None, "id": 1}
    (warned,) = [r.getMessage() for r in caplog.records if "will never deliver" in r.getMessage()]
    assert len(warned) < 400, len(warned)
    await ws.close()


async def test_ccxt_pros_numbered_connection_path_is_not_warned_about(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """ccxt.pro opens each market connection at `/ws/<its number>` and then subscribes: the
    number, which never delivers (as on Binance), is no client's mistake to warn about."""
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock))
    caplog.set_level(logging.WARNING, logger="tickerplant.streams")
    for path in ("/ws/1", "/market/ws/12", "/ws/btcusdt@nosuchkind"):
        ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, path)
        ws.send_text(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1}))
        assert json.loads((await ws.recv_until(TEXT)).payload) == {"result": None, "id": 1}
        await ws.close()
    warned = [r.getMessage() for r in caplog.records if "will never deliver" in r.getMessage()]
    assert len(warned) == 1 and "nosuchkind" in warned[0], warned


async def test_broken_frames_are_warnings_within_the_budget(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """picows logs each client's protocol error at ERROR; a client's doing is a warning, and
    one connection after another cannot flood the log with them."""
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock))
    port = plant.listeners[Market.UM].port
    caplog.set_level(logging.DEBUG, logger="picows")

    async def broken() -> None:
        ws = await RawWebSocket.connect(port, "/ws")
        ws.writer.write(b"\x81\x02{}")  # unmasked: closed 1002 (RFC 6455 §5.1)
        assert close_code(await ws.recv_until(CLOSE))[0] == 1002
        await ws.close()

    for _ in range(15):
        await broken()
    parser_errors = [r for r in caplog.records if r.getMessage().startswith("WS parser error")]
    assert len(parser_errors) == 10 and {r.levelname for r in parser_errors} == {"WARNING"}
    clock.advance(10_000)
    await broken()
    parser_errors = [r for r in caplog.records if r.getMessage().startswith("WS parser error")]
    assert parser_errors[-1].getMessage().endswith("(5 more like it were not logged)")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
