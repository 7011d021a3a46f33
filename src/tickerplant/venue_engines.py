"""The venue's engines in a server process (one process, or the plant under ``--workers``):
made and restored from the journal (``venue_engines``), fed by the market's deliveries after
the views their book reads (``venue_hooks``: ``feed_engine``'s steps and the liquidations to
the plant, each ``Contained``), their journal committed once a loop iteration
(``group_commit``); its checkpoint and the order-rate windows' saves beside it are
``venue_checkpoints.py``'s."""

from __future__ import annotations

import asyncio
import functools
import logging
import operator
import os
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, NamedTuple

from tickerplant.bus import Bus
from tickerplant.clock import Clock
from tickerplant.config import ServerConfig
from tickerplant.feeds import Source
from tickerplant.feeds.relay.relay import RelaySource
from tickerplant.feeds.simulator.one_book import OneBook
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.gateway.log_budget import LogBudget, held_note
from tickerplant.market.book.queue import queue_model
from tickerplant.market.derivatives.mark_price import FUNDING_INTERVAL_MS
from tickerplant.market.history.marks import PastMarks
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.book.markets import ObservedMarket
from tickerplant.venue.book.published import PublishedMarket
from tickerplant.venue.clearing.funding_catch_up import CATCH_UP_MOST, missed_fundings
from tickerplant.venue.clearing.transfers import unseen_transfers
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import (
    AlgoTriggers,
    AutoExchange,
    ExpireGoodTill,
    Marks,
    MissedFundings,
    Trades,
    Transfers,
)
from tickerplant.venue.domain.orders import forget_drawn_ids, seeded_client_ids
from tickerplant.venue.engine import resting
from tickerplant.venue.journal.group_commit import GroupCommit, Stamped
from tickerplant.venue.journal.reads import JournalHistory
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.journal.unlisted import unlisted_holdings
from tickerplant.venue.ledger.position_modes import PositionModes
from tickerplant.venue.userstream.activity import VenueActivity

__all__ = [
    "Contained", "Heeded", "OperatorTransfers", "awaiting_market", "feed_engine",
    "group_commit", "journal_failed", "liquidations_to_plant", "restored",
    "settle_missed_fundings", "settle_unseen_transfers", "venue_engines", "venue_hooks",
]  # fmt: skip

log = logging.getLogger("tickerplant")
Step = Callable[..., None]  # (name, function, *its arguments): ``Contained``
os.register_at_fork(after_in_child=forget_drawn_ids)  # a forked child draws its own order ids


_stream = operator.itemgetter(0)  # a StreamMessage's stream


class Heeded(NamedTuple):
    """The streams of a market's deliveries that an engine's steps read: a delivery with
    none of a step's skips it (most are a venue order's depth and bookTicker alone)."""

    trades: frozenset[str]  # `@aggTrade`: resting orders' fills, algo orders' last prices
    marks: frozenset[str]  # `@markState`: algo orders' marks
    watched: frozenset[str]  # `@markState` and `@fundingEvent`: margin calls, liquidations, funding
    # the trades and, on an observed market, its `@depthDiff`: resting orders' places in their
    # queues move with the depth whether or not a trade comes in the same delivery
    fills: frozenset[str]

    @classmethod
    def of(cls, engine: Engine) -> Heeded:
        marks, trades = frozenset(engine.exposure.marks), frozenset(engine.agg_trade_streams)
        depths = frozenset() if engine.venue_market.meets_itself else frozenset(engine.queues.depth_streams)
        return cls(trades, marks, marks | frozenset(engine.exposure.fundings), trades | depths)


