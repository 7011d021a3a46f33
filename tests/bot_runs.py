"""What the tests of ``tickerplant run`` share: public files of a still BTCUSDT market, the
bot's account and key as ``tickerplant accounts create`` makes them, and a run's
configuration (tests/bot/test_bot_run.py, tests/e2e/test_bot_speeds.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from public_data import BOOK_HEADER, T0, UM_TRADES_HEADER, write

from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.wire.administration import create_account

__all__ = ["T0", "account", "run_config", "still_market"]


def still_market(folder: Path, end_ms: int, trades: Sequence[tuple[int, str, bool]] = ()) -> Path:
    """A book that stands at 42000.0 / 42000.1 from ``T0`` to ``end_ms`` (a row every 250 ms),
    a trade a second at its touch, and ``trades`` (time, price, whether the seller took)."""
    folder.mkdir(parents=True, exist_ok=True)
    book = [f"{i + 1},42000.0,1.000,42000.1,1.000,{t},{t}" for i, t in enumerate(range(T0, end_ms, 250))]
    taps = [(t + 100, "42000.0" if t % 2000 else "42000.1", t % 2000 != 0) for t in range(T0, end_ms, 1000)]
    taps = sorted([*taps, *trades])
    rows = [f"{i + 1},{price},0.050,2100.000,{t},{str(seller).lower()}" for i, (t, price, seller) in enumerate(taps)]
    write(folder, "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, book, zipped=False)
    write(folder, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, rows, zipped=False)
    return folder


def account(db: Path) -> dict[str, str]:
    """The bot's account (USDT 10000) and HMAC key as ``BOT_KEY`` and ``BOT_SECRET``, made at
    a fixed time so that runs on fresh databases keep the same times."""
    store = AccountStore(str(db))
    try:
        _, made = create_account(
            store, "bot", "USDT=10000", public_key=None, permissions="reading,trading", ips="", now_ms=T0 - 86_400_000
        )
    finally:
        store.close()
    assert made.secret is not None
    return {"BOT_KEY": made.key.api_key, "BOT_SECRET": made.secret}


def run_config(files: Path, db: Path, speed: float, start_ms: int | None = None) -> ServerConfig:
    """A run's server: the replay of ``files`` at ``speed``, ports the OS's, no admin listener."""
    replay = ReplayConfig(paths=(str(files),), speed=speed, start_ms=start_ms, exit_at_end=True)
    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, venue_db=str(db))
    return dataclasses.replace(config, replay=replay)
