"""A random trading session over both markets' venue engines, as the server makes them
(their position modes shared, one journal in a real SQLite file, the operator's deposits in
the same file): every kind of command the venue has, refusals and all, the market's trades,
marks and fundings by hand, for ``test_rebuild.py``."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec

from tickerplant.clock import ManualClock
from tickerplant.market.derivatives.mark_streams import FundingEvent, internal_names
from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.messages import StreamMessage, SymbolStreams
from tickerplant.market.units import fixed
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.auth.store import AccountStore, StoreError
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.algo_order import TYPES
from tickerplant.venue.domain.commands import CancelAll, SetFeeBurn
from tickerplant.venue.domain.orders import seeded_client_ids
from tickerplant.venue.engine.countdowns import Countdowns
from tickerplant.venue.journal.group_commit import GroupCommit, Stamped
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.ledger.position_modes import PositionModes
from tickerplant.venue.wire.algo_rest import cancel_algo, cancel_all_algos, new_algo
from tickerplant.venue.wire.margin_routes import move_margin
from tickerplant.venue.wire.order_entry import amend_order, cancel_all, cancel_order, new_order
from tickerplant.venue.wire.settings_routes import (
    set_dual_side,
    set_leverage,
    set_margin_type,
    set_multi_assets,
)
from tickerplant.venue_engines import (
    Heeded,
    OperatorTransfers,
    feed_engine,
    restored,
    settle_unseen_transfers,
)

NOW = 1_790_000_000_000
SYMBOLS = {Market.UM: ("BTCUSDT", "ETHUSDT", "BNBUSDT"), Market.CM: ("BTCUSD_PERP", "ETHUSD_PERP")}
OPENING = [  # each account's deposits, 1e-8
    (Market.UM, "USDT", 3_000 * 10**8), (Market.UM, "BNB", 4 * 10**8),
    (Market.CM, "BTC", 10**7), (Market.CM, "ETH", 10**8),
]  # fmt: skip


class HandMarket:
    """One market's book and marks by hand: five levels a side around each symbol's mid (a
    level a basis point or a tick apart), the mark at the mid; moved by the session."""

    def __init__(self, instruments: list[Instrument]) -> None:
        self.inst = {i.symbol: i for i in instruments}
        self.mid = {s: i.initial_price // i.tick * i.tick for s, i in self.inst.items()}
        self.marks: dict[str, Fraction] = {}
        for symbol in self.inst:
            self.move(symbol, self.mid[symbol])

    def gap(self, symbol: str) -> int:
        tick = self.inst[symbol].tick
        return max(tick, self.mid[symbol] // 10_000 // tick * tick)

    def move(self, symbol: str, mid: int) -> None:
        inst = self.inst[symbol]
        self.mid[symbol] = max(inst.tick * 100, mid // inst.tick * inst.tick)
        self.marks[symbol] = Fraction(self.mid[symbol], 10**inst.price_decimals)

    def qty(self, symbol: str, usd: int) -> int:
        """About ``usd`` of the contract, in its quantity units (at least one)."""
        inst = self.inst[symbol]
        if inst.market is Market.CM:
            return max(1, usd // int(inst.contract_size))
        return max(1, int(usd * 10**inst.qty_decimals / self.marks[symbol]))

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        if symbol not in self.mid:
            return iter(())
        mid, gap, sign = self.mid[symbol], self.gap(symbol), -1 if bids else 1
        return iter([(mid + sign * gap * k, self.qty(symbol, 4_000 * k)) for k in range(1, 6)])

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        return next((q for p, q in self.levels(symbol, bids) if p == price), 0)

    def mark(self, symbol: str) -> Fraction | None:
        return self.marks.get(symbol)

    def book_id(self, symbol: str) -> int | None:
        return None  # fixed levels: every taker meets them whole

    def halted(self, symbol: str) -> bool:
        return False  # no followed book here


class Venue:
    """Both markets' engines over one journal, as the server makes them."""

    def __init__(self, path: Path, markets: dict[Market, HandMarket], journal: Callable[[str], Any],
                 seed: int, now_ms: int) -> None:  # fmt: skip
        self.keyring = Keyring(path)
        self.modes = PositionModes()
        self.engines: dict[Market, Engine] = {}
        self.sqlite = SqliteJournal(path)
        for market, data in markets.items():
            listed = catalogue(market, NOW)
            engine = Engine(
                market, listed, data, self.keyring, journal(market.value),
                client_ids=seeded_client_ids(f"{seed}/{market.value}"), modes=self.modes, ids_seed=seed,
            )  # fmt: skip
            restored(engine, self.sqlite, now_ms)
            self.engines[market] = engine

    def close(self) -> None:
        self.keyring.close()
        self.sqlite.close()

    def every(self) -> list[Engine]:
        return list(self.engines.values())


