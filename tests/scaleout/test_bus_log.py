"""What a process' bus meets is logged within a budget: a nats-server that is away is
retried once a second by every process, and that must not fill the log."""

from __future__ import annotations

import logging

import pytest

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.scaleout.bus_log import PER_MINUTE, BusLog


def test_repeated_troubles_are_logged_a_few_times_a_minute_and_then_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    bus_log = BusLog(logging.getLogger("tickerplant.test"), clock)
    with caplog.at_level(logging.INFO, "tickerplant.test"):
        for _ in range(100):  # a refused reconnection a second, for 100 s
            bus_log.trouble("error", "[Errno 111] Connection refused")
            clock.advance(1000)
        bus_log.trouble("reconnected", "connected to the server again")
        bus_log.rejected(Market.UM, "12 bytes dropped: not a frame")
    said = [(record.levelno, record.getMessage()) for record in caplog.records]
    refused = [text for _, text in said if "Connection refused" in text]
    assert len(refused) == 2 * PER_MINUTE  # two minutes began: three lines in each
    assert refused[PER_MINUTE].endswith(f"({60 - PER_MINUTE} more like it were not logged)")
    assert bus_log.budget.suppressed["error"] == 100 - 2 * PER_MINUTE
    assert (logging.INFO, "NATS: connected to the server again") in said
    assert (logging.WARNING, "um: 12 bytes dropped: not a frame") in said
