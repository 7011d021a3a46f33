"""The venue's core in process against a bare matching book.

    python -m benchmarks matching [--quick] [--commands 200000] [--accounts 1000] [--parts | --instructions]

exchange-core's command mix, made once before anything is timed: 9 % GTC limits (resting
away from the best price), 3 % IOC (crossing the book), 6 % cancels, 82 % moves (a resting
order's price changed), spread over ``--accounts`` accounts on BTCUSDT, each with 10⁶ USDT.
The venue's core (``venue.engine.Engine.apply``: margin checks on, events made, an ``Amend``
for the moves), given typed commands as the floor is (the wire's parsing is not the core's),
takes them against a published book of 50 levels a side (its events drained as the user data
stream drains them, ``DRAINED_EVERY`` commands at a time), first with a journal that only counts,
then with the real SQLite journal (WAL, one commit per command), then once more with each
command timed apart by its kind (a move, a resting GTC, an IOC, a cancel: where a command's
time goes, against the ~6.7 µs a command 0.15 of the floor leaves); the
floor (``floor.BareBook``, PERFORMANCE.md's bare price-time book) takes the same commands
against the same levels, each timed run under the collector as a served process has it
(``parts.as_served``). Commands per second, best of ``--repeats`` rounds, the floor, the venue
and the lean core run back to back in each (the machine's speed moves by a third within
minutes: runs apart would compare two machines); each round's ratio is printed too. Target:
venue / floor ≥ 0.15. Then what a moving mark costs the lean core's running totals (every
seat valued again, ``lean.revaluation``), µs a seat. Then, for scale, µs per public trade
filling resting orders without the one book (``run_trades``, ten far orders resting per
account). It always exits 0: it measures.

``--parts``: only where a command of the mix goes, each of the core's larger parts taken
out in turn (``taken_out.py``): what it costs, µs a command, in the pure-Python core.
``--functions``: only the bytecodes of each kind of command by the function executing them
(``bytecodes.FunctionKinds``), each kind's largest: where its count goes, function by function.
``--instructions``: only the instructions a command of the mix's first ``TRACED`` costs the
floor, the lean core and the venue (``instructions.py``: valgrind's callgrind, a count the
machine does not move).
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import msgspec

from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Amend, Cancel, NewOrder, Place, Trades
from tickerplant.venue.domain.orders import OrderType, Side, TimeInForce
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.order_entry import new_order

from ..harness.report import Target, verdict
from .bytecodes import CountedKinds, FunctionKinds, a_command
from .floor import BareBook
from .instructions import instructions
from .lean import lean_loop, revaluation, run_lean
from .open_orders import run_open_orders
from .parts import T0, Counting, Deposits, Kinds, as_served, resting_price, taking_price
from .same_symbol import run_same_symbol
from .taken_out import taken_out

TARGET = Target(0.15)
MID = 6_000_000  # 60000.00 in BTCUSDT's price units (2 decimals)
LEVELS = 50
TRACED = 20_000  # commands whose bytecodes are counted (``bytecodes.py``)
# the user data stream takes the events once a group commit (``GroupCommit.later``:
# ``Outbox.take_made``), and a flat-out group holds ~14 commands (docs/benchmarks.md, "A
# request's path, shorter"): drained so here, not a command at a time through ``take``
# (a flattening list per command, ~1.8 % of a command's instructions charged to the core)
DRAINED_EVERY = 16
Command = tuple[str, int, int, int]  # (kind, account, side 0 buy / 1 sell, price or order index)


class Published:
    """The market's book as the engine reads it: 50 levels a side around 60000, fixed."""

    def __init__(self) -> None:
        self.bids = [(MID - 100 * (i + 1), 50_000) for i in range(LEVELS)]
        self.asks = [(MID + 100 * i, 50_000) for i in range(LEVELS)]
        self.by_price = {True: dict(self.bids), False: dict(self.asks)}
        # one object while the mark stands, as the served market's marks (``mark_state``)
        # cache theirs per payload: a Fraction made per read was harness cost charged to the venue
        self._mark = Fraction(MID, 100)

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        return iter(self.bids if bids else self.asks)

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        return self.by_price[bids].get(price, 0)  # as the plant's book answers it: a lookup

    def mark(self, symbol: str) -> Fraction | None:
        return self._mark

    def book_id(self, symbol: str) -> int | None:
        return None  # fixed levels: every taker meets them whole

    def halted(self, symbol: str) -> bool:
        return False  # no followed book here


