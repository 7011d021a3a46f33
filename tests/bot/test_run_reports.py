"""``tickerplant run``'s reports (docs/run.md, docs/report.md): one per account and margin
asset it traded in the run, so an account that traded USDⓈ-M and COIN-M has both (it had the
report of the asset most of its fills settled in, the other's trading left out unsaid)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from tickerplant.bot.run import _reports
from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.journal.group_commit import Stamped
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.order_entry import new_order

T0 = 1_790_000_000_000
LEVELS = {"BTCUSDT": (6_000_000, 1_000), "BTCUSD_PERP": (600_000, 1_000)}  # 60000: price, quantity units


class _Book:
    """Each symbol's ask and bid one tick apart at 60000, deep; its mark there."""

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        price, qty = LEVELS[symbol]
        return iter([(price - 1 if bids else price, qty * 100)])

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        return next((q for p, q in self.levels(symbol, bids) if p == price), 0)

    def mark(self, symbol: str) -> Fraction | None:
        return Fraction(60_000)

    def book_id(self, symbol: str) -> int | None:
        return None

    def halted(self, symbol: str) -> bool:
        return False


def test_a_run_reports_each_margin_asset_an_account_traded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    balances = [(Market.UM, "USDT", parse_amount("10000")), (Market.CM, "BTC", parse_amount("1"))]
    ann = store.create_account("ann", balances, T0 - 1).account_id
    journal = SqliteJournal(path)
    for market, symbol, qty in ((Market.UM, "BTCUSDT", "0.010"), (Market.CM, "BTCUSD_PERP", "2")):
        engine = Engine(market, catalogue(market, T0), _Book(), store, Stamped(journal, market.value))  # type: ignore[arg-type]
        placed = new_order(engine, ann, {"symbol": symbol, "side": "BUY", "type": "MARKET", "quantity": qty}, T0 + 10)
        assert placed.order is not None and placed.order.executed_qty > 0
    journal.close()
    store.close()
    listed = [*catalogue(Market.UM, T0), *catalogue(Market.CM, T0)]
    _reports(str(path), T0, T0 + 60_000, listed, [], tmp_path / "out")
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [f"account-{ann}-{a}.{x}" for a in ("BTC", "USDT") for x in ("html", "json")]
    told = capsys.readouterr()
    assert f"account-{ann}-BTC.html" in told.out + told.err and f"account-{ann}-USDT.html" in told.out + told.err
