# ruff: noqa: F811  (test_engine's and test_journal's fixtures are parameters here)
"""The fundings that fell while the server was down. Without sockets: which funding times a
restart finds missed (``missed_fundings``), over a ``ManualClock`` moved across them, and
their settlement by the live path's code (``catch_up``), exactly once: not again after a
second restart, nor when the live event of the same time comes (figures from part 3 §7.12,
worked example A: 0.5 BTC long, funding at 61 000 and +0.0001: 3.05 USDT). Over a real
socket: a real `tickerplant serve` whose clock is set just before a funding time
(``--clock-offset``), killed with SIGKILL, started again after it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from ports import free_port
from served_venue import serve
from test_engine import ALICE, BOB, NOW, Book, Deposits, Kept, book, engine, journal, order  # noqa: F401
from test_journal import SECRET, database  # noqa: F401

from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.derivatives.mark_price import FUNDING_INTERVAL_MS, next_funding_ms
from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.units import fixed
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.clearing.funding_catch_up import CATCH_UP_MOST, Missed, missed_fundings
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Marks, MissedFundings
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.domain.orders import PositionSide
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.userstream.user_events import written
from tickerplant.venue.wire.order_entry import new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_margin_type

T1 = next_funding_ms(NOW)  # the first funding time after the positions open
T2, T3 = T1 + FUNDING_INTERVAL_MS, T1 + 2 * FUNDING_INTERVAL_MS


def event(time_ms: int, rate: str = "0.00010000", mark: str = "61000.00000000") -> FundingEvent:
    """A funding of the history, told at its time (``PastFunding.event``)."""
    return FundingEvent("BTCUSDT", time_ms, rate, mark, time_ms)


def live(engine: Engine, funding: FundingEvent, now_ms: int) -> None:
    """``funding`` told live at ``now_ms``, the venue's time and the source's."""
    told = msgspec.structs.replace(funding, E=now_ms)
    engine.apply(Marks(tuple([StreamMessage("btcusdt@fundingEvent", msgspec.json.encode(told))])), now_ms)


def wallet(engine: Engine, account: int) -> Fraction:
    return Fraction(engine.figures(account, "USDT").wallet, 10**8)


def fees(engine: Engine, account: int) -> list[tuple[int, int]]:
    """The account's ``FUNDING_FEE`` rows: (time, amount in 1e-8)."""
    return [(i.time_ms, i.amount) for i in engine.ledger(account).income if i.kind == "FUNDING_FEE"]


def updates(engine: Engine) -> list[tuple[int, Any]]:
    return [(a, json.loads(p)) for a, e, p in written(engine, engine.outbox.take(), lambda _: "")]


