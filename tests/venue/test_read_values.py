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
from tickerplant.venue.wire.account_reads import force_orders, income


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


@pytest.mark.parametrize("value", ["funding_fee", "Commission", "FUNDING", "COMMISSION,TRANSFER", "PNL"])
def test_income_takes_income_types_as_listed(engine: Engine, value: str) -> None:
    assert refusal(income, engine, reads(incomeType=value), NOW) == not_valid("incomeType")


def test_income_answers_every_type_the_venue_writes_and_none() -> None:
    """The flows the venue records (``clearing/``, fills), each a type of its market's list."""
    for market, kinds in (
        (Market.UM, ("REALIZED_PNL", "COMMISSION", "FUNDING_FEE", "INSURANCE_CLEAR", "TRANSFER", "AUTO_EXCHANGE")),
        (Market.CM, ("REALIZED_PNL", "COMMISSION", "FUNDING_FEE", "INSURANCE_CLEAR", "TRANSFER")),
    ):  # fmt: skip
        engine = Engine(market, catalogue(market, NOW), Book(), Deposits(), Kept())
        for params in ({}, {"incomeType": ""}, *({"incomeType": kind} for kind in kinds)):
            assert income(engine, reads(**params), NOW) == [], (market, params)


def test_coin_m_income_takes_only_its_own_types(engine: Engine) -> None:
    """COIN-M's list is its SDK's seven (part 3 §4.11): USDⓈ-M's Multi-Assets exchange is not one."""
    if engine.market is Market.CM:
        assert refusal(income, engine, reads(incomeType="AUTO_EXCHANGE"), NOW) == not_valid("incomeType")
    else:
        assert income(engine, reads(incomeType="AUTO_EXCHANGE"), NOW) == []
