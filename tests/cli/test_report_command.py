"""``tickerplant report``: the account's report written from a journal's rows (hand-made
here, with the journal's own schema and row writer), its range read as ISO 8601 or
milliseconds, and what it says when there is nothing to report."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tickerplant.cli import main
from tickerplant.venue.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from tickerplant.venue.journal.rows import ORDER_COLUMNS, order_row
from tickerplant.venue.journal.schema import FILL_COLUMNS, prepare

USDT = 100_000_000


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    """Account 1 deposits 10,000 USDT, buys 0.010 BTCUSDT at 60,000 at 2 s (fee 0.30) and
    sells it at 60,100 at 3 s (+1.00, fee 0.3005); account 2 trades at 60,050 at 2.5 s."""
    path = tmp_path / "venue.db"
    db = sqlite3.connect(path)
    prepare(db)
    fills = [
        ("BTCUSDT", 1, 1, 1, "BUY", 6_000_000, 10, 0, 0, 30_000_000, "USDT", 0, 2000),
        ("BTCUSDT", 2, 2, 3, "SELL", 6_005_000, 5, 0, 0, 15_012_500, "USDT", 0, 2500),
        ("BTCUSDT", 3, 1, 2, "SELL", 6_010_000, 10, 0, USDT, 30_050_000, "USDT", 0, 3000),
    ]
    db.executemany(f"INSERT INTO venue_fills ({FILL_COLUMNS}) VALUES ({', '.join('?' * 13)})", fills)
    db.execute("INSERT INTO venue_income VALUES (1, '', 'TRANSFER', 'USDT', ?, 1000, 1000000, 'um')", (10_000 * USDT,))
    for order_id, side, mid_x2 in ((1, Side.BUY, 11_999_990), (2, Side.SELL, 12_020_010)):
        order = Order(1, "BTCUSDT", order_id, "bot", side, OrderType.MARKET, TimeInForce.GTC, 0, 10, False, 0,
                      0, 0, OrderStatus.FILLED, 10, arrival_mid_x2=mid_x2)  # fmt: skip
        row = order_row(order)
        db.execute(f"INSERT INTO venue_orders ({ORDER_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row)
    db.commit()
    db.close()
    return path


def report(journal: Path, out: Path, *argv: str) -> dict[str, object]:
    main(["report", "--db", str(journal), "--account", "1", "--out", str(out), *argv])
    written: dict[str, object] = json.loads((out / "account-1-USDT.json").read_bytes())
    return written


def test_the_report_of_an_account(journal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    figures = report(journal, tmp_path / "all")
    out = capsys.readouterr().out
    assert f"report     {tmp_path / 'all' / 'account-1-USDT.html'}" in out
    assert (tmp_path / "all" / "account-1-USDT.html").read_text().startswith("<!DOCTYPE html>")
    assert (figures["start_ms"], figures["end_ms"]) == (2000, 3000)  # from the first fill to the last row
    assert figures["equity"] == [
        [2000, 999_970_000_000, 999_970_000_000, 30_000_000],  # the fee
        [2500, 1_000_020_000_000, 1_000_020_000_000, 0],  # marked at account 2's 60,050: +0.50
        [3000, 1_000_039_950_000, 1_000_039_950_000, 0],  # sold: +1.00 − 0.3005
    ]
    statistics = figures["statistics"]
    assert isinstance(statistics, dict)
    assert (statistics["trades"], statistics["round_trips"], statistics["wins"]) == (2, 1, 1)
    # bought 0.005 above the mid 59,999.95, sold 0.005 below the mid 60,100.05: 0.0005 + 0.0005 paid
    assert statistics["slippage"]["cost"] == 100_000


def test_its_range_in_iso_8601_or_milliseconds(journal: Path, tmp_path: Path) -> None:
    figures = report(journal, tmp_path / "to", "--from", "1970-01-01T00:00:02", "--to", "2999")
    assert (figures["start_ms"], figures["end_ms"], figures["statistics"]["trades"]) == (2000, 2999, 1)  # type: ignore[index]
    # to the last day a date holds: its quarterlies' next deliveries are in no year (it raised)
    assert report(journal, tmp_path / "last", "--to", "9999-12-31")["end_ms"] == 253_402_214_400_000
    with pytest.raises(SystemExit, match="'yesterday': neither milliseconds since the epoch nor an ISO 8601"):
        main(["report", "--db", str(journal), "--account", "1", "--out", str(tmp_path), "--from", "yesterday"])


def test_nothing_to_report(journal: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="account 7 has no fill and no income"):
        main(["report", "--db", str(journal), "--account", "7", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="no database"):
        main(["report", "--db", str(tmp_path / "none.db"), "--account", "1", "--out", str(tmp_path)])


def test_a_range_after_every_row_or_an_asset_never_held_is_refused(journal: Path, tmp_path: Path) -> None:
    """A year mistyped, a range before everything or an asset the account never held would
    make a flat or a zero report that says nothing: it is refused, naming what the account has."""
    argv = ["report", "--db", str(journal), "--account", "1", "--out", str(tmp_path)]
    with pytest.raises(SystemExit, match=r"no row from 2099-01-01T00:00:00.000\+00:00: its last is at 1970"):
        main([*argv, "--from", "2099-01-01"])
    with pytest.raises(SystemExit, match="account 1 has no row in 'ZZZ': its rows are in USDT"):
        main([*argv, "--asset", "ZZZ"])
    # a range ending before its first row: what the range holds, not that the account has nothing
    with pytest.raises(SystemExit, match=r"account 1 has no row up to 1970-01-01T00:00:00.500\+00:00: its first is at 1970"):
        main([*argv, "--to", "500"])
    assert not list(tmp_path.glob("account-*"))  # nothing written
    assert report(journal, tmp_path / "usdt", "--asset", "USDT", "--from", "3000")["start_ms"] == 3000