def test_the_fundings_missed_are_those_after_the_last_settled_and_each_positions_last_change(
    engine: Engine, journal: Kept
) -> None:
    clock = ManualClock(NOW)
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500", timeinforce=""), clock.now_ms())
    clock.set(T1 - 1)
    assert missed_fundings(engine, clock.now_ms()) == []  # no funding time has passed
    clock.set(T1 + 5)
    assert missed_fundings(engine, clock.now_ms()) == [Missed("BTCUSDT", T1, T1, 0)]
    live(engine, event(T1), clock.now_ms())  # the server was up: the live path settled it
    assert fees(engine, ALICE) == [(T1, -305_000_000)]
    assert missed_fundings(engine, clock.now_ms()) == []
    clock.set(T1 + 3_600_000)
    new_order(engine, BOB, order(side="SELL", quantity="0.001", price="59999"), clock.now_ms())  # opened after T1
    engine.outbox.take()
    # down across T2 and T3, back 73 s after T3 (older than the live path's minute)
    clock.set(T3 + 73_000)
    assert missed_fundings(engine, clock.now_ms()) == [Missed("BTCUSDT", T2, T3, 0)]
    live(engine, event(T3), clock.now_ms())  # a live event that late charges nothing
    assert fees(engine, ALICE) == [(T1, -305_000_000)]

    alice, bob, commits = wallet(engine, ALICE), wallet(engine, BOB), len(journal.batches)
    engine.apply(MissedFundings(tuple([event(T3, mark="62000.00000000"), event(T2)])), clock.now_ms())
    # each at its time's rate and mark: 0.5 × 61 000 × 0.0001, then 0.5 × 62 000 × 0.0001
    assert fees(engine, ALICE) == [(T1, -305_000_000), (T2, -305_000_000), (T3, -310_000_000)]
    assert fees(engine, BOB) == [(T2, 610_000), (T3, 620_000)]
    assert wallet(engine, ALICE) == alice - Fraction("6.15") and wallet(engine, BOB) == bob + Fraction("0.0123")
    assert [b.funded for b in journal.batches[commits:]] == [[("BTCUSDT", T2), ("BTCUSDT", T3)]]  # one batch
    assert [(i.account_id, i.time_ms) for b in journal.batches[commits:] for i in b.incomes] == [
        (ALICE, T2), (BOB, T2), (ALICE, T3), (BOB, T3)]  # fmt: skip
    sent = updates(engine)  # each account's in order, stamped when settled (the rows: at T2, T3)
    assert [(a, p["E"], p["a"]["B"][0]["bc"], p["a"]["m"]) for a, p in sent] == [
        (ALICE, T3 + 73_000, "-3.05", "FUNDING_FEE"), (ALICE, T3 + 73_000, "-3.1", "FUNDING_FEE"),
        (BOB, T3 + 73_000, "0.0061", "FUNDING_FEE"), (BOB, T3 + 73_000, "0.0062", "FUNDING_FEE"),
    ]  # fmt: skip
    # exactly once: nothing is missed now, and neither the history again nor the live event
    # of the same time charges anything
    assert missed_fundings(engine, clock.now_ms()) == []
    engine.apply(MissedFundings(tuple([event(T3)])), clock.now_ms())
    live(engine, event(T3), T3 + 5)
    assert len(journal.batches) == commits + 1 and wallet(engine, ALICE) == alice - Fraction("6.15")


def test_a_position_opened_after_the_missed_funding_time_is_not_charged(engine: Engine) -> None:
    clock = ManualClock(T1 + 60_000)  # the first position a minute after T1, then down past T2
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500", timeinforce=""), clock.now_ms())
    clock.set(T2 + 90_000)
    assert missed_fundings(engine, clock.now_ms()) == [Missed("BTCUSDT", T2, T2, 0)]
    engine.apply(MissedFundings(tuple([event(T1), event(T2)])), clock.now_ms())  # T1 before it: held by nobody
    assert fees(engine, ALICE) == [(T2, -305_000_000)]


def test_a_restart_settles_what_it_missed_once_and_a_second_restart_nothing(
    database: tuple[Path, str],
) -> None:
    path, _ = database
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500", timeinforce=""), NOW)
    live(engine, event(T1, rate="0.00000000"), T1 + 5)  # settled, charging nothing: no income row

    def restarted() -> Engine:
        again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
        SqliteJournal(path).load(again)
        return again

    again = restarted()
    assert again.exposure.funded_ms == {"BTCUSDT": T1}  # from venue_funded: T1 is not missed
    assert missed_fundings(again, T3 + 60_000) == [Missed("BTCUSDT", T2, T3, 0)]
    again.apply(MissedFundings(tuple([event(T2), event(T3)])), T3 + 60_000)
    assert fees(again, ALICE) == [(T2, -305_000_000), (T3, -305_000_000)]

    third = restarted()
    assert missed_fundings(third, T3 + 120_000) == []
    assert fees(third, ALICE) == fees(again, ALICE)
    assert third.figures(ALICE, "USDT").wallet == again.figures(ALICE, "USDT").wallet
    assert again.figures(ALICE, "USDT").wallet == engine.figures(ALICE, "USDT").wallet - 610_000_000


