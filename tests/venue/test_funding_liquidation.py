# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""Funding, margin calls and liquidation without sockets: the engine of ``test_engine``
(a book and a mark by hand), the market's internal notes fed to ``venue.watch`` as the
server feeds them after the engine, time as an argument. Figures by hand from part 3
§7.12 (worked example A: 10 000 USDT, 0.5 BTC bought at 60 000, taker 0.05 %)."""

from __future__ import annotations

import json
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from test_engine import ALICE, BOB, NOW, Book, Deposits, Kept, book, journal, order  # noqa: F401

from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.clearing.funding import FUNDING_LATE_MS
from tickerplant.venue.clearing.liquidation import liquidation_price
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Marks
from tickerplant.venue.domain.events import Income
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.userstream.user_events import written
from tickerplant.venue.wire.account_payloads import position_risk
from tickerplant.venue.wire.account_reads import force_orders, income
from tickerplant.venue.wire.order_entry import new_order

MARK = "btcusdt@markState"


@pytest.fixture
def engine(book: Book, journal: Kept) -> Engine:
    return Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)


def funding(time_ms: int, rate: str, mark: str, told_ms: int | None = None) -> StreamMessage:
    """The note of a funding at ``time_ms``, told at ``told_ms`` (by default at its time)."""
    event = FundingEvent("BTCUSDT", time_ms, rate, mark, time_ms if told_ms is None else told_ms)
    return StreamMessage("btcusdt@fundingEvent", msgspec.json.encode(event))


def mark_to(engine: Engine, book: Book, price: str, now_ms: int) -> None:
    book.marks["BTCUSDT"] = Fraction(price)  # the view has it before the engine hears of it
    engine.apply(Marks(tuple([StreamMessage(MARK, b"{}")])), now_ms)


def events(engine: Engine) -> list[tuple[int, str, Any]]:
    return [(a, e, json.loads(p)) for a, e, p in written(engine, engine.outbox.take(), lambda _: "")]


def wallet(engine: Engine, account: int) -> Fraction:
    return Fraction(engine.figures(account, "USDT").wallet, 10**8)


def reads(account: int, **params: str) -> Any:
    return SimpleNamespace(account=SimpleNamespace(account_id=account), params=params)


def long_half_btc(engine: Engine) -> None:
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500", timeinforce=""), NOW)
    assert wallet(engine, ALICE) == 9985  # 15 commission (§7.12)


def test_funding_charges_longs_and_pays_shorts_at_the_published_mark(engine: Engine, journal: Kept) -> None:
    long_half_btc(engine)
    new_order(engine, BOB, order(side="SELL", quantity="0.001", price="59999"), NOW)  # takes the 59 999 bid
    bob_before = wallet(engine, BOB)
    engine.outbox.take()
    commits = len(journal.batches)
    at = NOW + 3_600_000
    engine.apply(Marks(tuple([funding(at, "0.00010000", "61000.00000000", at + 5)])), at + 5)
    # §7.12: the long pays 30 500 × 0.0001 = 3.05; the short receives 0.001 × 61 000 × 0.0001
    assert wallet(engine, ALICE) == Fraction("9981.95")
    assert wallet(engine, BOB) == bob_before + Fraction("0.0061")
    batch = journal.batches[commits]
    assert len(journal.batches) == commits + 1
    assert batch.changes == [(ALICE, "USDT", -305_000_000, at), (BOB, "USDT", 610_000, at)]
    assert [(i.kind, i.amount, i.time_ms) for i in batch.incomes] == [
        ("FUNDING_FEE", -305_000_000, at), ("FUNDING_FEE", 610_000, at)]  # fmt: skip
    (a, e, alice), (b, _, bob) = events(engine)
    assert (a, e, b) == (ALICE, "ACCOUNT_UPDATE", BOB)
    assert alice == {
        "e": "ACCOUNT_UPDATE", "T": at + 5, "E": at + 5,
        "a": {"B": [{"a": "USDT", "wb": "9981.95000000", "cw": "9981.95000000", "bc": "-3.05"}], "P": [],
              "m": "FUNDING_FEE", "S": "BTCUSDT"},
    }  # fmt: skip
    assert list(alice) == ["e", "T", "E", "a"] and list(alice["a"]) == ["B", "P", "m", "S"]
    assert bob["a"]["B"][0]["bc"] == "0.0061"
    rows = income(engine, reads(ALICE, incometype="FUNDING_FEE"), at + 10)  # type: ignore[arg-type]
    assert rows == [{
        "symbol": "BTCUSDT", "incomeType": "FUNDING_FEE", "income": "-3.05000000", "asset": "USDT",
        "info": "FUNDING_FEE", "time": at, "tranId": rows[0]["tranId"], "tradeId": "",
    }]  # fmt: skip
    every = income(engine, reads(ALICE), at + 10)  # type: ignore[arg-type]
    assert [r["incomeType"] for r in every] == ["COMMISSION", "FUNDING_FEE"]
    # the same funding again (a restart's history), or one over a minute old: not charged
    engine.apply(Marks(tuple([funding(at, "0.00010000", "61000.00000000", at + 6)])), at + 6)
    engine.apply(Marks(tuple([funding(at - 3_600_000, "0.00010000", "61000.00000000", at + 7)])), at + 7)
    assert wallet(engine, ALICE) == Fraction("9981.95") and len(journal.batches) == commits + 1


def test_a_funding_is_late_by_the_sources_clock_never_by_the_venues(engine: Engine) -> None:
    """Lateness is the time the source told of a funding (``E``) against the funding's time
    (``T``), both on the source's clock: a relay's upstream's may be hours from the venue's."""
    long_half_btc(engine)
    t1 = NOW + 3_600_000
    t2, t3 = t1 + 8 * 3_600_000, t1 + 16 * 3_600_000
    # told a second after it, the venue's clock five hours later: charged
    engine.apply(Marks(tuple([funding(t1, "0.00010000", "61000.00000000", t1 + 1000)])), t1 + 5 * 3_600_000)
    assert wallet(engine, ALICE) == Fraction("9981.95")
    # told at the bound after it, the venue's clock three hours before it: charged
    engine.apply(Marks(tuple([funding(t2, "0.00010000", "61000.00000000", t2 + FUNDING_LATE_MS)])), t2 - 3 * 3_600_000)
    assert wallet(engine, ALICE) == Fraction("9978.90")
    # told past the bound, however on time the venue's clock finds it: history, not settled
    engine.apply(Marks(tuple([funding(t3, "0.00010000", "61000.00000000", t3 + FUNDING_LATE_MS + 1)])), t3 + 5)
    assert wallet(engine, ALICE) == Fraction("9978.90") and engine.exposure.funded_ms == {"BTCUSDT": t2}


def test_coin_m_funding_is_paid_in_the_coin() -> None:
    # §7.13: 100 BTCUSD_PERP contracts long, mark 52 000, rate +0.0001 -> 0.00001923 BTC
    class CoinBook(Book):
        def levels(self, symbol: str, bids: bool) -> Any:
            ask = 50_000 * 10 ** catalogue(Market.CM, NOW)[0].price_decimals
            return iter([] if bids else [(ask, 1000)]) if symbol == "BTCUSD_PERP" else iter(())

        def mark(self, symbol: str) -> Fraction | None:
            return Fraction(50000)

    deposits = Deposits()
    deposits.rows[ALICE] = [Balance(ALICE, Market.CM, "BTC", parse_amount("1"), 1)]
    engine = Engine(Market.CM, catalogue(Market.CM, NOW), CoinBook(), deposits, Kept())
    new_order(engine, ALICE, {"symbol": "BTCUSD_PERP", "side": "BUY", "type": "MARKET", "quantity": "100"}, NOW)
    assert engine.figures(ALICE, "BTC").wallet == 99_990_000  # 0.2 BTC × 0.0005 = 0.0001
    # §7.13: 100 × 100 × (0.004 + 1) / (0.9999 + 100 × 100 / 50 000) = 8 367.36…
    price = liquidation_price(engine, engine.ledger(ALICE), "BTCUSD_PERP")
    assert price == Fraction(100 * 100 * Fraction("1.004")) / (Fraction("0.9999") + Fraction(100 * 100, 50_000))
    engine.outbox.take()
    message = StreamMessage("btcusd_perp@fundingEvent", msgspec.json.encode(
        FundingEvent("BTCUSD_PERP", NOW + 60_000, "0.00010000", "52000.00000000", NOW + 60_000)))  # fmt: skip
    engine.apply(Marks(tuple([message])), NOW + 60_000)
    assert engine.figures(ALICE, "BTC").wallet == 99_990_000 - 1923
    (_, _, payload), = events(engine)
    assert payload["a"]["B"][0] == {"a": "BTC", "wb": "0.99988077", "cw": "0.99988077", "bc": "-0.00001923"}
    assert list(payload) == ["e", "T", "E", "i", "a"] and payload["a"]["S"] == "BTCUSD_PERP"


def test_the_liquidation_price_of_worked_examples_a_and_b(engine: Engine) -> None:
    long_half_btc(engine)
    # §7.12: (9 985 − 30 000) / (0.5 × 0.004 − 0.5) = 40 190.76…
    assert liquidation_price(engine, engine.ledger(ALICE), "BTCUSDT") == Fraction(-20015) / Fraction("-0.498")
    rows = position_risk(engine, ALICE, "BTCUSDT", v3=True)
    assert rows[0]["liquidationPrice"] == "40190.76305220"
    assert position_risk(engine, BOB, "BTCUSDT", v3=False)[0]["liquidationPrice"] == "0"  # flat


def test_margin_call_at_80_percent_once_then_liquidation_through_the_book(
    engine: Engine, book: Book, journal: Kept
) -> None:
    long_half_btc(engine)
    resting = new_order(engine, ALICE, order(quantity="0.010", price="39000"), NOW).order
    assert resting is not None
    engine.outbox.take()
    # margin balance 0.5 × P − 20 015, MM 0.002 × P (bracket 1): 80 % at P ≤ 40 231.15
    mark_to(engine, book, "40300", NOW + 1)
    assert events(engine) == []
    mark_to(engine, book, "40220", NOW + 2)  # MM 80.44 / margin balance 95: 84.7 %
    (account, kind, call), = events(engine)
    assert (account, kind) == (ALICE, "MARGIN_CALL")
    assert call == {"e": "MARGIN_CALL", "E": NOW + 2, "cw": "9985.00000000", "p": [{
        "s": "BTCUSDT", "ps": "BOTH", "pa": "0.5", "mt": "CROSSED", "iw": "0", "mp": "40220",
        "up": "-9890", "mm": "80.44"}]}  # fmt: skip
    mark_to(engine, book, "40210", NOW + 3)
    assert events(engine) == []  # once per crossing
    # the bids stay at 59 999 (1.0) and 59 998: the liquidation sells 0.5 at 59 999, above the
    # bankruptcy price 60 000 − 9 985 / 0.5 = 40 030
    commits = len(journal.batches)
    mark_to(engine, book, "40190", NOW + 4)  # MM 80.38 ≥ margin balance 80
    got = events(engine)
    assert [(e, p.get("o", {}).get("x")) for _, e, p in got] == [
        ("ORDER_TRADE_UPDATE", "EXPIRED"), ("ORDER_TRADE_UPDATE", "NEW"), ("ACCOUNT_UPDATE", None),
        ("ORDER_TRADE_UPDATE", "CALCULATED"), ("ACCOUNT_UPDATE", None)]  # fmt: skip
    expired, new, fill_account, fill, clear = (p for _, _, p in got)
    assert (expired["o"]["i"], expired["o"]["er"]) == (resting.order_id, "5")
    o = new["o"]
    assert o["c"].startswith(f"autoclose-{NOW + 4}") and len(o["c"]) == len("autoclose-") + 13 + 6
    assert (o["S"], o["o"], o["ot"], o["f"], o["q"], o["p"], o["R"]) == (
        "SELL", "LIQUIDATION", "LIQUIDATION", "IOC", "0.5", "40030", True)  # fmt: skip
    assert (fill["o"]["X"], fill["o"]["L"], fill["o"]["l"], fill["o"]["rp"], fill["o"]["n"]) == (
        "FILLED", "59999", "0.5", "-0.50000000", "14.99975000")  # fmt: skip
    assert fill_account["a"]["m"] == "ORDER" and fill_account["a"]["P"][0]["pa"] == "0"
    # wallet 9 985 − 0.5 − 14.99975 = 9 969.50025; clearance min(that, 29 999.5 × 0.0125)
    assert clear["a"] == {"B": [{"a": "USDT", "wb": "9594.50650000", "cw": "9594.50650000",
                                 "bc": "-374.99375"}], "P": [], "m": "INSURANCE_CLEAR"}  # fmt: skip
    assert wallet(engine, ALICE) == Fraction("9594.5065")
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 0 and not engine.open_orders(ALICE, None)
    assert len(journal.batches) == commits + 1
    batch = journal.batches[-1]
    assert [o.status.value for o in batch.orders] == ["EXPIRED", "FILLED"]
    assert batch.incomes == [Income(ALICE, "BTCUSDT", "INSURANCE_CLEAR", "USDT", -37_499_375_000, NOW + 4,
                                    batch.incomes[0].tran_id)]  # fmt: skip
    rows = force_orders(engine, reads(ALICE), NOW + 5)  # type: ignore[arg-type]
    assert [(r["clientOrderId"], r["status"], r["price"], r["avgPrice"], r["executedQty"]) for r in rows] == [
        (o["c"], "FILLED", "40030.00", "59999.00000", "0.500")]  # fmt: skip
    assert list(rows[0]) == [
        "orderId", "symbol", "pair", "status", "clientOrderId", "price", "avgPrice", "origQty", "executedQty",
        "cumQuote", "cumBase", "timeInForce", "type", "reduceOnly", "closePosition", "side", "positionSide",
        "stopPrice", "workingType", "origType", "time", "updateTime"]  # fmt: skip
    kinds = [r["incomeType"] for r in income(engine, reads(ALICE), NOW + 5)]  # type: ignore[arg-type]
    assert kinds == ["COMMISSION", "REALIZED_PNL", "COMMISSION", "INSURANCE_CLEAR"]
    mark_to(engine, book, "30000", NOW + 6)
    assert events(engine) == [] and not engine.exposure.holders


def test_what_the_book_cannot_take_the_insurance_fund_takes_at_the_bankruptcy_price(
    engine: Engine, book: Book
) -> None:
    long_half_btc(engine)
    book.bids = [(4_010_000, 300), (4_000_000, 5000)]  # 0.3 at 40 100, then below 40 030
    engine.outbox.take()
    mark_to(engine, book, "40190", NOW + 1)
    fills = [p["o"] for _, e, p in events(engine) if e == "ORDER_TRADE_UPDATE" and p["o"]["x"] == "CALCULATED"]
    assert [(f["L"], f["l"], f["X"]) for f in fills] == [("40100", "0.3", "PARTIALLY_FILLED"),
                                                          ("40030", "0.2", "FILLED")]  # fmt: skip
    # 9 985 − 5 970 − 6.015 − 3 994 − 4.003 = 10.982: all of it is the clearance fee
    assert wallet(engine, ALICE) == 0


class CoinBook(Book):
    """BTCUSD_PERP: 10 contracts bid at ``bid``, 10 offered at 50 000; mark 50 000."""

    def __init__(self, bid: int = 47_500) -> None:
        super().__init__()
        self.marks = {"BTCUSD_PERP": Fraction(50000)}
        self.whole = 10 ** catalogue(Market.CM, NOW)[0].price_decimals
        self.bid = bid

    def levels(self, symbol: str, bids: bool) -> Any:
        side = [(self.bid * self.whole, 1000)] if bids else [(50_000 * self.whole, 1000)]
        return iter(side) if symbol == "BTCUSD_PERP" else iter(())


def test_coin_m_liquidation_at_the_inverse_bankruptcy_price() -> None:
    # 100 BTCUSD_PERP contracts (CS 100 USD) long at 50 000 on a 0.011 BTC wallet
    deposits, book = Deposits(), CoinBook()
    deposits.rows[ALICE] = [Balance(ALICE, Market.CM, "BTC", parse_amount("0.011"), 1)]
    engine = Engine(Market.CM, catalogue(Market.CM, NOW), book, deposits, Kept())
    new_order(engine, ALICE, {"symbol": "BTCUSD_PERP", "side": "BUY", "type": "MARKET", "quantity": "100"}, NOW)
    assert engine.figures(ALICE, "BTC").wallet == 1_090_000  # 0.011 − 0.2 × 0.0005
    # §7.10 inverse: (100 × 0.004 + 100) / (0.0109 / 100 + 100 / 50 000) = 47 605.50…
    assert liquidation_price(engine, engine.ledger(ALICE), "BTCUSD_PERP") == Fraction("100.4") / Fraction(
        "0.002109")  # fmt: skip
    engine.outbox.take()
    book.marks["BTCUSD_PERP"] = Fraction(47600)
    engine.apply(Marks(tuple([StreamMessage("btcusd_perp@markState", b"{}")])), NOW + 1)
    got = events(engine)
    assert [e for _, e, _ in got] == ["MARGIN_CALL", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE", "ORDER_TRADE_UPDATE",
                                      "ACCOUNT_UPDATE"]  # fmt: skip
    call, new, _, fill, clear = (p for _, _, p in got)
    assert list(call) == ["e", "E", "i", "cw", "p"] and call["cw"] == "0.01090000"
    # 1/BP = 1/50 000 + 0.0109 / (100 × 100) -> 47 415.83…, a sell's limit rounded up to the tick
    assert (new["o"]["o"], new["o"]["p"], new["o"]["q"]) == ("LIQUIDATION", "47415.9", "100")
    # realized 100 × 100 × (1/50 000 − 1/47 500) = −0.01052631…; commission 0.21052631… × 0.0005
    assert (fill["o"]["L"], fill["o"]["rp"], fill["o"]["n"], fill["o"]["x"]) == (
        "47500", "-0.01052631", "0.00010526", "CALCULATED")  # fmt: skip
    # 0.0109 − 0.01052631 − 0.00010526 = 0.00026843 left, below 0.21052631 × 0.015: all of it
    assert clear["a"]["B"] == [{"a": "BTC", "wb": "0.00000000", "cw": "0.00000000", "bc": "-0.00026843"}]
    assert engine.figures(ALICE, "BTC").wallet == 0
    # forceOrders' COIN-M row: both cumBase (the coin) and cumQuote (USD: 100 contracts of 100), §4.16
    (row,) = force_orders(engine, reads(ALICE), NOW + 2)  # type: ignore[arg-type]
    assert (row["executedQty"], row["cumQuote"], row["cumBase"]) == ("100", "10000", "0.21052631")


def test_one_accounts_failure_keeps_no_other_from_its_funding_or_its_liquidation(
    engine: Engine, book: Book, journal: Kept, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A venue bug met by one account's state (here: alice's, judged first) is raised once
    every other account is charged and judged (``exposure.each_account``), for the step
    that runs the watch to count and log (``venue_engines.Contained``)."""
    import tickerplant.venue.clearing.funding as funding_module
    import tickerplant.venue.clearing.liquidation as liquidation_module

    long_half_btc(engine)
    new_order(engine, BOB, order(side="SELL", quantity="0.001", price="59999"), NOW)  # short, 10 USDT
    bob_before = wallet(engine, BOB)
    real_charge, real_judge = funding_module._charge, liquidation_module._judge_cross

    def charge(engine_: Engine, ledger: Any, *args: Any) -> None:
        if ledger.account_id == ALICE:
            raise RuntimeError("alice's state")
        real_charge(engine_, ledger, *args)

    def judge(engine_: Engine, ledger: Any, *args: Any) -> None:
        if ledger.account_id == ALICE:
            raise RuntimeError("alice's state")
        real_judge(engine_, ledger, *args)

    monkeypatch.setattr(funding_module, "_charge", charge)
    monkeypatch.setattr(liquidation_module, "_judge_cross", judge)
    at = NOW + 3_600_000
    commits = len(journal.batches)
    with pytest.raises(RuntimeError, match="alice's state"):
        engine.apply(Marks(tuple([funding(at, "0.00010000", "61000.00000000", at + 5)])), at + 5)
    assert wallet(engine, BOB) == bob_before + Fraction("0.0061")  # charged, and journaled
    assert journal.batches[commits].changes == [(BOB, "USDT", 610_000, at)]
    book.marks["BTCUSDT"] = Fraction(70000)  # bob's short past its liquidation price
    with pytest.raises(RuntimeError, match="alice's state"):
        engine.apply(Marks(tuple([StreamMessage(MARK, b"{}")])), at + 10)
    assert engine.ledger(BOB).position("BTCUSDT").amt == 0  # liquidated all the same
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 500


