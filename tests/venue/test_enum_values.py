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
from tickerplant.venue.domain.algo_params import parse_new_algo
from tickerplant.venue.domain.order_params import parse_new_order
from tickerplant.venue.wire.account_reads import force_orders, income
from tickerplant.venue.wire.margin_routes import move_margin
from tickerplant.venue.wire.settings_routes import set_dual_side, set_margin_type


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


@pytest.mark.parametrize(("hedge", "value"), [(False, "both"), (False, "Both"), (True, "long"), (True, "Short")])
def test_position_margin_takes_position_sides_as_listed(engine: Engine, hedge: bool, value: str) -> None:
    """Part 3 §4.8's -4060, as an order's ``positionSide`` in another case (part 2 §9)."""
    symbol = "BTCUSDT" if engine.market is Market.UM else "BTCUSD_PERP"
    set_margin_type(engine, ALICE, symbol, "ISOLATED")
    if hedge:
        set_dual_side(engine, ALICE, hedge)
    moved = reads(symbol=symbol, amount="1", type="1", positionSide=value)
    assert refusal(move_margin, engine, moved, NOW) == (-4060, "Invalid position side.")
    # as written, it reaches the account: no position to add margin to
    moved = reads(symbol=symbol, amount="1", type="1", positionSide=value.upper())
    assert refusal(move_margin, engine, moved, NOW) == (-4054, "Cannot add position margin: position is 0.")


_LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "quantity": "0.010",
          "price": "59000.00"}  # fmt: skip
_STOP = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
         "quantity": "0.010", "triggerprice": "59000.00"}  # fmt: skip
_ORDER_ENUMS = [  # (name, a listed value in another case, Binance's refusal: part 2 §3.1, §4.2)
    ("side", "buy", (-1117, "Invalid side.")),
    ("type", "limit", (-1116, "Invalid orderType.")),
    ("timeinforce", "gtc", (-1115, "Invalid timeInForce.")),
    ("positionside", "both", (-4060, "Invalid position side.")),
    ("neworderresptype", "result", (-1136, "Invalid newOrderRespType.")),
    ("workingtype", "mark_price", (-4031, "Invalid parameter working type")),
    ("pricematch", "queue", (-5037, "Invalid price match")),
    ("selftradepreventionmode", "expire_taker", (-5039, "Invalid self trade prevention mode")),
]


@pytest.mark.parametrize(("name", "value", "refused"), _ORDER_ENUMS)
def test_an_orders_enum_values_are_taken_as_listed(name: str, value: str, refused: tuple[int, str]) -> None:
    """Every ENUM of a new order and an algo order (REST, batches and the WebSocket API read
    them with these parsers) refuses a listed value in another case, as an unknown one."""
    instruments = {i.symbol: i for i in catalogue(Market.UM, NOW)}
    assert refusal(parse_new_order, _LIMIT | {name: value}, instruments, NOW, False) == refused
    algo = (-1116, "Invalid orderType.") if name == "type" else refused
    assert refusal(parse_new_algo, _STOP | {name: value}, instruments, NOW, False) == algo
    assert refusal(parse_new_algo, _STOP | {"algotype": "conditional"}, instruments, NOW, False) == (
        -1116, "Invalid algoType.")  # fmt: skip