def test_hedge_sides_and_an_isolated_position_are_settled_as_the_live_path_does(
    engine: Engine, book: Book
) -> None:
    set_dual_side(engine, ALICE, True)
    hedged = {"type": "MARKET", "timeinforce": ""}
    new_order(engine, ALICE, order(quantity="0.500", positionside="LONG", **hedged), NOW)
    new_order(engine, ALICE, order(side="SELL", quantity="0.200", positionside="SHORT", **hedged), NOW)
    isolated = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())
    set_margin_type(isolated, ALICE, "BTCUSDT", "ISOLATED")
    new_order(isolated, ALICE, order(type="MARKET", quantity="0.500", timeinforce=""), NOW)
    position = isolated.ledger(ALICE).position("BTCUSDT")
    before = position.isolated_wallet
    engine.outbox.take()
    isolated.outbox.take()

    for each in (engine, isolated):
        each.apply(MissedFundings(tuple([event(T1)])), T1 + 90_000)
    # each side its own: the long pays 3.05, the short receives 0.2 × 61 000 × 0.0001 = 1.22
    incomes = [i for i in engine.ledger(ALICE).income if i.kind == "FUNDING_FEE"]
    assert [i.amount for i in incomes] == [-305_000_000, 122_000_000]
    assert len({i.tran_id for i in incomes}) == 2
    assert {p.side for p in engine.ledger(ALICE).held("BTCUSDT")} == {PositionSide.LONG, PositionSide.SHORT}
    assert position.isolated_wallet == before - 305_000_000  # from its own wallet (part 3 §7.8)
    ((_, sent),) = updates(isolated)
    assert sent["a"]["P"][0]["iw"] == fixed(position.isolated_wallet, 8)
    assert sent["a"]["P"][0]["mt"] == "isolated"


def test_the_catch_up_is_bounded_to_the_latest_funding_times() -> None:
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500", timeinforce=""), NOW)
    until = T1 + 400 * 3 * FUNDING_INTERVAL_MS  # a journal 400 days old
    last = until // FUNDING_INTERVAL_MS * FUNDING_INTERVAL_MS
    ((symbol, first, end, left),) = missed_fundings(engine, until)
    assert (symbol, end) == ("BTCUSDT", last)
    assert first == last - (CATCH_UP_MOST - 1) * FUNDING_INTERVAL_MS
    assert left == 400 * 3 + 1 - CATCH_UP_MOST


# -- over a real socket: a real `tickerplant serve` killed before a funding time --------------


def _serve(
    path: Path, ports: tuple[int, int], at_ms: int, *more: str
) -> contextlib.AbstractAsyncContextManager[asyncio.subprocess.Process]:
    """A real `tickerplant serve` whose clock reads ``at_ms`` as it starts (``--clock-offset``)."""
    offset = at_ms - SystemClock().now_ms()
    options = ("--clock-offset", str(offset), *more)
    # the past's fundings from each listing; a minute of it warms the plants (the fundings
    # and marks answered are the past's, whatever the warm-up)
    return serve(path, ports[0], cm_port=ports[1], options=options, past_ms=None, warm_s=60)


class Venue:
    """Signed requests to a server whose clock is offset, as a client keeps time with it:
    the offset taken from ``/time``."""

    def __init__(self, session: aiohttp.ClientSession, ports: tuple[int, int]) -> None:
        self.session = session
        self.bases = {"fapi": f"http://127.0.0.1:{ports[0]}/fapi", "dapi": f"http://127.0.0.1:{ports[1]}/dapi"}
        self.offset = 0

    async def sync(self) -> int:
        async with self.session.get(f"{self.bases['fapi']}/v1/time") as answer:
            server = (await answer.json())["serverTime"]
        self.offset = server - SystemClock().now_ms()
        return int(server)

    async def public(self, api: str, path: str) -> Any:
        async with self.session.get(f"{self.bases[api]}{path}") as answer:
            body = await answer.json()
            assert answer.status == 200, body
            return body

    async def signed(self, method: str, api: str, path: str, key: str, query: str = "") -> Any:
        query = f"{query}&timestamp={SystemClock().now_ms() + self.offset}".lstrip("&")
        signed = f"{query}&signature={hmac_hex(SECRET, query.encode())}"
        url = f"{self.bases[api]}{path}?{signed}"
        async with self.session.request(method, url, headers={"X-MBX-APIKEY": key}) as answer:
            body = await answer.json()
            assert answer.status == 200, body
            return body


