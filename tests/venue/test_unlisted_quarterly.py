"""A quarterly contract past its delivery is no longer listed at a restart (the catalogue
lists the quarters of the clock's time) and the venue does not deliver it (docs/venue.md,
"Quarterly contracts: not delivered"): its positions and open orders in the journal are not
restored, and the start names them in a warning rather than drop them without a word."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import StartServer

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import ContractType, Market
from tickerplant.market.units import DAY_MS
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.order_entry import new_order

T0 = 1_790_000_000_000


async def test_a_delivered_quarterlys_holdings_are_named_at_the_start(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "venue.db"
    store = AccountStore(db)
    account = store.create_account("q", [(Market.CM, "BTC", parse_amount("1"))], T0).account_id
    store.close()
    before = await start_server(clock=ManualClock(T0), venue_db=str(db), simulator={"actions_per_s": 1e-9})
    engine = before.engines[Market.CM]
    quarter = next(i for i in engine.instruments.values() if i.contract_type is ContractType.CURRENT_QUARTER)
    bid = next(engine.data.levels(quarter.symbol, True))[0]
    far = f"{(bid // 2) // quarter.tick * quarter.tick / 10**quarter.price_decimals:.{quarter.price_decimals}f}"
    resting = {"symbol": quarter.symbol, "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "quantity": "1",
               "price": far}  # fmt: skip
    assert new_order(engine, account, resting, T0).order is not None
    bought = new_order(engine, account, {"symbol": quarter.symbol, "side": "BUY", "type": "MARKET", "quantity": "2"}, T0)
    assert bought.order is not None and bought.order.executed_qty == 2
    await before.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, "tickerplant"):
        after = await start_server(
            clock=ManualClock(quarter.delivery_ms + DAY_MS), venue_db=str(db), simulator={"actions_per_s": 1e-9}
        )
    assert quarter.symbol not in after.engines[Market.CM].instruments
    said = [r.getMessage() for r in caplog.records if quarter.symbol in r.getMessage()]
    assert said == [
        f"the journal holds 1 open position(s) and 1 open order(s) on {quarter.symbol}, which is no longer "
        "listed (a quarterly past its delivery, which the venue does not settle): not restored"
    ]
