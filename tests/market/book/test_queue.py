"""The queue models (``market/book/queue.py``) against examples worked by hand from
hftbacktest's ``hftbacktest/src/backtest/models/queue.rs`` formulas, then properties over
any sequence of trades and depth changes: ``0 <= ahead <= level``, an order never fills
more than its quantity, and the risk-averse model never fills before a probability model."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.book.queue import (
    DEFAULT_QUEUE_MODEL,
    QUEUE_MODELS,
    RISK_AVERSE,
    Filled,
    Position,
    PowerProb,
    queue_model,
)


def test_arriving_joins_the_back_or_a_restored_place_at_most_the_level() -> None:
    for model in QUEUE_MODELS.values():
        assert model.arrive(1000) == Position(1000, 0)
        assert model.arrive(1000, 400) == Position(400, 0)
        assert model.arrive(300, 400) == Position(300, 0), "at most the level"


def test_a_trade_at_its_price_uses_up_what_is_ahead_then_fills_it() -> None:
    for model in QUEUE_MODELS.values():
        # 1.000 ahead, a trade of 0.300: 0.700 ahead, nothing filled; 0.300 counted as traded
        assert model.trade(Position(1000), 300, 500) == Filled(Position(700, 300), 0)
        # then 0.900: 0.700 ahead used, 0.200 of its 0.500 filled
        assert model.trade(Position(700, 300), 900, 500) == Filled(Position(0, 1200), 200)
        # a trade bigger than all ahead and all of it: at most what is left of it
        assert model.trade(Position(100), 900, 500) == Filled(Position(0, 900), 500)
        assert model.through(Position(700, 300), 500) == Filled(Position(0, 300), 500)


def test_risk_averse_a_decrease_never_advances_it_but_clamps_it_to_the_level() -> None:
    # RiskAdverseQueueModel.depth: front_q_qty = min(front_q_qty, new_qty)
    assert RISK_AVERSE.depth(Position(700), 1000, 800) == Position(700)
    assert RISK_AVERSE.depth(Position(700), 1000, 500) == Position(500)
    assert RISK_AVERSE.depth(Position(700, 200), 1000, 1500) == Position(700), "traded restarts"
    assert QUEUE_MODELS[DEFAULT_QUEUE_MODEL] is RISK_AVERSE


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # front 600, back 1000 - 600 = 400, chg 1000 - 700 = 300; est = 600 - (1-p)·300 + min(0, 400 - p·300)
        ("power-prob-1", 420),  # p = 400 / (400 + 600) = 0.4: 600 - 180 + min(0, 280) = 420
        ("power-prob-2", 393),  # p = 400² / (400² + 600²) = 4/13: 600 - 2700/13 = 392.3 -> 393
        ("power-prob2-2", 348),  # p = 400² / 1000² = 0.16: 600 - 252 = 348
        ("power-prob3-2", 492),  # p = 1 - (600/1000)² = 0.64: 600 - 108 = 492
        ("log-prob", 446),  # p = ln 401 / (ln 401 + ln 601) = 0.48367: 445.10 -> 446
        ("log-prob2", 561),  # p = ln 401 / ln 1001 = 0.86759: 560.28 -> 561
    ],
)
def test_probability_models_split_a_decrease_as_hftbacktest_does(name: str, expected: int) -> None:
    model = queue_model(name)
    assert model.depth(Position(600), 1000, 700) == Position(expected)


def test_a_probability_model_subtracts_what_traded_since_the_level_was_read() -> None:
    model = queue_model("power-prob-2")
    at = model.arrive(1000)
    at = model.depth(at, 1000, 3000)  # an increase: behind it, nothing moves
    assert at == Position(1000)
    at, filled = model.trade(at, 200, 500)  # 0.200 traded at its price: 0.800 ahead
    assert (at, filled) == (Position(800, 200), 0)
    # the level shows 2.300: 0.700 less, of which the trade's 0.200; chg 0.500, back 2.200
    # p = 2200² / (2200² + 800²) = 121/137; est = 800 - (16/137)·500 = 741.6 -> 742
    assert model.depth(at, 3000, 2300) == Position(742, 0)
    # the same decrease all explained by trades: no cancel to split, a clamp only
    assert model.depth(Position(800, 700), 3000, 2300) == Position(800, 0)


def test_more_cancelled_behind_than_is_behind_leaves_it_at_the_level() -> None:
    # front 100, back 900, 1.000 -> 0.050 with n = 3: p·chg > back, est = prev - chg = new
    model = queue_model("power-prob-3")
    p = Fraction(900**3, 900**3 + 100**3)
    assert 900 - p * 950 < 0
    assert model.depth(Position(100), 1000, 50) == Position(50)


def test_nothing_ahead_stays_nothing_ahead_and_names_are_checked() -> None:
    for model in QUEUE_MODELS.values():
        assert model.depth(Position(0), 1000, 10) == Position(0)
        assert model.depth(Position(0), 0, 0) == Position(0)
    with pytest.raises(ValueError, match="no queue model 'fifo': one of risk-averse, log-prob"):
        queue_model("fifo")
    with pytest.raises(ValueError):
        PowerProb("power-prob-0", 0)


# -- properties ------------------------------------------------------------------------------

_event = st.one_of(
    st.tuples(st.just("trade"), st.integers(0, 3000)),
    st.tuples(st.just("depth"), st.integers(0, 3000)),
    st.tuples(st.just("through"), st.just(0)),
)


@given(st.integers(0, 3000), st.integers(1, 2000), st.lists(_event, max_size=40))
def test_any_sequence_keeps_the_place_in_the_level_and_the_fills_in_the_order(
    level: int, qty: int, events: list[tuple[str, int]]
) -> None:
    models = list(QUEUE_MODELS.values())
    at = {model.name: model.arrive(level) for model in models}
    filled = dict.fromkeys(at, 0)
    for kind, value in events:
        for model in models:
            name, left = model.name, qty - filled[model.name]
            if kind == "depth":
                at[name] = model.depth(at[name], level, value)
            elif left:
                moved = (
                    model.trade(at[name], value, left) if kind == "trade" else model.through(at[name], left)
                )
                at[name] = moved.position
                filled[name] += moved.qty
        if kind == "depth":
            level = value
        for name, position in at.items():
            assert 0 <= position.ahead <= level, name
            assert 0 <= filled[name] <= qty, name
        safe = filled[RISK_AVERSE.name]
        for name in at:  # the risk-averse model never fills earlier, nor stands nearer the front
            assert filled[name] >= safe, name
            assert at[name].ahead <= at[RISK_AVERSE.name].ahead or filled[name] == qty, name
