"""A margin check weighs the operator's deposits as the server's view of the accounts database
holds them (``Keyring``): the engine sums an account's balances once for each set the view
hands out (``EngineState.deposited``), and a deposit or a withdrawal made beside the server
counts from the view's next look, never later."""

from __future__ import annotations

from pathlib import Path

from test_engine import NOW, Book, Kept, order, refusal

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.order_entry import new_order

# 0.100 BTC at 59000 at the default 20x: 295 USDT of initial margin (decision 7)
LARGE = order(quantity="0.100", price="59000")


def test_a_margin_check_counts_the_operators_deposit_and_withdrawal_from_the_next_look(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    alice = store.create_account("alice", [(Market.UM, "USDT", parse_amount("100"))], 1).account_id
    keyring = Keyring(path)
    keyring.refresh()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), keyring, Kept())
    assert refusal(new_order, engine, alice, LARGE, NOW)[0] == -2019
    store.deposit(alice, Market.UM, "USDT", parse_amount("1000"), NOW)
    assert refusal(new_order, engine, alice, LARGE, NOW)[0] == -2019  # the view holds still until it looks
    keyring.refresh()
    assert new_order(engine, alice, LARGE, NOW).order is not None
    assert engine.deposited(alice, "USDT") == parse_amount("1100")
    store.deposit(alice, Market.UM, "USDT", -parse_amount("1000"), NOW)
    keyring.refresh()
    assert engine.deposited(alice, "USDT") == parse_amount("100")  # 295 of it held by the order
    assert refusal(new_order, engine, alice, order(quantity="0.002", price="59000"), NOW)[0] == -2019
    # a balance of the other wallet is not this market's
    store.deposit(alice, Market.CM, "BTC", parse_amount("1"), NOW)
    keyring.refresh()
    assert engine.deposited(alice, "USDT") == parse_amount("100") and engine.deposited(alice, "BTC") == 0
    keyring.close()


def test_the_balances_handed_out_are_never_changed_after(tmp_path: Path) -> None:
    """What the engine's sums rest on (``state.Deposits``): a look that reads a change hands
    out a new set, and leaves the one handed out before as it was."""
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    alice = store.create_account("alice", [(Market.UM, "USDT", 7)], 1).account_id
    keyring = Keyring(path)
    keyring.refresh()
    before = keyring.balances(alice)
    assert keyring.balances(alice) is before  # the same set while nothing changed
    store.deposit(alice, Market.UM, "USDT", 3, NOW)
    keyring.refresh()
    after = keyring.balances(alice)
    assert after is not before and [b.amount for b in before] == [7] and [b.amount for b in after] == [10]
    assert isinstance(after, tuple)
    keyring.close()