def feed_engine(
    engine: Engine, drain: Callable[[int], object], clock: Clock, transfers: OperatorTransfers,
    heeded: Heeded, step: Step, countdowns: Callable[[int], object] | None, messages: Sequence[StreamMessage],
) -> None:  # fmt: skip
    """The market's messages to its engine, after the view that its book reads; ``drain``:
    what the engine did, to the user data stream, whatever a step did. Each step, the drain
    too, runs through ``step`` (``Contained``): one that raises does not keep the others
    from this delivery (a bad state met by the watch would otherwise stop every account's
    fills, triggers and events). A step runs only on a delivery that can give it work
    (``heeded``): the fills with a trade or an observed market's depth change, the watch
    with a mark or a funding, the algo orders' triggers with a trade or a mark while one is
    open (``AlgoBook.wants``). The fills need an order resting (``resting.idle``); with
    none, and no algo order open, a delivery with a trade only notes its last prices
    (``AlgoBook.note``: -2021's check of an algo order placed later reads them), with no
    command: the ~400 deliveries a second of the simulated market cost the venue a few
    comparisons each while nobody trades. The GTD orders whose date has come, and the GTC
    orders a year old, end at the first delivery after it, before its trades can fill them
    (``good_till.py``); so do the orders of a ``countdownCancelAll`` that ran out
    (``countdowns``: ``CountdownTimer.run_due``), whose timer a replay outruns."""
    now_ms = clock.now_ms()
    try:
        step("transfers", transfers, engine, now_ms)  # the operator's deposits and withdrawals
        # orders whose date has come end before anything trades them (and algo orders, untriggered)
        due_ms, dated_ms = engine.good_till.next_ms(), engine.algos.next_date()
        if (due_ms is not None and due_ms <= now_ms) or (dated_ms is not None and dated_ms <= now_ms):
            step("expiry", engine.apply, ExpireGoodTill(), now_ms)  # (good_till.py)
        if countdowns is not None:  # and those of a countdown that ran out (gateway/countdowns.py)
            step("countdowns", countdowns, now_ms)
        streams = set(map(_stream, messages))  # read once: three steps ask of them
        traded = not heeded.trades.isdisjoint(streams)
        if not heeded.fills.isdisjoint(streams) and not resting.idle(engine):
            # resting orders the trades filled, moved in their queues by the depth (resting.py)
            step("fills", engine.apply, Trades(messages), now_ms)
        if not heeded.watched.isdisjoint(streams):
            step("watch", engine.apply, Marks(messages), now_ms)  # funding, margin calls, liquidations
        if engine.exposure.pooled:  # Multi-Assets accounts' wallets below the threshold (auto_exchange.py)
            step("exchange", engine.apply, AutoExchange(), now_ms)
        priced = traded or not heeded.marks.isdisjoint(streams)
        if engine.algos.wants(priced, engine.data.mark):  # the triggers the prices make (algo/triggers.py)
            step("algos", engine.apply, AlgoTriggers(messages), now_ms)  # it notes the prices itself
        elif traded:
            step("prices", engine.algos.note, engine.agg_trade_streams, messages)
    finally:
        step("drain", drain, now_ms)


def awaiting_market(engines: Collection[Engine]) -> bool:
    """Whether an engine has what the market's messages can act on: a resting order, an
    algo order waiting for its trigger or its child, or an account that may hold a
    position (``Exposure.holders``: a superset, pruned at the symbol's next mark), whose
    margin each mark judges. While none has, ``serve --replay`` may deliver its events a
    batch at a time (``ReplaySource.exact_while``): nothing can be filled, triggered or
    liquidated at the batch's end rather than at its own event's time."""
    return any(e.has_resting() or e.algos.by_symbol or e.algos.triggered or e.exposure.holders
               for e in engines)  # fmt: skip


class OperatorTransfers:
    """The operator's deposits and withdrawals (``venue/clearing/transfers.py``) to an
    engine at each delivery: what the keyring noticed moved, whoever had it look (a signed
    request's key does, as a delivery does). A delivery has it look (``Keyring.refresh``:
    one PRAGMA query when nothing moved, a ``stat`` of the file while there is none) once
    every ``LOOK_MS`` of the market's time: a transfer is told at the first delivery after
    somebody looked, within that at the latest. A look at every loop turn (the pump's ~450
    steps a second, each venue order's book) was most of an idle market's cost after its
    own work, for what the operator changes by hand a few times a day."""

    LOOK_MS = 100

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._next_look_ms = 0  # the market's time of the next look

    def __call__(self, engine: Engine, now_ms: int) -> None:
        keyring = self._keyring
        if now_ms >= self._next_look_ms:
            self._next_look_ms = now_ms + self.LOOK_MS
            keyring.refresh()
        moved = keyring.moved(engine.market)
        if moved:
            engine.apply(Transfers(tuple(moved)), now_ms)