def commands(count: int, accounts: int, seed: int = 7) -> list[Command]:
    rng = random.Random(seed)
    made: list[Command] = []
    placed = 0
    for _ in range(count):
        roll = rng.random()
        account = rng.randrange(1, accounts + 1)
        side = rng.randrange(2)
        if roll < 0.09 or placed < 100:  # GTC: rests 1 to 20 ticks off its side's best
            made.append(("gtc", account, side, rng.randrange(1, 21)))
            placed += 1
        elif roll < 0.12:
            made.append(("ioc", account, side, 0))
        elif roll < 0.18:
            made.append(("cancel", account, side, rng.randrange(placed)))
        else:
            made.append(("move", account, side, rng.randrange(placed)))
    return made


def run_venue(made: list[Command], accounts: int, journal: object, kinds: Kinds | None = None) -> float:
    """Commands a second; ``kinds``: each command's time kept by its kind instead (``Kinds``:
    the clock read around each, so the rate is not the figure then)."""
    engine = Engine(Market.UM, catalogue(Market.UM, T0), Published(), Deposits(accounts), journal)  # type: ignore[arg-type]
    # a name of its own, not the engine's attribute: a compiled engine's (mypyc) is read-only
    apply = engine.apply if kinds is None else kinds.timed(engine.apply)
    inst = engine.instruments["BTCUSDT"]
    with as_served():  # the last run's engine, a cycle, collected before this one is timed
        return _venue_loop(made, engine, apply, inst)


def _venue_loop(
    made: list[Command], engine: Engine, apply: Callable[[Any, int], Any], inst: Instrument
) -> float:
    resting: list[tuple[int, int, int] | None] = []  # by GTC index: (account, order id, side)
    now = T0
    started = time.perf_counter()
    for kind, account, side, arg in made:
        now += 1
        buy = Side.BUY if side == 0 else Side.SELL
        try:
            if kind == "gtc":
                price = resting_price(MID, side, arg)
                order = NewOrder(inst, buy, OrderType.LIMIT, TimeInForce.GTC, price, 1, False, None, False, 0,
                                 "NONE", "NONE")  # fmt: skip
                placed = apply(Place(account, order), now)
                assert placed.order is not None
                resting.append((account, placed.order.order_id, side))
            elif kind == "ioc":
                price = taking_price(MID, side)
                order = NewOrder(inst, buy, OrderType.LIMIT, TimeInForce.IOC, price, 2, False, None, False, 0,
                                 "NONE", "NONE")  # fmt: skip
                apply(Place(account, order), now)
            else:
                found = resting[arg] if arg < len(resting) else None
                if found is None:
                    continue
                owner, order_id, own_side = found
                if kind == "cancel":
                    apply(Cancel(owner, "BTCUSDT", order_id, None), now)
                    resting[arg] = None
                else:
                    price = resting_price(MID, own_side, 1 + now % 20)
                    own = Side.BUY if own_side == 0 else Side.SELL
                    apply(Amend(owner, "BTCUSDT", order_id, None, own, 1, price), now)
        except Exception as exc:  # a refusal (-5027 for a move to the same price): a command all the same
            if not hasattr(exc, "code"):
                raise
        if now % DRAINED_EVERY == 0:
            engine.outbox.take_made()
    return len(made) / (time.perf_counter() - started)


