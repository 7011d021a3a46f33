"""The position a leverage allows (part 3 §6.3, "Placing orders"): an order that would let its
side reach past the bracket's cap, the position and that side's opening orders filled with it,
is refused ``-2027`` before any margin is weighed; one that closes, a reduce-only one and a
raised quantity within the cap pass. BTCUSDT at 125× allows 50,000 USDT; the mark is 60,000."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from functools import partial

from test_engine import ALICE, NOW, Book, Deposits, Kept, order, refusal

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.brackets import (
    _CAPS_KEPT,
    _caps,
    brackets_of,
    caps_of,
    coin_scale,
    max_notional,
)
from tickerplant.venue.wire.order_entry import amend_order, new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_leverage

CAP = (-2027, "Exceeded the maximum allowable position at current leverage.")


def _engine() -> Engine:
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())
    set_leverage(engine, ALICE, "BTCUSDT", 125)
    assert engine.contracts["BTCUSDT"].max_notional(125) == 50_000
    return engine


def test_an_order_past_the_cap_is_refused_with_the_orders_already_resting_counted() -> None:
    engine = _engine()
    place = partial(new_order, engine, ALICE)
    assert refusal(place, order(quantity="0.834", price="59000"), NOW) == CAP  # 50,040 at the mark
    assert place(order(quantity="0.833", price="59000"), NOW).order is not None  # 49,980
    assert refusal(place, order(quantity="0.001", price="59000"), NOW) == CAP  # 50,040 with the resting one
    assert place(order(quantity="0.010", side="SELL", price="61000"), NOW).order is not None  # the other side
    assert refusal(place, order(type="MARKET", timeinforce="", quantity="0.001"), NOW) == CAP


def test_a_position_past_the_cap_can_be_closed_but_not_added_to() -> None:
    book = Book()
    book.asks = [(6_000_000, 900_000)]  # 900 BTC at 60,000
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), Kept())
    set_leverage(engine, ALICE, "BTCUSDT", 125)
    place = partial(new_order, engine, ALICE)
    assert place(order(type="MARKET", timeinforce="", quantity="0.800"), NOW).order is not None  # 48,000
    book.marks["BTCUSDT"] = Fraction(63_000)  # the position is worth 50,400 now: past the cap
    assert refusal(place, order(quantity="0.001", price="59999"), NOW) == CAP
    assert place(order(quantity="0.002", side="SELL", price="64000"), NOW).order is not None  # it only closes
    closing = order(quantity="0.001", side="SELL", price="64000", reduceOnly="true")
    assert place(closing, NOW).order is not None


def test_a_raised_quantity_is_weighed_as_the_order_it_becomes() -> None:
    engine = _engine()
    resting = new_order(engine, ALICE, order(quantity="0.800", price="59000"), NOW).order
    assert resting is not None
    amend = partial(amend_order, engine, ALICE)
    raised = {"symbol": "BTCUSDT", "orderid": str(resting.order_id), "side": "BUY", "price": "59000"}
    assert refusal(amend, raised | {"quantity": "0.834"}, NOW) == CAP
    assert amend(raised | {"quantity": "0.833"}, NOW)[0].orig_qty == 833


def test_hedge_mode_weighs_each_side_apart() -> None:
    engine = _engine()
    set_dual_side(engine, ALICE, True)
    place = partial(new_order, engine, ALICE)
    assert place(order(quantity="0.833", price="59000", positionSide="LONG"), NOW).order is not None
    short = order(quantity="0.833", side="SELL", price="61000", positionSide="SHORT")
    assert place(short, NOW).order is not None  # the short side's own cap
    assert refusal(place, order(quantity="0.001", price="59000", positionSide="LONG"), NOW) == CAP


def test_a_coin_m_pairs_ladder_is_btcs_scaled_to_its_coins_value() -> None:
    """Part 3 §6.2 gives BTCUSD_PERP's ladder alone, in BTC: another pair's is the same
    ladder, its floors and caps BTC's listed price over the coin's listed price times
    (two significant digits), so that a cap is worth the same whatever the coin; a pair the
    catalogue does not list (a relay's) by its initial price; a coin worth more than BTC, BTC's."""
    listed = {inst.symbol: inst for inst in catalogue(Market.CM, NOW)}
    btc = brackets_of(listed["BTCUSD_PERP"])
    assert [(b.initial_leverage, b.floor, b.cap) for b in btc][:3] == [
        (125, 0, 5),
        (100, 5, 10),
        (50, 10, 20),
    ]
    assert brackets_of(listed["BTCUSD_PERP"]) is brackets_of(
        next(i for s, i in listed.items() if s.startswith("BTCUSD_2"))
    )
    for symbol, scale in (("ETHUSD_PERP", 29), ("DOGEUSD_PERP", 640_000), ("LTCUSD_PERP", 1_100)):
        ladder = brackets_of(listed[symbol])
        assert coin_scale(listed[symbol]) == scale
        assert [(b.floor, b.cap, b.mmr) for b in ladder] == [
            (b.floor * scale, b.cap * scale, b.mmr) for b in btc
        ]
        assert [b.cum for b in ladder] == [b.cum * scale for b in btc]  # MM continuous at each floor (§6.1)
    relayed = replace(listed["DOGEUSD_PERP"], base_asset="PEPE", initial_price=123)  # 0.000123 USD
    assert coin_scale(relayed) == 730_000_000  # 90,000 / 0.000123 = 731.7 M
    dearer = replace(listed["ETHUSD_PERP"], base_asset="GOLDX", initial_price=1_000_000_000)  # 10 M USD
    assert coin_scale(dearer) == 1


def test_a_tables_caps_are_its_max_notional_at_each_leverage_made_once_per_table() -> None:
    """``caps_of``: every listed symbol's cap at each leverage is §6.1's ``max_notional``;
    a table's are made once and read again by identity (every engine's start reads them), a
    table equal in value but another object gets its own, and the store forgets all at once
    when full, never growing past its bound."""
    for market in Market:
        for inst in catalogue(market, NOW):
            table = brackets_of(inst)
            caps = caps_of(table)
            assert caps == tuple(max_notional(table, lev) for lev in range(table[0].initial_leverage + 1))
            assert caps_of(table) is caps  # the same table: the same tuple, not made again
    btc = brackets_of(next(i for i in catalogue(Market.UM, NOW) if i.symbol == "BTCUSDT"))
    twin = (*btc[:-1], replace(btc[-1], cap=btc[-1].cap * 2))  # another table, its last cap doubled
    assert caps_of(twin)[1] == 2 * caps_of(btc)[1] and caps_of(twin)[-1] == caps_of(btc)[-1]
    for n in range(3 * _CAPS_KEPT):  # tables made and dropped: the store stays within its bound
        caps_of(tuple(replace(b, cap=b.cap + n) for b in btc))
        assert len(_caps) <= _CAPS_KEPT
