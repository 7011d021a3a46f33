"""A balance row's ``updateTime`` (part 3 §4.1: ``0`` for an asset never touched) is when the
asset's wallet last moved: the operator's transfer, or trading (a fill's PnL and commission,
a funding fee: ``ledger/wallet.py``), and it comes back from the journal after a restart."""

from __future__ import annotations

import dataclasses
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


def _times(engine: Engine, held: Deposits | None = None) -> dict[str, int]:
    deposits = (held or Deposits()).balances(ALICE)
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


class _WrittenLater(Deposits):
    """The operator's balance rows written on the wall clock, days after the market's time (a
    replay's: docs/replay.md): the row's time is not the engine's."""

    def __init__(self) -> None:
        super().__init__()
        self.rows = {a: [dataclasses.replace(b, update_ms=NOW + 90 * 86_400_000) for b in rows] for a, rows in self.rows.items()}


def test_a_transfer_told_on_the_engines_clock_is_the_update_time_not_the_rows_wall_time(tmp_path: Path) -> None:
    """A replay's engine tells an account's opening balance as a ``TRANSFER`` at its own time
    (``settle_transfers``); ``updateTime`` is then that time and each later change's, never the
    balance row's wall-clock time, which lies months after the market's (it stood there, and
    hid every fill's time), and so again after a restart (the journal's ``TRANSFER`` row)."""
    path = tmp_path / "venue.db"
    AccountStore(path).close()
    journal = SqliteJournal(path)
    deposits = _WrittenLater()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), deposits, journal)
    told = [(ALICE, "USDT", deposits.rows[ALICE][0].amount)]

    def moved(market: Market) -> list[tuple[int, str, int]]:  # the keyring's, each move once
        taken = told.copy()
        told.clear()
        return taken

    engine.operator_moves = moved
    new_order(engine, ALICE, order(price="50000", quantity="0.010"), NOW - 7)  # a resting buy: no wallet change
    assert _times(engine, deposits) == {"USDT": NOW - 7}  # the transfer, told before the order
    new_order(engine, ALICE, order(type="MARKET", timeinforce="", quantity="0.010"), NOW + 5)
    assert _times(engine, deposits) == {"USDT": NOW + 5}  # the fill's commission
    journal.close()
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), deposits, SqliteJournal(path))
    SqliteJournal(path).load(again)
    assert _times(again, deposits) == {"USDT": NOW + 5}
    wallet_only = tmp_path / "transfer.db"  # a journal holding the transfer alone: its time
    AccountStore(wallet_only).close()
    journal = SqliteJournal(wallet_only)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), deposits, journal)
    engine.operator_moves = moved
    told.append((ALICE, "USDT", deposits.rows[ALICE][0].amount))
    new_order(engine, ALICE, order(price="50000", quantity="0.010"), NOW - 3)
    journal.close()
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), deposits, SqliteJournal(wallet_only))
    SqliteJournal(wallet_only).load(again)
    assert _times(again, deposits) == {"USDT": NOW - 3}
