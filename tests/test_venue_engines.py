"""``venue_engines.feed_engine``'s steps without sockets: each contained on its own, the
user data drain too, in their order, on one ``now_ms`` (the e2e twin is
tests/e2e/test_venue_contained.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

import tickerplant.venue_engines as venue_engines
from tickerplant.clock import ManualClock
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.userstream.activity import VenueActivity


def test_every_step_and_the_drain_are_contained_in_order_on_one_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock, activity = ManualClock(5_000), VenueActivity()
    ran: list[tuple[str, int]] = []

    def failing(name: str) -> Any:
        def step(*args: Any) -> None:
            ran.append((name, args[-1]))
            raise RuntimeError(f"{name} bug")

        return step

    for name in ("settle_transfers", "receive", "watch", "exchange_negative_balances"):
        monkeypatch.setattr(venue_engines, name, failing(name))
    engine = SimpleNamespace(market=None)
    keyring = SimpleNamespace(refresh=lambda: None, moved=lambda market: [])
    algos = SimpleNamespace(observe=failing("algos"))

    def drain(now_ms: int) -> None:
        ran.append(("drain", now_ms))
        raise RuntimeError("drain bug")

    messages: Sequence[StreamMessage] = []
    step = venue_engines.Contained(clock, activity)
    with caplog.at_level(logging.ERROR, logger="tickerplant"):
        for _ in range(2):  # raised inside: not here
            venue_engines.feed_engine(engine, algos, drain, clock, keyring, step, messages)  # type: ignore[arg-type]
    steps = ["settle_transfers", "receive", "watch", "exchange_negative_balances", "algos", "drain"]
    assert ran == [(name, 5_000) for name in steps] * 2
    assert dict(activity.failures) == dict.fromkeys(["transfers", "fills", "watch", "exchange", "algos", "drain"], 2)
    # each step's first failure logged with its traceback; the second within the minute counted only
    logged = [r for r in caplog.records if "step failed" in r.getMessage()]
    assert len(logged) == 6 and all(r.exc_info is not None for r in logged)