def eight(amount: Fraction) -> str:
    """An amount of 8 decimals as the income rows write it."""
    return fixed(int(amount * 10**8), 8)


def _fee(amount: Fraction, rate: Fraction) -> Fraction:
    """``-notional × rate`` truncated toward zero at 8 decimals (part 3 §9, §4.3)."""
    return Fraction(int(-amount * rate * 10**8), 10**8)


async def _state(venue: Venue, alice: str, bob: str) -> dict[str, Any]:
    """What the test compares across the restarts: funding rows, wallets, positions."""
    out: dict[str, Any] = {}
    for who, key in (("alice", alice), ("bob", bob)):
        rows = await venue.signed("GET", "fapi", "/v1/income", key, "incomeType=FUNDING_FEE")
        out[f"{who} fees"] = sorted((r["symbol"], r["time"], r["income"]) for r in rows)
        balances = await venue.signed("GET", "fapi", "/v2/balance", key)
        out[f"{who} wallet"] = next(Fraction(b["balance"]) for b in balances if b["asset"] == "USDT")
        risk = await venue.signed("GET", "fapi", "/v2/positionRisk", key)
        out[f"{who} positions"] = sorted(
            (p["symbol"], p["positionSide"], p["positionAmt"], p["isolatedWallet"])
            for p in risk if Fraction(p["positionAmt"])
        )  # fmt: skip
    rows = await venue.signed("GET", "dapi", "/v1/income", alice, "incomeType=FUNDING_FEE")
    out["alice coin fees"] = sorted((r["symbol"], r["time"], r["income"]) for r in rows)
    balances = await venue.signed("GET", "dapi", "/v1/balance", alice)
    out["alice coin wallet"] = next(Fraction(b["balance"]) for b in balances if b["asset"] == "BTC")
    return out