class Session:
    """The random session: every kind of command the venue has, at random, refusals and all."""

    def __init__(self, path: Path, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.store = AccountStore(path)
        self.accounts = [self.store.create_account(f"trader{i}", OPENING, NOW).account_id for i in range(4)]
        self.markets = {market: HandMarket(catalogue(market, NOW)) for market in SYMBOLS}
        self.flushes: list[Callable[[], None]] = []
        self.journal = SqliteJournal(path)
        group = GroupCommit(self.journal, self.flushes.append, self._failed)
        self.venue = Venue(path, self.markets, lambda market: Stamped(group, market), seed, NOW)
        settle_unseen_transfers(self._engines(), self.venue.keyring, self.venue.sqlite, NOW)
        first, *_, last = self.accounts
        set_dual_side(self._engines()[1], last, True)  # one hedged from the start, in both markets
        for symbol in ("ETHUSDT", "BTCUSD_PERP"):  # and one isolated
            set_margin_type(self._engine_of(symbol), first, symbol, "ISOLATED", NOW)
        for engine in self._engines():  # conditional orders on /v1/order too (``algo/legacy.py``)
            engine.legacy_conditional = True
        self._turn()
        self.countdowns = Countdowns()
        self.clock = ManualClock(NOW)
        self.done: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.funded: dict[str, int] = {}

    @staticmethod
    def _failed(error: sqlite3.Error) -> None:
        raise error

    def _engines(self) -> list[Engine]:
        return self.venue.every()

    def _turn(self) -> None:
        """The end of a loop turn: the staged batches committed."""
        while self.flushes:
            self.flushes.pop(0)()

    def run(self, steps: int) -> None:
        kinds: list[tuple[str, int]] = [
            ("place", 30), ("cancel", 6), ("cancel_all", 2), ("amend", 6), ("trade", 16), ("move", 8),
            ("shock", 2), ("funding", 2), ("leverage", 3), ("margin_type", 3), ("position_mode", 2),
            ("multi_assets", 2), ("margin_move", 4), ("algo", 7), ("algo_cancel", 2), ("algo_cancel_all", 1),
            ("deposit", 1), ("countdown", 2), ("fee_burn", 1), ("legacy", 5),
        ]  # fmt: skip
        names, weights = zip(*kinds, strict=True)
        for _ in range(steps):
            self.clock.advance(self.rng.randint(1, 1_500))
            now = self.clock.now_ms()
            kind = self.rng.choices(names, weights)[0]
            try:
                getattr(self, kind)(now)
                self.done[kind] += 1
            except (RequestRefused, StoreError):
                self.done[f"{kind} refused"] += 1
            for account_id, symbol in self.countdowns.due(now):  # the gateway's timer
                self._engine_of(symbol).apply(CancelAll(account_id, symbol), now)
                self.done["countdown fired"] += 1
            for engine in self._engines():  # the user data stream's drain
                self.events.update(type(event).__name__ for event in engine.outbox.take())
            self._turn()

    # -- helpers ----------------------------------------------------------------------------

    def _market(self) -> Market:
        return self.rng.choice([Market.UM, Market.UM, Market.CM])

    def _symbol(self, market: Market | None = None) -> str:
        return self.rng.choice(SYMBOLS[market or self._market()])

    def _engine_of(self, symbol: str) -> Engine:
        return self.venue.engines[Market.CM if symbol.endswith("_PERP") else Market.UM]

    def _account(self) -> int:
        return self.rng.choice(self.accounts)

    def _price(self, symbol: str, gaps: int) -> str:
        data = self.markets[self._engine_of(symbol).market]
        inst = data.inst[symbol]
        return fixed(data.mid[symbol] + gaps * data.gap(symbol), inst.price_decimals)

    def _qty(self, symbol: str, usd: int) -> str:
        data = self.markets[self._engine_of(symbol).market]
        return fixed(data.qty(symbol, usd), data.inst[symbol].qty_decimals)

    def _feed(self, market: Market, messages: list[StreamMessage], now: int) -> None:
        engine = self.venue.engines[market]

        def step(name: str, fn: Callable[..., object], *args: Any) -> None:
            fn(*args)  # no containment: a failing step fails the test

        transfers = OperatorTransfers(self.venue.keyring)  # a new one: it reads at every delivery
        feed_engine(engine, lambda _: None, self.clock, transfers, Heeded.of(engine), step, None, messages)

    def _open_order(self, account_id: int) -> tuple[Engine, Any] | None:
        engines = [e for e in self._engines() if e.open_orders(account_id, None)]
        if not engines:
            return None
        engine = self.rng.choice(engines)
        return engine, self.rng.choice(engine.open_orders(account_id, None))

    # -- the commands -----------------------------------------------------------------------

    def place(self, now: int) -> None:
        rng = self.rng
        symbol = self._symbol()
        engine = self._engine_of(symbol)
        account_id = self._account()
        kind = rng.choices(["LIMIT", "MARKET"], [5, 1])[0]
        params = {"symbol": symbol, "side": rng.choice(["BUY", "SELL"]), "type": kind,
                  "quantity": self._qty(symbol, rng.choice([60, 300, 1_500, 6_000, 20_000]))}  # fmt: skip
        if kind == "LIMIT":
            tifs = ["GTC", "GTC", "IOC", "FOK", "GTX"] + (["GTD"] if engine.market is Market.UM else [])
            params["timeinforce"] = rng.choice(tifs)
            if rng.random() < 0.12:
                params["pricematch"] = rng.choice(["OPPONENT", "OPPONENT_5", "QUEUE", "QUEUE_5"])
            else:
                gaps = rng.randint(-6, 6)
                params["price"] = self._price(symbol, gaps if params["side"] == "BUY" else -gaps)
            if params["timeinforce"] == "GTD":
                params["goodtilldate"] = str(now + rng.randint(700, 5_000) * 1000)
        if engine.ledger(account_id).hedge:
            params["positionside"] = rng.choice(["LONG", "SHORT"])
        elif rng.random() < 0.15:
            params["reduceonly"] = "true"
        if rng.random() < 0.05:
            params["newclientorderid"] = "bot-1"
        placed = new_order(engine, account_id, params, now).order
        self.done[f"placed {kind} {params.get('timeinforce', '')}"] += 1
        if placed is not None:
            self.done.update(what for what, did in (
                ("placed in hedge mode", placed.position_side.value != "BOTH"),
                ("placed reduce-only", params.get("reduceonly") == "true"),
                ("placed priceMatch", "pricematch" in params),
            ) if did)  # fmt: skip

    def cancel(self, now: int) -> None:
        account_id = self._account()
        found = self._open_order(account_id)
        if found is None:
            return
        engine, order = found
        by = {"orderid": str(order.order_id)} if self.rng.random() < 0.7 else {
            "origclientorderid": order.client_order_id}  # fmt: skip
        cancel_order(engine, account_id, {"symbol": order.symbol} | by, now)

    def cancel_all(self, now: int) -> None:
        symbol = self._symbol()
        cancel_all(self._engine_of(symbol), self._account(), symbol, now)

    def amend(self, now: int) -> None:
        account_id = self._account()
        found = self._open_order(account_id)
        if found is None:
            return
        engine, order = found
        inst = engine.instruments[order.symbol]
        qty = max(
            order.executed_qty + 1, order.orig_qty + self.rng.randint(-2, 2) * max(1, order.orig_qty // 4)
        )
        price = order.price + self.rng.randint(-3, 3) * self.markets[engine.market].gap(order.symbol)
        params = {"symbol": order.symbol, "orderid": str(order.order_id), "side": order.side.value,
                  "quantity": fixed(qty, inst.qty_decimals), "price": fixed(price, inst.price_decimals)}  # fmt: skip
        amend_order(engine, account_id, params, now)

    def trade(self, now: int) -> None:
        """A public trade near the mid, on either side: resting orders fill, or move up their queue."""
        market = self._market()
        symbol = self._symbol(market)
        data = self.markets[market]
        inst = data.inst[symbol]
        price = self._price(symbol, self.rng.randint(-6, 6))
        sellers_took = self.rng.random() < 0.5
        resting = list(self.venue.engines[market].resting(symbol))
        if resting and self.rng.random() < 0.5:  # at a resting order's price, on its side: its queue moves
            order = self.rng.choice(resting)
            price, sellers_took = fixed(order.price, inst.price_decimals), order.side.value == "BUY"
        qty = fixed(data.qty(symbol, self.rng.choice([500, 3_000, 12_000, 40_000])), inst.qty_decimals)
        payload = {"e": "aggTrade", "E": now, "a": now, "s": symbol, "p": price, "q": qty, "nq": qty,
                   "f": now, "l": now, "T": now, "m": sellers_took}  # fmt: skip
        trade = StreamMessage(SymbolStreams(symbol).agg_trade, msgspec.json.encode(payload))
        self._feed(market, [trade, StreamMessage(internal_names(symbol)[0], b"{}")], now)

    def move(self, now: int, most_bp: int = 40) -> None:
        market = self._market()
        symbol = self._symbol(market)
        data = self.markets[market]
        data.move(symbol, data.mid[symbol] * (10_000 + self.rng.randint(-most_bp, most_bp)) // 10_000)
        self._feed(market, [StreamMessage(internal_names(symbol)[0], b"{}")], now)

    def shock(self, now: int) -> None:
        """A mark far from where it was: margin calls and liquidations."""
        self.move(now, most_bp=1_500)

    def funding(self, now: int) -> None:
        market = self._market()
        symbol = self._symbol(market)
        time_ms = max(now - self.rng.randint(0, 30_000), self.funded.get(symbol, 0) + 1)
        self.funded[symbol] = time_ms
        rate = self.rng.choice(["0.00010000", "-0.00030000", "0.00375000"])
        data = self.markets[market]
        mark = fixed(data.mid[symbol], data.inst[symbol].price_decimals)
        event = FundingEvent(symbol, time_ms, rate, mark, now)  # told now
        self._feed(market, [StreamMessage(internal_names(symbol)[1], msgspec.json.encode(event))], now)

    def leverage(self, now: int) -> None:
        symbol = self._symbol()
        set_leverage(
            self._engine_of(symbol), self._account(), symbol, self.rng.choice([2, 10, 20, 50, 75, 125]), now
        )

    def margin_type(self, now: int) -> None:
        symbol = self._symbol()
        account_id = self._account()
        engine = self._engine_of(symbol)
        if self.rng.random() < 0.5:  # flat first, most often the only way it may change
            cancel_all(engine, account_id, symbol, now)
        set_margin_type(engine, account_id, symbol, self.rng.choice(["ISOLATED", "CROSSED"]), now)

    def position_mode(self, now: int) -> None:
        account_id = self._account()
        engine = self.rng.choice(self._engines())
        for each in self._engines():  # its open orders go first, most often the only way
            for symbol in list(each.ledger(account_id).open_orders):
                cancel_all(each, account_id, symbol, now)
        set_dual_side(engine, account_id, not self.venue.modes.is_hedged(account_id))

    def multi_assets(self, now: int) -> None:
        engine = self.venue.engines[Market.UM]
        account_id = self._account()
        set_multi_assets(engine, account_id, not engine.ledger(account_id).multi_assets, now)

    def fee_burn(self, now: int) -> None:
        engine = self.venue.engines[Market.UM]
        account_id = self._account()
        engine.apply(SetFeeBurn(account_id, not engine.ledger(account_id).fee_burn), now)

    def margin_move(self, now: int) -> None:
        account_id = self._account()
        held = [(e, s, side) for e in self._engines() for (s, side), p in e.ledger(account_id).positions.items()
                if p.amt and s in e.ledger(account_id).isolated]  # fmt: skip
        if not held:
            return
        engine, symbol, side = self.rng.choice(held)
        amount = "0.0004" if engine.market is Market.CM else self.rng.choice(["3", "25.5"])
        params = {"symbol": symbol, "amount": amount, "type": self.rng.choice(["1", "2"]),
                  "positionside": side.value}  # fmt: skip
        move_margin(
            engine, SimpleNamespace(account=SimpleNamespace(account_id=account_id), params=params), now
        )  # type: ignore[arg-type]

    def _conditional(self, symbol: str, account_id: int, names: tuple[str, str, str]) -> dict[str, str]:
        """A conditional order's parameters in an endpoint's ``names`` (its trigger price, its
        activation price, its trailing stops' callback rates, comma-separated)."""
        rng = self.rng
        engine = self._engine_of(symbol)
        trigger, activate, rates = names
        kind, side = rng.choice(TYPES), rng.choice(["BUY", "SELL"])
        away = rng.randint(1, 12) * (1 if (side == "BUY") == kind.startswith("STOP") else -1)
        params = {"symbol": symbol, "side": side, "type": kind}
        if kind == "TRAILING_STOP_MARKET":
            params["callbackrate"] = rng.choice(rates.split(","))
            if rng.random() < 0.4:
                params[activate] = self._price(symbol, -away)
        else:
            params[trigger] = self._price(symbol, away)
        if kind in ("STOP", "TAKE_PROFIT"):
            params["price"] = self._price(symbol, away + rng.randint(-3, 3))
            params["timeinforce"] = "GTD" if engine.market is Market.UM and rng.random() < 0.3 else "GTC"
            if params["timeinforce"] == "GTD":
                params["goodtilldate"] = str(self.clock.now_ms() + rng.randint(700, 5_000) * 1000)
        hedge = engine.ledger(account_id).hedge
        if hedge:
            params["positionside"] = rng.choice(["LONG", "SHORT"])
        if kind.endswith("_MARKET") and kind != "TRAILING_STOP_MARKET" and rng.random() < 0.25:
            params["closeposition"] = "true"
        else:
            params["quantity"] = self._qty(symbol, rng.choice([300, 3_000]))
            if not hedge and rng.random() < 0.2:
                params["reduceonly"] = "true"
        if rng.random() < 0.3:
            params["workingtype"] = "MARK_PRICE"
        return params

    def algo(self, now: int) -> None:
        symbol, account_id = self._symbol(), self._account()
        params = self._conditional(symbol, account_id, ("triggerprice", "activateprice", "0.1,0.3,1"))
        new_algo(self._engine_of(symbol), account_id, params | {"algotype": "CONDITIONAL"}, now)

    def legacy(self, now: int) -> None:
        """A conditional order on ``/v1/order`` in that endpoint's names (``--legacy-conditional-
        orders``): an order from placement to fill, cancelled and amended (refused) as one."""
        symbol, account_id = self._symbol(), self._account()
        params = self._conditional(symbol, account_id, ("stopprice", "activationprice", "0.1,0.5,2"))
        new_order(self._engine_of(symbol), account_id, params, now)
        self.done[f"placed legacy {params['type']}"] += 1

    def algo_cancel(self, now: int) -> None:
        account_id = self._account()
        found = [(e, o) for e in self.venue.every() for o in e.algos.open_orders(account_id)]
        if found:
            engine, order = self.rng.choice(found)
            cancel_algo(engine, account_id, {"symbol": order.symbol, "algoid": str(order.algo_id)}, now)

    def algo_cancel_all(self, now: int) -> None:
        symbol = self._symbol()
        cancel_all_algos(self._engine_of(symbol), self._account(), symbol, now)

    def deposit(self, now: int) -> None:
        market, asset, units = self.rng.choice(OPENING)
        sign = self.rng.choice([1, 1, -1])
        self.store.deposit(self._account(), market, asset, sign * units // self.rng.choice([4, 10]), now)
        self._feed(market, [], now)  # the next delivery tells it

    def countdown(self, now: int) -> None:
        self.countdowns.set(self._account(), self._symbol(), self.rng.choice([0, 3_000, 8_000]), now)

    # -- the end ----------------------------------------------------------------------------

    def save_counts(self) -> None:
        """The order-rate windows saved, as the server does once a second and at a stop."""
        self._turn()
        self.journal.save_counts(self._engines(), self.clock.now_ms())
