"""The ENUM values the account's reads and isolated margin's endpoints take, without sockets:
each as listed (part 2 §6.9, part 3 §4.8, §4.11), another one, or one in another case,
refused with Binance's code, as an order's side or type is; what is listed still answers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from test_engine import ALICE, NOW, Book, Deposits, Kept, book, journal, refusal  # noqa: F401

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.wire.account_reads import force_orders


def not_valid(name: str) -> tuple[int, str]:
    return -1130, f"Data sent for parameter '{name}' is not valid."


@pytest.fixture(params=[Market.UM, Market.CM], ids=["um", "cm"])
def engine(request: pytest.FixtureRequest, book: Book, journal: Kept) -> Engine:  # noqa: F811
    market: Market = request.param
    return Engine(market, catalogue(market, NOW), book, Deposits(), journal)


def reads(**params: str) -> Any:
    """An authorized request's parameters, by lower-case name as ``checks.parameters`` keys them."""
    return SimpleNamespace(account=SimpleNamespace(account_id=ALICE), params={k.lower(): v for k, v in params.items()})


@pytest.mark.parametrize("value", ["adl", "Liquidation", "BOTH", "LIQUIDATION,ADL", " ADL"])
def test_force_orders_take_auto_close_types_as_listed(engine: Engine, value: str) -> None:
    assert refusal(force_orders, engine, reads(autoCloseType=value), NOW) == not_valid("autoCloseType")


def test_force_orders_answer_each_listed_auto_close_type_and_none(engine: Engine) -> None:
    for params in ({}, {"autoCloseType": ""}, {"autoCloseType": "LIQUIDATION"}, {"autoCloseType": "ADL"}):
        assert force_orders(engine, reads(**params), NOW) == [], params