def test_one_accounts_event_that_cannot_be_written_costs_no_other_its_events(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drain writes every account's events of a command or a batch of trades together: one
    payload that raises (a venue bug: the probe's was a 5,001-digit trigger price, refused at
    the door now) loses that account's events of the drain, and no other's; the error is
    kept for the drain to raise once the others are handed on (``gateway/user_data.drain``)."""
    import tickerplant.venue.userstream.user_events as user_events

    new_order(engine, ALICE, order(quantity="0.001", price="59000"), NOW)
    new_order(engine, BOB, order(quantity="0.001", price="59000"), NOW)
    real = user_events._order_update

    def order_update(engine_: Engine, event: Any, alias: str) -> bytes:
        if event.account_id == ALICE:
            raise ValueError("alice's payload")
        return real(engine_, event, alias)

    monkeypatch.setattr(user_events, "_order_update", order_update)
    failed: list[Exception] = []
    written_ = [(a, e, json.loads(p)) for a, e, p in written(engine, engine.outbox.take(), lambda _: "", failed)]
    assert [(account, name, e["o"]["X"]) for account, name, e in written_] == [(BOB, "ORDER_TRADE_UPDATE", "NEW")]
    assert [str(error) for error in failed] == ["alice's payload"]


def test_no_liquidation_while_the_book_is_not_in_sync_then_at_the_next_mark(journal: Kept) -> None:
    """A relay's upstream lost (``MarketData.halted``): a mark past the liquidation price
    liquidates nothing, its order would meet no book; the first mark once the book is back
    does (``clearing/watch.py``)."""

    class Halting(Book):
        lost = False

        def halted(self, symbol: str) -> bool:
            return self.lost

    book = Halting()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    long_half_btc(engine)
    engine.outbox.take()
    book.lost = True
    mark_to(engine, book, "40190", NOW + 4)  # past the 40 197.7 the long is liquidated at
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 500
    book.lost = False
    mark_to(engine, book, "40190", NOW + 5)
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 0
    assert any(e == "ORDER_TRADE_UPDATE" and p["o"]["o"] == "LIQUIDATION" for _, e, p in events(engine))


def test_a_liquidation_expires_the_legacy_stops_its_margin_held(engine: Engine, book: Book) -> None:
    """``--legacy-conditional-orders``: a stop waiting on ``/v1/order`` is an open order, and a
    liquidation expires it as it expires the resting ones (``er`` "5"): it would otherwise
    trigger later on a position the liquidation closed."""
    engine.legacy_conditional = True
    long_half_btc(engine)
    stop = {"type": "STOP_MARKET", "side": "SELL", "quantity": "0.500", "stopprice": "35000", "timeinforce": ""}
    waiting = new_order(engine, ALICE, order(**stop), NOW).order
    assert waiting is not None and engine.open_orders(ALICE, None) == [waiting]
    engine.outbox.take()
    mark_to(engine, book, "40190", NOW + 4)  # below the liquidation price, above the stop
    expired = [p["o"] for _, e, p in events(engine) if e == "ORDER_TRADE_UPDATE" and p["o"]["i"] == waiting.order_id]
    assert [(o["x"], o["o"], o["er"]) for o in expired] == [("EXPIRED", "STOP_MARKET", "5")]
    assert engine.open_orders(ALICE, None) == [] and engine.algos.open_orders(ALICE) == []
