"""A balance row's ``updateTime`` (part 3 §4.1: ``0`` for an asset never touched) is when the
asset's wallet last moved: the operator's transfer, or trading (a fill's PnL and commission,
a funding fee: ``ledger/wallet.py``), and it comes back from the journal after a restart."""

from __future__ import annotations

from pathlib import Path

import msgspec
from test_engine import ALICE, NOW, Book, Deposits, order
from test_funding_liquidation import funding

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.auth.accounts import Account
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Marks
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.account_payloads import account, balance
from tickerplant.venue.wire.order_entry import new_order

WHO = Account(ALICE, "alice", "a", False, NOW)


def _times(engine: Engine) -> dict[str, int]:
    deposits = Deposits().balances(ALICE)
    rows = msgspec.json.decode(msgspec.json.encode(balance(engine, WHO, deposits, [])))
    assets = msgspec.json.decode(msgspec.json.encode(account(engine, WHO, deposits, [], v2=False)))["assets"]
    assert {r["asset"]: r["updateTime"] for r in assets} == {
        r["asset"]: r["updateTime"] for r in rows
    }  # the account's asset rows say the same
    return {r["asset"]: r["updateTime"] for r in rows if r["updateTime"]}


def test_the_update_time_moves_with_trading_and_comes_back_from_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    AccountStore(path).close()
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    assert _times(engine) == {"USDT": 1}  # the deposit's time; every other asset never touched: 0
    new_order(engine, ALICE, order(type="MARKET", timeinforce="", quantity="0.010"), NOW + 5)
    assert _times(engine) == {"USDT": NOW + 5}  # the fill's commission
    engine.apply(Marks(tuple([funding(NOW + 9, "0.001", "60000")])), NOW + 9)
    assert _times(engine) == {"USDT": NOW + 9}  # the funding fee
    journal.close()
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    SqliteJournal(path).load(again)
    assert _times(again) == {"USDT": NOW + 9}