def run_floor(made: list[Command]) -> float:
    book = BareBook()
    next_id = 1
    for price, qty in Published().bids:
        for _ in range(10):
            book.place(next_id, 0, price, qty // 10, True)
            next_id += 1
    for price, qty in Published().asks:
        for _ in range(10):
            book.place(next_id, 1, price, qty // 10, True)
            next_id += 1
    with as_served():
        return _floor_loop(made, book, next_id)


def _floor_loop(made: list[Command], book: BareBook, next_id: int) -> float:
    resting: list[tuple[int, int] | None] = []
    now = 0
    started = time.perf_counter()
    for kind, _account, side, arg in made:
        now += 1
        if kind == "gtc":
            book.place(next_id, side, resting_price(MID, side, arg), 1, True)
            resting.append((next_id, side))
            next_id += 1
        elif kind == "ioc":
            book.place(next_id, side, taking_price(MID, side), 2, False)
            next_id += 1
        else:
            found = resting[arg] if arg < len(resting) else None
            if found is None:
                continue
            order_id, own_side = found
            book.cancel(order_id)
            if kind == "cancel":
                resting[arg] = None
            else:
                book.place(next_id, own_side, resting_price(MID, own_side, 1 + now % 20), 1, True)
                resting[arg] = (next_id, own_side)
                next_id += 1
    return len(made) / (time.perf_counter() - started)


def run_trades(accounts: int, trades: int = 2000, per_account: int = 10) -> tuple[int, float]:
    """Without the one book (a replay's or relay's market) the market's public trades fill
    resting orders: ``per_account`` far LIMIT orders rest for each account, then ``trades``
    aggTrades near the mid arrive; the resting orders, and µs a trade (``resting.receive``)."""
    engine = Engine(Market.UM, catalogue(Market.UM, T0), Published(), Deposits(accounts), Counting())  # type: ignore[arg-type]
    rng, now = random.Random(11), T0
    for account in range(1, accounts + 1):
        for _ in range(per_account):
            now += 7  # within the order limits
            buy, step = rng.randrange(2) == 0, rng.randrange(1, 200)
            price = MID - 100 - 100 * step if buy else MID + 100 * step
            params = {"symbol": "BTCUSDT", "side": "BUY" if buy else "SELL", "type": "LIMIT",
                      "timeinforce": "GTC", "quantity": "0.001", "price": f"{price / 100:.2f}"}  # fmt: skip
            new_order(engine, account, params, now)
    engine.outbox.take()
    made = []
    for n in range(trades):
        price = MID + 10 * rng.randrange(-50, 50)
        payload = {"e": "aggTrade", "E": now, "a": n, "s": "BTCUSDT", "p": f"{price / 100:.2f}", "q": "0.001",
                   "nq": "0", "f": 1, "l": 1, "T": now, "m": rng.random() < 0.5}  # fmt: skip
        made.append(StreamMessage("btcusdt@aggTrade", msgspec.json.encode(payload)))
    gc.collect()
    started = time.perf_counter()
    for message in made:
        engine.apply(Trades(tuple([message])), now)
    return len(engine.resting("BTCUSDT")), (time.perf_counter() - started) / trades * 1e6


def print_bytecodes(first: list[Command], accounts: int) -> None:
    """The bytecodes a command of ``first`` (``bytecodes.py``); none of a compiled core's."""
    if not hasattr(Engine.apply, "__code__"):  # a compiled build's (mypyc): no bytecode of its own
        print("  Python bytecodes a command: not counted, the venue's core is compiled")
        return
    bids, asks = Published().bids, Published().asks
    floor = a_command(run_floor, first, run_floor, _floor_loop)
    lean = a_command(lambda m: run_lean(m, accounts, bids, asks, MID), first, run_lean, lean_loop)
    venue = a_command(lambda m: run_venue(m, accounts, Counting()), first, run_venue, _venue_loop)
    print(f"  Python bytecodes a command (the mix's first {len(first):,}, traced: a count the machine"
          f" does not move): floor {floor:,.0f}, lean core {lean:,.0f}, venue {venue:,.0f}"
          f" ({venue / lean:.1f}× the lean core's)")  # fmt: skip
    kinds = CountedKinds()
    run_venue(list(first), accounts, Counting(), kinds)
    print(f"  the venue's by the command's kind (each counted apart): {kinds.report(len(first))}")


def print_functions(first: list[Command], accounts: int, top: int = 16) -> None:
    """``--functions``: each kind's bytecodes a call by the function that executes them, the
    ``top`` functions of each (``bytecodes.FunctionKinds``): where a rewrite's cuts would fall."""
    print(f"== bytecodes by function, the mix's first {len(first):,} commands, {accounts:,} accounts:"
          " a function's own a call of the kind (the share of the calls that ran it)")  # fmt: skip
    kinds = FunctionKinds()
    run_venue(first, accounts, Counting(), kinds)
    for line in kinds.lines(top):
        print(f"  {line}")


def print_instructions(commands: int, accounts: int) -> None:
    """``--instructions``: the instructions a command of the mix's first ``commands``
    (``instructions.py``, callgrind), the floor's, the lean core's and the venue's."""
    print(f"== instructions a command of the mix's first {commands:,} (callgrind), {accounts:,} accounts")
    floor, lean, venue = (instructions(kind, commands, accounts) for kind in ("floor", "lean", "venue"))
    if floor is None or lean is None or venue is None:
        print("  not counted: valgrind (with callgrind_control) is not installed")
        return
    print(f"  floor {floor:,.0f}, lean core {lean:,.0f}, venue {venue:,.0f}"
          f" ({venue / lean:.1f}× the lean core's)")  # fmt: skip


def print_parts(made: list[Command], args: argparse.Namespace) -> None:
    """``--parts``: the mix's µs a command whole and with each part taken out (``taken_out.py``)."""
    print(f"== where a command of the mix goes: {len(made):,} commands, {args.accounts:,} accounts,"
          f" best of {args.repeats} each")  # fmt: skip
    for found in taken_out(lambda: 1e6 / run_venue(made, args.accounts, Counting()), args.repeats):
        if len(found) == 2:
            print(f"  {found[0]}: {found[1]}")
            continue
        name, whole, without = found
        print(f"  {name}: {whole:.1f} µs a command whole, {without:.1f} without it:"
              f" {whole - without:+.1f} µs ({(whole - without) / whole:.0%})")  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks matching", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="20,000 commands, 2 repeats")
    p.add_argument("--commands", type=int, default=None, help="commands (200,000; 20,000)")
    p.add_argument("--accounts", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=None, help="best of (3; 2)")
    p.add_argument("--parts", action="store_true", help="only where a command goes, part by part")
    p.add_argument(
        "--functions", action="store_true",
        help=f"only the bytecodes of each kind of command by function, the mix's first {TRACED:,} (~1 min)",
    )  # fmt: skip
    p.add_argument(
        "--instructions", action="store_true",
        help=f"only the instructions a command of the mix's first {TRACED:,} (valgrind's callgrind; ~1 min)",
    )  # fmt: skip
    args = p.parse_args(argv)
    args.commands = args.commands or (20_000 if args.quick else 200_000)
    args.repeats = args.repeats or (2 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.instructions:
        print_instructions(TRACED, args.accounts)
        return 0
    if args.functions:
        print_functions(commands(TRACED, args.accounts), args.accounts)
        return 0
    made = commands(args.commands, args.accounts)
    if args.parts:
        print_parts(made, args)
        return 0
    print(f"== the venue's core against a bare book: {args.commands:,} commands, {args.accounts:,} accounts")
    bids, asks = Published().bids, Published().asks
    rounds: list[tuple[float, float, float]] = []
    for _ in range(args.repeats):  # interleaved: each round's three runs see the machine at one speed
        rounds.append((run_floor(made), run_venue(made, args.accounts, Counting()),
                       run_lean(made, args.accounts, bids, asks, MID)))  # fmt: skip
    floor, venue, lean = (max(each) for each in zip(*rounds, strict=True))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "venue.db"
        AccountStore(path).close()
        journal = SqliteJournal(path)
        journaled = run_venue(made[: max(1, args.commands // 10)], args.accounts, journal)
        journal.close()
    print(f"  floor (bare price-time book): {floor:,.0f} commands/s")
    print(f"  venue (engine, margin, events; journal counting): {venue:,.0f} commands/s")
    spread = ", ".join(f"{v / f:.3f}" for f, v, _ in rounds)
    print(f"  venue / floor round by round (the two run back to back): {spread}")
    print(f"  a lean core (the least these commands take under Binance's rules, lean.py): {lean:,.0f}"
          f" commands/s, {lean / floor:.3f} of the floor")  # fmt: skip
    valued, per_seat = revaluation(made, args.accounts, bids, asks, MID)
    print(f"  a mark valuing again every seat of the lean core after the mix (what running totals kept"
          f" as marks move cost): {valued:,} seats, {per_seat:.2f} µs a seat; a mark a second on a symbol"
          f" with them: {valued * per_seat / 1e4:.3f} % of a core")  # fmt: skip
    tenth = args.commands // 10
    print(f"  venue with the SQLite journal (a commit a command, {tenth:,} commands): {journaled:,.0f}/s")
    kinds = Kinds()
    run_venue(made, args.accounts, Counting(), kinds)
    print(f"  a command by its kind (each timed apart, µs): {kinds.report(len(made))}")
    print_bytecodes(made[:TRACED], args.accounts)
    resting, per_trade = run_trades(args.accounts)
    print(f"  a public trade without the one book, {resting:,} orders resting: {per_trade:,.1f} µs a trade")
    alone, full, open_orders = run_open_orders(200 if args.quick else 2000)
    print(f"  a placement and its cancel: {alone:,.1f} µs with no open order, {full:,.1f} µs with "
          f"{open_orders:,} open on the other symbols ({full / alone:.1f}×)")  # fmt: skip
    for market in (Market.UM, Market.CM):
        (check_1, pair_1), (check_k, pair_k) = run_same_symbol(200 if args.quick else 2000, market)
        print(f"  {market.name}: a placement's margin check, 1 vs 1,000 open on its symbol: "
              f"{check_1:,.1f} µs, {check_k:,.1f} µs ({check_k / check_1:.2f}×)")  # fmt: skip
        print(f"  {market.name}: placement+cancel, 1 vs 1,000 open on its symbol: {pair_1:,.1f} µs, "
              f"{pair_k:,.1f} µs ({pair_k / pair_1:.2f}×)")  # fmt: skip
    print(verdict("venue / floor", venue / floor, TARGET, 3))
    return 0
