"""Part 4 §4.3's order (a fill's ``TRADE_LITE`` before its command's first order or account
event) is each command's, though one drain of the user data stream takes what several
commands did (one turn of the loop: the journal's group commit). Before, a ``TRADE_LITE`` of
a later command went before every order and account event of the drain, even before the
``NEW`` of the order it filled, and the stream's ``E`` went back."""

from __future__ import annotations

import json
from pathlib import Path

from test_filled_meanwhile import _venue
from test_reference_oracle import NOW

from tickerplant.clock import ManualClock
from tickerplant.gateway.user_data import UserData
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.commands import NewOrder, Place
from tickerplant.venue.domain.orders import OrderType, Side, TimeInForce


def test_a_drain_of_two_commands_keeps_each_commands_order(tmp_path: Path) -> None:
    engine, _ = _venue()
    store = AccountStore(tmp_path / "venue.db")
    maker, taker = (store.create_account(name, [], NOW).account_id for name in ("maker", "taker"))
    assert (maker, taker) == (1, 2)  # the venue's deposits' accounts
    published: list[StreamMessage] = []
    user_data = UserData(ManualClock(NOW))
    user_data.connect(published.extend, lambda key: None)
    key = user_data.start(maker, NOW)
    inst = engine.instruments["BTCUSDT"]
    ask = min(engine.data.levels("BTCUSDT", False))[0] - inst.tick  # the best ask alone
    sell = NewOrder(inst, Side.SELL, OrderType.LIMIT, TimeInForce.GTC, ask, 2, False, None, True, 0, "NONE", "NONE")
    buy = NewOrder(inst, Side.BUY, OrderType.LIMIT, TimeInForce.IOC, ask, 2, False, None, True, 0, "NONE", "NONE")
    engine.apply(Place(maker, sell), NOW)
    engine.apply(Place(taker, buy), NOW + 1)  # before the stream's drain: one drain for both
    keys = Keyring(tmp_path / "venue.db")  # the server's view of the accounts, as it has read them
    keys.refresh()
    assert user_data.drain(engine, keys, NOW + 1) == 4
    events = [json.loads(m.payload) for m in published if m.stream == key]
    seen = [(e["e"], e.get("o", {}).get("x"), e["E"]) for e in events]
    assert seen == [
        ("ORDER_TRADE_UPDATE", "NEW", NOW),  # the first command's
        ("TRADE_LITE", None, NOW + 1), ("ACCOUNT_UPDATE", None, NOW + 1), ("ORDER_TRADE_UPDATE", "TRADE", NOW + 1),
    ]  # fmt: skip
    store.close()