def venue_engines(
    config: ServerConfig, source: Source, instruments: Mapping[Market, list[Instrument]],
    views: Mapping[Market, MarketView], accounts: Keyring, journal: SqliteJournal, group: GroupCommit,
    now_ms: int, past: PastSpec | None,
) -> dict[Market, Engine]:  # fmt: skip
    """One engine per market (its algo orders with it), restored from the journal, in the
    process whose plant publishes the book (``views``: what it published): on the simulated
    market its takers trade in the simulator's book (docs/venue.md). They journal through
    ``group``: one transaction a loop iteration (``venue/journal/group_commit.py``). Their
    order-rate windows open at ``now_ms`` go on from before the restart, and each judges an
    order by both markets' counts (one budget an account); the fundings that
    fell while the server was down are settled from the source's ``past``
    (``settle_missed_fundings``)."""
    modes = PositionModes()  # one position mode per account, for both markets
    seed = config.simulator.seed  # where the order and algo ids start (venue/domain/ids.py)
    made = {}
    for market, view in views.items():
        published = PublishedMarket(view)
        ids = seeded_client_ids(f"{config.simulator.seed}/{market.value}")  # a session replays
        listed, stamped = instruments[market], Stamped(group, market.value)  # whose wallets
        if isinstance(source, SimulatedMarket):  # takers trade in the simulated book
            book = OneBook(source, published, [inst.symbol for inst in listed])
            engine = Engine(
                market, listed, book, accounts, stamped, client_ids=ids, book=book, modes=modes, ids_seed=seed
            )
            restored(engine, journal, now_ms)
            # its fills hold public trade ids: the live ones go on above them
            source.trade_ids_above({symbol: taken - 1 for symbol, taken in engine.next_trade_id.items()})
        else:  # a replay's or relay's book: takers walk it and trade with no one
            engine = Engine(
                market, listed, published, accounts, stamped, client_ids=ids, modes=modes, ids_seed=seed,
                queue_model=queue_model(config.queue_model),  # where its resting orders stand (--queue-model)
            )
            if isinstance(engine.venue_market, ObservedMarket) and isinstance(source, RelaySource):
                engine.venue_market.times_are_ours = False  # a relay's: its upstream's clock
            restored(engine, journal, now_ms)
        engine.history = JournalHistory(journal, market, sorted({inst.margin_asset for inst in listed}))
        # the same seed after a restart must not make the last run's ids again (two orders of
        # an account under one id): the sequence goes on from what the journal holds
        held = sum(engine.next_order_id.values()) - sum(engine.first_order_ids.values())
        held += engine.algos.next_id - engine.algos.first_id
        if held:  # the orders' and the algo orders' client ids
            engine.client_ids = seeded_client_ids(f"{config.simulator.seed}/{market.value}/{held}")
        made[market] = engine
    if len(made) == 2:  # one order budget an account for both markets (``risk/order_counts.py``)
        um, cm = made[Market.UM].counts, made[Market.CM].counts
        um.peer, cm.peer = cm, um
        _say_unlisted(journal, [symbol for engine in made.values() for symbol in engine.instruments])
    settle_unseen_transfers(list(made.values()), accounts, journal, now_ms)
    if past is not None:
        settle_missed_fundings(list(made.values()), instruments, past)
    for engine in made.values():  # what the keyring sees move from now: told before any command
        engine.operator_moves = accounts.moved
        engine.legacy_conditional = engine.market.value in config.legacy_conditional_orders
    return made


def _say_unlisted(journal: SqliteJournal, listed: list[str]) -> None:
    """The journal's positions and open orders on symbols neither market lists now (a
    quarterly past its delivery: ``venue/journal/unlisted.py``), named: not restored."""
    db = journal.reader()
    held = unlisted_holdings(db, set(listed)) if db is not None else {}
    for symbol, (positions, orders) in held.items():
        log.warning(
            "the journal holds %d open position(s) and %d open order(s) on %s, which is no longer "
            "listed (a quarterly past its delivery, which the venue does not settle): not restored",
            positions, orders, symbol,
        )  # fmt: skip


def restored(engine: Engine, journal: SqliteJournal, now_ms: int) -> None:
    """``engine`` (new, its position modes shared with the other market's) as the journal
    holds it, the journal alone: its orders, fills, positions, settings and flows, the algo
    orders, and the order-rate windows open at ``now_ms`` (-1015's budget is not refilled by
    a restart). ``venue/journal/state.py`` says what a restart does not restore, and why."""
    journal.load(engine)
    journal.load_counts(engine, now_ms)


def settle_unseen_transfers(
    engines: Sequence[Engine], accounts: Keyring, journal: SqliteJournal, now_ms: int
) -> None:
    """What the operator moved while the server was down (or before it first ran), settled
    at the start: the balances now against the transfers journaled; what the view saw move
    before now is in that difference already, and what moves later is told as it moves. Each
    is stamped a millisecond before the start, as what came before it: an account's opening
    balance is its equity at the start of whatever runs from there (a run's report counts a
    transfer at or after its start as money moved during it, docs/report.md)."""
    accounts.refresh()  # the operator's balances now
    for engine in engines:
        accounts.moved(engine.market)
        moved = unseen_transfers(accounts.every_balance(), engine.market, journal.transferred(engine.market))
        engine.apply(Transfers(tuple(moved)), now_ms - 1)


