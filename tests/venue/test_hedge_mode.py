# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""Hedge mode without sockets (part 2 §3.3 "positionSide / hedge mode", part 3 §4.6): the
engine of ``test_engine`` (asks 60 000 ×1, 60 001 ×2; bids 59 999 ×1, 59 998 ×2; mark
60 000), a LONG and a SHORT of one symbol side by side, each with its own entry, PnL,
margin, funding and liquidation; one mode per account shared by both markets."""

from __future__ import annotations

from fractions import Fraction
from functools import partial

import msgspec
import pytest
from test_engine import ALICE, BOB, NOW, Book, Deposits, Kept, book, journal, order, refusal  # noqa: F401
from test_funding_liquidation import events, funding, mark_to, reads, wallet

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.clearing.liquidation import liquidation_price
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Marks, Trades
from tickerplant.venue.domain.events import ModeChange
from tickerplant.venue.domain.orders import OrderStatus, PositionSide
from tickerplant.venue.ledger.position_modes import PositionModes
from tickerplant.venue.wire.account_payloads import position_risk
from tickerplant.venue.wire.algo_rest import cancel_algo, new_algo
from tickerplant.venue.wire.order_entry import amend_order, cancel_all, new_order
from tickerplant.venue.wire.settings_routes import dual_endpoint, set_dual_side, set_margin_type

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT


@pytest.fixture
def engine(book: Book, journal: Kept) -> Engine:
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    set_dual_side(engine, ALICE, True)
    return engine


def market(side: str, position_side: str, quantity: str) -> dict[str, str]:
    return order(type="MARKET", timeinforce="", side=side, positionside=position_side, quantity=quantity)


def test_a_long_and_a_short_of_one_symbol_are_two_positions(engine: Engine) -> None:
    new_order(engine, ALICE, market("BUY", "LONG", "0.500"), NOW)  # takes 60 000 ×1 … 0.5
    new_order(engine, ALICE, market("SELL", "SHORT", "0.200"), NOW)  # takes 59 999
    ledger = engine.ledger(ALICE)
    assert ledger.position("BTCUSDT", LONG).amt == 500 and ledger.position("BTCUSDT", LONG).entry == 60000
    assert ledger.position("BTCUSDT", SHORT).amt == -200 and ledger.position("BTCUSDT", SHORT).entry == 59999
    assert ledger.position("BTCUSDT").amt == 0  # BOTH: untouched
    # fees: 0.05 % of 30 000 and of 11 999.8
    assert wallet(engine, ALICE) == 10000 - Fraction(15) - Fraction("5.9999")
    f = engine.figures(ALICE, "USDT")
    assert f.position_im == (30000 + 12000) / Fraction(20)  # each side's notional at mark, 20×
    assert f.unrealized == Fraction("-0.2")  # the short, 0.2 × (59 999 − 60 000)
    rows = {r["positionSide"]: r for r in position_risk(engine, ALICE, "BTCUSDT", v3=False)}
    assert [rows[s]["positionAmt"] for s in ("BOTH", "LONG", "SHORT")] == ["0.000", "0.500", "-0.200"]
    assert rows["SHORT"]["unRealizedProfit"] == "-0.20000000" and rows["LONG"]["entryPrice"] == "60000.0"
    v3 = position_risk(engine, ALICE, None, v3=True)  # the sides that hold something
    assert [(r["positionSide"], r["positionAmt"]) for r in v3] == [("LONG", "0.500"), ("SHORT", "-0.200")]


def test_a_closing_order_is_reduce_only_and_realizes_its_sides_pnl(engine: Engine) -> None:
    new_order(engine, ALICE, market("BUY", "LONG", "0.500"), NOW)
    new_order(engine, ALICE, market("SELL", "SHORT", "0.200"), NOW)
    engine.outbox.take()
    closed = new_order(engine, ALICE, market("SELL", "LONG", "0.300"), NOW).order  # at the 59 999 bid
    assert closed is not None and closed.reduce_only and closed.position_side is LONG
    ledger = engine.ledger(ALICE)
    assert ledger.position("BTCUSDT", LONG).amt == 200 and ledger.position("BTCUSDT", SHORT).amt == -200
    fill = engine.fills(ALICE, "BTCUSDT")[-1]
    assert fill.realized_pnl == -30_000_000 and fill.position_side is LONG  # 0.3 × (59 999 − 60 000)
    sent = [p for _, e, p in events(engine) if e == "ORDER_TRADE_UPDATE"]
    assert {(p["o"]["ps"], p["o"]["R"]) for p in sent} == {("LONG", True)}
    # a MARKET closing more than the side holds takes the side only
    rest = new_order(engine, ALICE, market("BUY", "SHORT", "1.000"), NOW).order
    assert rest is not None and rest.executed_qty == 200 and rest.status is OrderStatus.EXPIRED
    assert ledger.position("BTCUSDT", SHORT).amt == 0 and ledger.position("BTCUSDT", LONG).amt == 200


def test_refusals_in_each_mode(engine: Engine, book: Book) -> None:
    side = "Order's position side does not match user's setting."
    assert refusal(partial(new_order, engine), ALICE, market("BUY", "BOTH", "0.001"), NOW) == (-4061, side)
    assert refusal(partial(new_order, engine), ALICE, order(type="MARKET", timeinforce="", quantity="0.001"), NOW)[0] == -4061
    sent = market("SELL", "LONG", "0.001") | {"reduceonly": "false"}  # sent at all (python-binance #947)
    assert refusal(partial(new_order, engine), ALICE, sent, NOW) == (-1106, "Parameter 'reduceOnly' sent when not required.")
    assert refusal(partial(new_order, engine), ALICE, market("SELL", "LONG", "0.001"), NOW) == (
        -2022, "ReduceOnly Order is rejected.")  # fmt: skip
    assert refusal(partial(new_order, engine), BOB, market("BUY", "LONG", "0.001"), NOW) == (-4061, side)  # bob: one-way
    # a closing order is exempt from MIN_NOTIONAL (50), as reduce-only orders are
    new_order(engine, ALICE, market("SELL", "SHORT", "0.010"), NOW)
    small = order(quantity="0.001", price="40000")  # 40 USDT
    assert refusal(partial(new_order, engine), ALICE, small | {"positionside": "LONG"}, NOW)[0] == -4164
    closing = new_order(engine, ALICE, small | {"positionside": "SHORT"}, NOW).order
    assert closing is not None and closing.reduce_only and closing.status is OrderStatus.NEW


def test_resting_closing_orders_never_hold_more_than_the_side(engine: Engine, book: Book) -> None:
    new_order(engine, ALICE, market("BUY", "LONG", "0.500"), NOW)
    first = new_order(engine, ALICE, order(side="SELL", positionside="LONG", quantity="0.300", price="61000"), NOW)
    assert first.order is not None and first.order.reduce_only and first.order.status is OrderStatus.NEW
    too_much = order(side="SELL", positionside="LONG", quantity="0.300", price="62000")  # 0.2 is left
    assert refusal(partial(new_order, engine), ALICE, too_much, NOW)[0] == -2022
    second = new_order(engine, ALICE, too_much | {"quantity": "0.200"}, NOW).order
    assert second is not None and second.status is OrderStatus.NEW
    # the long shrinks by 0.3 through the book: the later closing order can no longer fit, and expires
    new_order(engine, ALICE, market("SELL", "LONG", "0.001") | {"type": "LIMIT", "timeinforce": "IOC",
                 "price": "59999", "quantity": "0.300"}, NOW)  # fmt: skip
    assert engine.ledger(ALICE).position("BTCUSDT", LONG).amt == 200
    assert first.order.status is OrderStatus.EXPIRED  # oldest first: 0.3 > 0.2; the 0.2 still fits
    assert second.status is OrderStatus.NEW
    # closing orders need no margin; an opening one on the other side does (decision 7)
    assert engine.figures(ALICE, "USDT").open_order_im == 0
    new_order(engine, ALICE, order(side="SELL", positionside="SHORT", quantity="0.100", price="61000"), NOW)
    assert engine.figures(ALICE, "USDT").open_order_im == Fraction(6100, 20)  # above the mark: no open loss


def test_the_mode_changes_only_when_flat_and_is_one_for_both_markets(book: Book, journal: Kept) -> None:
    modes = PositionModes()
    um = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal, modes=modes)
    cm = Engine(Market.CM, catalogue(Market.CM, NOW), book, Deposits(), journal, modes=modes)
    assert dual_endpoint(cm, reads(ALICE), NOW) == {"dualSidePosition": False}
    set_dual_side(cm, ALICE, True)  # through COIN-M: USDⓈ-M follows (the CM migration)
    assert um.ledger(ALICE).hedge and dual_endpoint(um, reads(ALICE), NOW) == {"dualSidePosition": True}
    assert journal.batches[-1].modes == [ModeChange(ALICE, hedge=True)]
    assert refusal(set_dual_side, um, ALICE, True) == (-4059, "No need to change position side.")
    new_order(um, ALICE, market("BUY", "LONG", "0.010"), NOW)
    assert refusal(set_dual_side, cm, ALICE, False) == (
        -4068, "Position side cannot be changed if there exists position.")  # fmt: skip
    new_order(um, ALICE, market("SELL", "LONG", "0.010"), NOW)
    new_order(um, ALICE, order(positionside="LONG", quantity="0.010", price="50000"), NOW)
    assert refusal(set_dual_side, cm, ALICE, False) == (
        -4067, "Position side cannot be changed if there exists open orders.")  # fmt: skip
    cancel_all(um, ALICE, "BTCUSDT", NOW)
    set_dual_side(um, ALICE, False)
    assert not cm.ledger(ALICE).hedge and not um.ledger(ALICE).hedge


def test_each_side_pays_its_funding_and_both_sides_share_one_liquidation_price(
    engine: Engine, book: Book
) -> None:
    new_order(engine, ALICE, market("BUY", "LONG", "0.500"), NOW)
    new_order(engine, ALICE, market("SELL", "SHORT", "0.200"), NOW)
    engine.outbox.take()
    before = wallet(engine, ALICE)
    at = NOW + 3_600_000
    engine.apply(Marks(tuple([funding(at, "0.00010000", "60000.00000000")])), at + 5)
    # the long pays 30 000 × 0.0001 = 3, the short receives 12 000 × 0.0001 = 1.2
    assert wallet(engine, ALICE) == before - 3 + Fraction("1.2")
    rows = [r for r in engine.ledger(ALICE).income if r.kind == "FUNDING_FEE"]
    assert sorted(r.amount for r in rows) == [-300_000_000, 120_000_000] and len({r.tran_id for r in rows}) == 2
    # cross: one price for both sides (§7.10), where the net long of 0.3 meets its margin
    long_price = liquidation_price(engine, engine.ledger(ALICE), "BTCUSDT", LONG)
    assert long_price == liquidation_price(engine, engine.ledger(ALICE), "BTCUSDT", SHORT) > 0
    w = Fraction(engine.cross_wallet(engine.ledger(ALICE), "USDT"), 10**8)
    # W + 0.5 (P − 60 000) − 0.2 (P − 59 999) = 0.5 P × 0.004 + 0.2 P × 0.004 (bracket 1, cum 0)
    assert long_price == (w - 30000 + Fraction("11999.8")) / (Fraction("0.0028") - Fraction("0.3"))
    mark_to(engine, book, str(long_price.__ceil__() - 1), at + 10)  # the mark through it
    ledger = engine.ledger(ALICE)
    assert ledger.position("BTCUSDT", LONG).amt == 0 and ledger.position("BTCUSDT", SHORT).amt == 0
    closing = [p["o"] for _, e, p in events(engine) if e == "ORDER_TRADE_UPDATE" and p["o"]["X"] == "FILLED"]
    assert {(o["ps"], o["S"], o["o"]) for o in closing} == {("LONG", "SELL", "LIQUIDATION"),
                                                           ("SHORT", "BUY", "LIQUIDATION")}  # fmt: skip


def aggregate(price: str, qty: str) -> StreamMessage:
    """A public trade whose buyer took (``m`` false): it fills resting sells at or below it."""
    payload = {"e": "aggTrade", "E": NOW, "a": 1, "s": "BTCUSDT", "p": price, "q": qty, "nq": qty,
               "f": 1, "l": 1, "T": NOW + 1, "m": False}  # fmt: skip
    return StreamMessage("btcusdt@aggTrade", msgspec.json.encode(payload))


def test_a_take_profit_that_closes_its_whole_side_fills(engine: Engine, journal: Kept) -> None:
    new_order(engine, ALICE, market("BUY", "LONG", "0.100"), NOW)
    tp = new_order(engine, ALICE, order(side="SELL", positionside="LONG", quantity="0.100", price="61000"), NOW).order
    assert tp is not None
    engine.apply(Trades(tuple([aggregate("61001.00", "0.100")])), NOW + 1)  # takes it as maker, the side's last
    assert tp.status is OrderStatus.FILLED and engine.ledger(ALICE).position("BTCUSDT", LONG).amt == 0
    assert journal.batches[-1].orders[-1].status is OrderStatus.FILLED  # journaled, whole


def test_a_one_way_reduce_only_order_expired_by_a_fill_is_not_filled_by_the_same_trade(
    book: Book, journal: Kept
) -> None:
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    new_order(engine, ALICE, order(type="MARKET", timeinforce="", quantity="0.100"), NOW)  # long 0.1
    plain = new_order(engine, ALICE, order(side="SELL", quantity="0.100", price="61000"), NOW).order
    reducing = new_order(engine, ALICE, order(side="SELL", quantity="0.100", price="61000", reduceonly="true"), NOW)
    engine.apply(Trades(tuple([aggregate("61001.00", "1.000")])), NOW + 1)  # the plain sell flattens the long first
    assert plain is not None and plain.status is OrderStatus.FILLED
    assert reducing.order is not None and reducing.order.status is OrderStatus.EXPIRED
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 0  # never flipped short
    # its event's expiry reason: knocked out, as reversed positions would be opened (part 4 §3.1)
    expired = [p["o"] for _, e, p in events(engine) if e == "ORDER_TRADE_UPDATE" and p["o"]["X"] == "EXPIRED"]
    assert [(o["i"], o["R"], o["er"]) for o in expired] == [(reducing.order.order_id, True, "4")]


def test_a_modification_cannot_raise_a_closing_order_past_its_side(engine: Engine) -> None:
    new_order(engine, ALICE, market("BUY", "LONG", "0.100"), NOW)
    tp = new_order(engine, ALICE, order(side="SELL", positionside="LONG", quantity="0.100", price="61000"), NOW).order
    assert tp is not None
    params = {"symbol": "BTCUSDT", "orderid": str(tp.order_id), "side": "SELL", "quantity": "0.500",
              "price": "59998"}  # fmt: skip
    assert refusal(amend_order, engine, ALICE, params, NOW) == (-2022, "ReduceOnly Order is rejected.")
    assert engine.ledger(ALICE).position("BTCUSDT", LONG).amt == 100 and tp.status is OrderStatus.NEW


def test_open_algo_orders_hold_the_mode_and_openings_on_both_sides_add_up(book: Book, journal: Kept) -> None:
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    stop = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
            "quantity": "0.010", "triggerprice": "61000", "workingtype": "MARK_PRICE"}  # fmt: skip
    placed, _ = new_algo(engine, ALICE, stop, NOW)
    assert refusal(set_dual_side, engine, ALICE, True)[0] == -4067  # its child would not match the mode
    cancel_algo(engine, ALICE, {"symbol": "BTCUSDT", "algoid": str(placed.algo_id)}, NOW)
    set_dual_side(engine, ALICE, True)
    new_order(engine, ALICE, order(positionside="LONG", quantity="0.100", price="59000"), NOW)
    new_order(engine, ALICE, order(side="SELL", positionside="SHORT", quantity="0.100", price="61000"), NOW)
    # both may fill, into two positions: their margins add up (5 900 / 20 + 6 100 / 20)
    assert engine.figures(ALICE, "USDT").open_order_im == Fraction(5900 + 6100, 20)


def test_a_margin_type_change_in_hedge_mode_shows_every_side_and_no_balance(engine: Engine) -> None:
    engine.outbox.take()
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED", NOW)
    (update,) = [payload for _, kind, payload in events(engine) if kind == "ACCOUNT_UPDATE"]
    rows = update["a"]["P"]
    assert update["a"]["m"] == "MARGIN_TYPE_CHANGE"
    assert [(r["s"], r["ps"], r["pa"], r["mt"], r["iw"]) for r in rows] == [
        ("BTCUSDT", "BOTH", "0", "isolated", "0.00000000"), ("BTCUSDT", "LONG", "0", "isolated", "0.00000000"),
        ("BTCUSDT", "SHORT", "0", "isolated", "0.00000000"),
    ]  # part 4 §4.3 item 6: "that symbol's positions"; §3.4: the BOTH entry and the changed ones
    assert update["a"]["B"] == []  # §3.4: "only changed assets are in B", and no balance moved


def test_a_fill_in_hedge_mode_shows_both_its_side_and_an_initialized_isolated_side(engine: Engine) -> None:
    """Part 4 §3.4's push rules: "P carries that symbol's BOTH entry, plus the changed LONG/SHORT
    entry, plus any 'initialized' isolated LONG/SHORT entry", in the documented example's
    order; a cross side not changed is not shown."""
    engine.outbox.take()
    new_order(engine, ALICE, market("BUY", "LONG", "0.500"), NOW)
    (update,) = [p for _, e, p in events(engine) if e == "ACCOUNT_UPDATE"]
    assert [(r["ps"], r["pa"], r["mt"]) for r in update["a"]["P"]] == [("BOTH", "0", "cross"), ("LONG", "0.5", "cross")]
    new_order(engine, ALICE, market("SELL", "SHORT", "0.200"), NOW)
    (update,) = [p for _, e, p in events(engine) if e == "ACCOUNT_UPDATE"]
    assert [r["ps"] for r in update["a"]["P"]] == ["BOTH", "SHORT"]  # the cross LONG was not changed


def test_an_isolated_side_not_changed_is_shown_once_initialized(engine: Engine) -> None:
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED", NOW)
    new_order(engine, ALICE, market("BUY", "LONG", "0.500"), NOW)
    engine.outbox.take()
    new_order(engine, ALICE, market("SELL", "SHORT", "0.200"), NOW)
    (update,) = [p for _, e, p in events(engine) if e == "ACCOUNT_UPDATE"]
    rows = [(r["ps"], r["pa"], r["mt"]) for r in update["a"]["P"]]
    assert rows == [("BOTH", "0", "isolated"), ("LONG", "0.5", "isolated"), ("SHORT", "-0.2", "isolated")]
    long_row = update["a"]["P"][1]  # the isolated LONG, initialized, as it stands beside the SHORT that changed
    assert long_row["iw"] != "0.00000000" and long_row["ep"] != "0"  # as it stands, not flat