@pytest.mark.parametrize("more", [(), ("--workers", "1")], ids=["one-process", "workers"])
async def test_a_funding_missed_while_killed_is_settled_at_the_restart_once(
    tmp_path: Path, more: tuple[str, ...]
) -> None:
    """Killed (SIGKILL) two minutes before a funding time, started again 75 s after it: one
    ``FUNDING_FEE`` row per position at that time, at the rate and mark `fundingRate` lists,
    the wallets moved by them; a second restart adds nothing. Under ``--workers`` the plant
    process restores the engines and settles them the same way."""
    store = AccountStore(tmp_path / "venue.db")
    now = SystemClock().now_ms()
    usdt = (Market.UM, "USDT", parse_amount("10000"))
    alice_id = store.create_account("alice", [usdt, (Market.CM, "BTC", parse_amount("1"))], now).account_id
    bob_id = store.create_account("bob", [usdt], now).account_id
    alice, bob = (store.add_key(a, KeyType.HMAC, SECRET, now_ms=now).api_key for a in (alice_id, bob_id))
    store.close()
    path, ports = tmp_path / "venue.db", (free_port(), free_port())
    funding = next_funding_ms(now + 3 * 60_000)  # a funding time the server's clock will meet
    async with aiohttp.ClientSession() as session:
        venue = Venue(session, ports)
        async with _serve(path, ports, funding - 120_000, *more) as process:
            assert await venue.sync() < funding
            # alice one-way: BTCUSDT long (cross), ETHUSDT short (isolated), BTCUSD_PERP long
            order = "type=MARKET&newOrderRespType=RESULT"
            await venue.signed("POST", "fapi", "/v1/order", alice, f"symbol=BTCUSDT&side=BUY&quantity=0.010&{order}")
            await venue.signed("POST", "fapi", "/v1/marginType", alice, "symbol=ETHUSDT&marginType=ISOLATED")
            await venue.signed("POST", "fapi", "/v1/order", alice, f"symbol=ETHUSDT&side=SELL&quantity=0.100&{order}")
            await venue.signed("POST", "dapi", "/v1/order", alice, f"symbol=BTCUSD_PERP&side=BUY&quantity=1&{order}")
            # bob in hedge mode: a LONG and a SHORT on BTCUSDT
            await venue.signed("POST", "fapi", "/v1/positionSide/dual", bob, "dualSidePosition=true")
            await venue.signed("POST", "fapi", "/v1/order", bob,
                               f"symbol=BTCUSDT&side=BUY&positionSide=LONG&quantity=0.020&{order}")  # fmt: skip
            await venue.signed("POST", "fapi", "/v1/order", bob,
                               f"symbol=BTCUSDT&side=SELL&positionSide=SHORT&quantity=0.005&{order}")  # fmt: skip
            before = await _state(venue, alice, bob)
            process.send_signal(signal.SIGKILL)  # before the funding time: no clean shutdown
            await process.wait()
            assert SystemClock().now_ms() + venue.offset < funding
        assert not before["alice fees"] and not before["bob fees"] and not before["alice coin fees"]

        async with _serve(path, ports, funding + 75_000, *more):  # past the live path's minute
            assert await venue.sync() > funding + 60_000
            after = await _state(venue, alice, bob)
            history = {}
            for api, symbol in (("fapi", "BTCUSDT"), ("fapi", "ETHUSDT"), ("dapi", "BTCUSD_PERP")):
                (row,) = await venue.public(api, f"/v1/fundingRate?symbol={symbol}&startTime={funding}&endTime={funding}")
                history[symbol] = row
            # COIN-M's rows have no markPrice: the mark of the minute ending at the funding time
            ((*_, close, _, _, _, _, _, _, _),) = await venue.public(
                "dapi", f"/v1/markPriceKlines?symbol=BTCUSD_PERP&interval=1m&startTime={funding - 60_000}"
                f"&endTime={funding - 1}&limit=1",  # COIN-M: the latest before the end (§7.8)
            )  # fmt: skip
        async with _serve(path, ports, funding + 150_000, *more):  # a second restart adds nothing
            await venue.sync()
            again = await _state(venue, alice, bob)

    def fee(symbol: str, amount: str) -> Fraction:
        row = history[symbol]
        return _fee(Fraction(amount) * Fraction(row["markPrice"]), Fraction(row["fundingRate"]))

    btc, eth = fee("BTCUSDT", "0.010"), fee("ETHUSDT", "-0.100")
    coin = _fee(Fraction(100) / Fraction(close), Fraction(history["BTCUSD_PERP"]["fundingRate"]))
    # longs pay a positive rate and shorts receive it, the other way round for a negative one
    # (the live minutes before the funding time move the rate: its sign is the day's)
    rates = {symbol: Fraction(row["fundingRate"]) for symbol, row in history.items()}
    assert (btc < 0, eth > 0, coin < 0) == tuple(rates[s] > 0 for s in ("BTCUSDT", "ETHUSDT", "BTCUSD_PERP"))
    assert after["alice fees"] == sorted([("BTCUSDT", funding, eight(btc)), ("ETHUSDT", funding, eight(eth))])
    assert after["bob fees"] == sorted([("BTCUSDT", funding, eight(fee("BTCUSDT", "0.020"))),
                                        ("BTCUSDT", funding, eight(fee("BTCUSDT", "-0.005")))])  # fmt: skip
    assert after["alice coin fees"] == [("BTCUSD_PERP", funding, eight(coin))]
    # the wallets moved by them (an isolated position's fee from its own wallet, in the asset's)
    assert after["alice wallet"] == before["alice wallet"] + btc + eth
    assert after["bob wallet"] == before["bob wallet"] + fee("BTCUSDT", "0.020") + fee("BTCUSDT", "-0.005")
    assert after["alice coin wallet"] == before["alice coin wallet"] + coin
    isolated_before, isolated_after = (
        next(Fraction(p[3]) for p in state["alice positions"] if p[0] == "ETHUSDT") for state in (before, after)
    )
    assert isolated_after == isolated_before + eth
    assert [p[:3] for p in after["alice positions"]] == [p[:3] for p in before["alice positions"]]
    assert again == after
    verified = subprocess.run(
        [sys.executable, "-m", "tickerplant.cli", "accounts", "--db", str(path), "verify"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout  # every wallet is its fills and fundings