def settle_missed_fundings(
    engines: Sequence[Engine], instruments: Mapping[Market, list[Instrument]], past: PastSpec
) -> None:
    """The fundings that fell while the server was down, settled at the rate and mark the
    simulated past's funding history gives them (``venue/clearing/funding_catch_up.py``), as at the
    live start. A failure is logged: the market starts all the same."""
    marks = PastMarks(SimulatedPast.of([i for insts in instruments.values() for i in insts], past))
    until = past.live_from_ms
    settled = 0
    for engine in engines:
        try:
            events = []
            for missed in missed_fundings(engine, until):
                if missed.left:
                    log.warning(
                        "%s: %d funding times before %d are older than the venue settles at a start "
                        "(the last %d); they stay unsettled", missed.symbol, missed.left, missed.first_ms,
                        CATCH_UP_MOST,
                    )  # fmt: skip
                count = (missed.last_ms - missed.first_ms) // FUNDING_INTERVAL_MS + 1
                found = marks.funding(missed.symbol, missed.first_ms, missed.last_ms, count, until)
                events += [funding.event() for funding in found]
            engine.apply(MissedFundings(tuple(events)), until)
            settled += len(events)
        except Exception:
            log.exception("the venue could not settle the fundings missed while down (%s)", engine.market)
    if settled:
        log.info("the venue settled %d funding times that fell while it was down", settled)


def group_commit(journal: SqliteJournal) -> GroupCommit:
    """The journal committed once a loop iteration, on the running loop."""
    return GroupCommit(journal, asyncio.get_running_loop().call_soon, journal_failed)


def journal_failed(error: sqlite3.Error) -> None:
    """The journal could not commit: the engines hold what it does not. Stop at once, before
    anything else is acknowledged; restarted, the venue is what the journal holds, and the
    clients whose answers never came query (``venue/journal/group_commit.py``)."""
    log.critical("the venue's journal could not commit (%s): stopping", error)
    logging.shutdown()
    os._exit(70)


def venue_hooks(
    engine: Engine, drain: Callable[[int], object], clock: Clock, keyring: Keyring,
    plant: Plant, bus: Bus, activity: VenueActivity, countdowns: Callable[[int], object] | None = None,
) -> list[Callable[[Sequence[StreamMessage]], None]]:  # fmt: skip
    """What the market's messages go to after the views that the engine's book reads: the
    engine (``feed_engine``, each of its steps ``contained``; ``countdowns``: the countdowns
    run out by a delivery's time), then the plant's ``@forceOrder``
    (``liquidations_to_plant``), itself ``contained``. On the running loop."""
    step = Contained(clock, activity)
    transfers = OperatorTransfers(keyring)
    return [
        functools.partial(feed_engine, engine, drain, clock, transfers, Heeded.of(engine), step, countdowns),
        functools.partial(step, "liquidations", liquidations_to_plant, engine, plant, bus, clock),
    ]


class Contained:
    """A venue step on a market delivery whose exception stays here: logged (its traceback
    once a minute per step, the rest counted) and counted in
    ``tickerplant_venue_feed_failures_total{hook=<step>}``. Without this, a venue bug met by
    one account's state went up through the bus into the source and stopped the market for
    every client. What the failed step half-did is in the engine's memory and not in the
    journal (a batch is journaled whole or not at all): a restart gives the journal's."""

    def __init__(self, clock: Clock, activity: VenueActivity) -> None:
        self._clock = clock
        self._activity = activity
        self._budget = LogBudget(per_interval=1, interval_ms=60_000)

    def __call__(self, name: str, fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            self._activity.failures[name] += 1
            if (held := self._budget.allow(name, self._clock.now_ms())) is not None:
                log.exception("the venue's %s step failed on a delivery%s", name, held_note(held))


def liquidations_to_plant(
    engine: Engine, plant: Plant, bus: Bus, clock: Clock, messages: Sequence[StreamMessage]
) -> None:
    """The venue's liquidation orders, to the plant's `@forceOrder` streams (pushed at its
    ticks, as the source's own liquidations are: venue/clearing/liquidation.py); those of a
    symbol the plant does not derive (a replayed recording's: its streams are as recorded)
    are not pushed."""
    liquidations = engine.exposure.liquidations
    if not liquidations:
        return
    out: list[StreamMessage] = []
    now_ms = clock.now_ms()
    symbols = plant.symbols
    while liquidations:
        liquidation = liquidations.popleft()
        if liquidation.symbol in symbols:
            plant.apply(liquidation, now_ms, out)
    bus.publish(engine.market, out)
