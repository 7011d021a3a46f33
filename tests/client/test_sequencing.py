"""Dedup and gap detection per stream: table cases, then properties over random histories."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.client.events import (
    AggTrade,
    BookTicker,
    DepthUpdate,
    MarketEvent,
    MiniTicker,
    Ticker,
    Trade,
)
from tickerplant.client.sequencing import DELIVER, DUPLICATE, Gap, GapReason, Sequencer, Verdict

ONE = Decimal(1)
T0 = 1_767_225_600_000


def book(u: int, symbol: str = "BTCUSDT", at: int | None = None) -> BookTicker:
    at = T0 + u if at is None else at
    return BookTicker(
        update_id=u,
        symbol=symbol,
        bid_price=ONE,
        bid_qty=ONE,
        ask_price=ONE,
        ask_qty=ONE,
        transaction_time=at,
        event_time=at,
    )


def trade(t: int, symbol: str = "BTCUSDT") -> Trade:
    return Trade(
        event_time=T0 + t,
        trade_time=T0 + t,
        symbol=symbol,
        trade_id=t,
        price=ONE,
        qty=ONE,
        buyer_is_maker=False,
    )


def agg(a: int) -> AggTrade:
    return AggTrade(
        event_time=T0 + a,
        agg_id=a,
        symbol="BTCUSDT",
        price=ONE,
        qty=ONE,
        first_trade_id=10 * a,
        last_trade_id=10 * a + 9,
        trade_time=T0 + a,
        buyer_is_maker=True,
    )


def depth(first: int, final: int, previous: int) -> DepthUpdate:
    return DepthUpdate(
        event_time=T0 + final,
        transaction_time=T0 + final,
        symbol="BTCUSDT",
        first_update_id=first,
        final_update_id=final,
        previous_final_update_id=previous,
        bids=[],
        asks=[],
    )


def mini(at: int, symbol: str = "BTCUSDT") -> MiniTicker:
    return MiniTicker(
        event_time=at, symbol=symbol, close=ONE, open=ONE, high=ONE, low=ONE, volume=ONE, quote_volume=ONE
    )


def ticker(at: int) -> Ticker:
    return Ticker(
        event_time=at,
        symbol="BTCUSDT",
        price_change=ONE,
        price_change_percent=ONE,
        weighted_avg_price=ONE,
        close=ONE,
        last_qty=ONE,
        open=ONE,
        high=ONE,
        low=ONE,
        volume=ONE,
        quote_volume=ONE,
        open_time=0,
        close_time=at,
        first_trade_id=1,
        last_trade_id=2,
        trade_count=2,
    )


def verdicts(
    seq: Sequencer, stream: str, events: Sequence[MarketEvent], conn: int = 1
) -> list[Verdict | Gap]:
    return [seq.accept(stream, event, conn) for event in events]


# ---- the rules, kind by kind ------------------------------------------------------------------


def test_book_ticker_ids_increase_but_skip_and_equal_or_older_is_duplicate() -> None:
    seq = Sequencer()
    events = [book(100), book(250), book(250), book(180), book(251), book(9000)]
    assert verdicts(seq, "btcusdt@bookTicker", events) == [
        DELIVER,
        DELIVER,
        DUPLICATE,
        DUPLICATE,
        DELIVER,
        DELIVER,
    ]


def test_tickers_dedupe_by_event_time() -> None:
    seq = Sequencer()
    assert verdicts(
        seq, "btcusdt@miniTicker", [mini(1000), mini(3000), mini(3000), mini(2000), mini(5000)]
    ) == [
        DELIVER,
        DELIVER,
        DUPLICATE,
        DUPLICATE,
        DELIVER,
    ]
    assert verdicts(seq, "btcusdt@ticker", [ticker(1000), ticker(1000), ticker(1001)]) == [
        DELIVER,
        DUPLICATE,
        DELIVER,
    ]


def test_trade_ids_are_consecutive_so_a_jump_names_the_missing_ids() -> None:
    seq = Sequencer()
    got = verdicts(seq, "btcusdt@trade", [trade(7), trade(8), trade(8), trade(6), trade(12), trade(13)])
    assert got == [
        DELIVER,
        DELIVER,
        DUPLICATE,
        DUPLICATE,
        Gap("btcusdt@trade", "BTCUSDT", "trade", GapReason.TRADE_IDS_SKIPPED, 9, 11, T0 + 8, T0 + 12),
        DELIVER,
    ]


def test_agg_trade_ids_likewise() -> None:
    seq = Sequencer()
    got = verdicts(seq, "btcusdt@aggTrade", [agg(1), agg(2), agg(4), agg(3), agg(5)])
    gap = Gap(
        "btcusdt@aggTrade", "BTCUSDT", "aggTrade", GapReason.AGG_TRADE_IDS_SKIPPED, 3, 3, T0 + 2, T0 + 4
    )
    assert got == [DELIVER, DELIVER, gap, DUPLICATE, DELIVER]


def test_depth_chains_on_pu_and_names_the_missing_update_ids() -> None:
    seq = Sequencer()
    stream = "btcusdt@depth@100ms"
    got = verdicts(
        seq,
        stream,
        [
            depth(157, 160, 149),  # first: nothing to chain to
            depth(165, 170, 160),  # U is not pu + 1 (hidden RPI updates, §4.9): still a chain
            depth(165, 170, 160),  # the same event again
            depth(150, 160, 149),  # an older one
            depth(190, 200, 180),  # events ending 171…180 never came
            depth(195, 210, 190),  # pu below the last u: another chain overlapping ours
            depth(211, 220, 210),
        ],
    )
    assert got == [
        DELIVER,
        DELIVER,
        DUPLICATE,
        DUPLICATE,
        Gap(stream, "BTCUSDT", "depthUpdate", GapReason.DEPTH_CHAIN_BROKEN, 171, 180, T0 + 170, T0 + 200),
        Gap(stream, "BTCUSDT", "depthUpdate", GapReason.DEPTH_CHAIN_BROKEN, None, None, T0 + 200, T0 + 210),
        DELIVER,
    ]


def test_all_market_streams_are_sequenced_per_symbol() -> None:
    seq = Sequencer()
    # !miniTicker@arr rows share one E; !bookTicker mixes symbols whose ids are unrelated.
    rows = [mini(1000, "BTCUSDT"), mini(1000, "ETHUSDT"), mini(1000, "BTCUSD_PERP")]
    assert verdicts(seq, "!miniTicker@arr", rows) == [DELIVER] * 3
    assert verdicts(seq, "!miniTicker@arr", rows) == [DUPLICATE] * 3
    books = [
        book(900, "BTCUSDT"),
        book(5, "ETHUSDT"),
        book(901, "BTCUSDT"),
        book(6, "ETHUSDT"),
        book(5, "ETHUSDT"),
    ]
    assert verdicts(seq, "!bookTicker", books) == [DELIVER, DELIVER, DELIVER, DELIVER, DUPLICATE]
    assert seq.tracked() == 5


def test_streams_are_independent() -> None:
    seq = Sequencer()
    assert seq.accept("btcusdt@bookTicker", book(10), 1) is DELIVER
    assert seq.accept("!bookTicker", book(10), 1) is DELIVER  # the same payload on another stream


# ---- connection loss, coverage and resumption -----------------------------------------------


def test_book_ticker_after_an_uncovered_loss_is_a_gap_from_the_loss() -> None:
    seq = Sequencer()
    stream = "btcusdt@bookTicker"
    seq.accept(stream, book(100), 1)
    seq.connection_lost([stream, "never-seen@trade"], at_ms=T0 + 500)
    seq.connection_lost([stream], at_ms=T0 + 700)  # the earliest loss counts
    assert seq.accept(stream, book(100), 2) is DUPLICATE  # an old copy proves nothing; still pending
    gap = Gap(stream, "BTCUSDT", "bookTicker", GapReason.RECONNECTED, None, None, T0 + 500, T0 + 900)
    assert seq.accept(stream, book(900), 2) == gap
    assert seq.accept(stream, book(901), 2) is DELIVER
    assert gap.reason == "reconnected; updates in between may be lost"


def test_tickers_after_a_loss_are_a_gap_too() -> None:
    seq = Sequencer()
    seq.accept("btcusdt@ticker", ticker(1000), 1)
    seq.connection_lost(["btcusdt@ticker"], at_ms=1500)
    verdict = seq.accept("btcusdt@ticker", ticker(3000), 2)
    assert isinstance(verdict, Gap)
    assert (verdict.kind, verdict.since_ms, verdict.until_ms) == ("24hrTicker", 1500, 3000)


def test_covered_streams_lost_nothing() -> None:
    seq = Sequencer()
    stream = "btcusdt@bookTicker"
    seq.accept(stream, book(100), 1)
    seq.connection_lost([stream], at_ms=T0 + 500)
    seq.covered(stream)
    assert seq.accept(stream, book(200), 2) is DELIVER
    seq.covered("never-seen")  # harmless


def test_a_loss_reported_with_its_connection_sees_coverage_itself() -> None:
    seq = Sequencer()
    stream = "btcusdt@bookTicker"
    # Rollover: connection 2 overlaps connection 1, then 1 closes.
    seq.accept(stream, book(100), 1)
    seq.accept(stream, book(100), 2)
    seq.accept(stream, book(101), 2)
    seq.connection_lost([stream], at_ms=T0 + 200, connection_id=1)
    assert seq.accept(stream, book(102), 2) is DELIVER
    # Now 2 drops with nobody else carrying the stream.
    seq.connection_lost([stream], at_ms=T0 + 300, connection_id=2)
    verdict = seq.accept(stream, book(400), 3)
    assert isinstance(verdict, Gap)
    assert verdict.since_ms == T0 + 300


def test_ids_decide_for_trades_after_a_loss() -> None:
    seq = Sequencer()
    stream = "btcusdt@trade"
    seq.accept(stream, trade(1), 1)
    seq.connection_lost([stream], at_ms=T0 + 50)
    assert seq.accept(stream, trade(2), 2) is DELIVER  # consecutive: nothing was missed
    seq.connection_lost([stream], at_ms=T0 + 60)
    gap = Gap(stream, "BTCUSDT", "trade", GapReason.TRADE_IDS_SKIPPED, 3, 4, T0 + 60, T0 + 5)
    assert seq.accept(stream, trade(5), 2) == gap


def test_depth_chain_proves_continuity_across_a_reconnect() -> None:
    seq = Sequencer()
    stream = "btcusdt@depth"
    seq.accept(stream, depth(1, 10, 0), 1)
    seq.connection_lost([stream], at_ms=T0)
    assert seq.accept(stream, depth(11, 20, 10), 2) is DELIVER


def test_resumed_marks_a_resume_even_when_the_loss_was_not_reported() -> None:
    seq = Sequencer()
    seq.accept("btcusdt@bookTicker", book(100), 1)
    verdict = seq.resumed("btcusdt@bookTicker", book(300), 2)
    assert verdict == Gap(
        "btcusdt@bookTicker", "BTCUSDT", "bookTicker", GapReason.RECONNECTED, None, None, T0 + 100, T0 + 300
    )
    seq.accept("btcusdt@trade", trade(1), 1)
    assert seq.resumed("btcusdt@trade", trade(2), 2) is DELIVER
    assert seq.resumed("new@bookTicker", book(1), 2) is DELIVER  # nothing before it


def test_forget_and_bounded_memory() -> None:
    seq = Sequencer()
    for u in range(10_000):
        seq.accept("btcusdt@bookTicker", book(u), u % 3)
        seq.accept("btcusdt@trade", trade(u), u % 7)
    assert seq.tracked() == 2
    seq.forget("btcusdt@trade")
    seq.forget("never-seen")
    assert seq.tracked() == 1
    assert seq.accept("btcusdt@trade", trade(1), 1) is DELIVER  # starts afresh


# ---- properties -------------------------------------------------------------------------------

Maker = Callable[[list[int]], list[MarketEvent]]


def book_events(ids: list[int]) -> list[MarketEvent]:
    return [book(u) for u in ids]


def trade_events(ids: list[int]) -> list[MarketEvent]:
    return [trade(t) for t in ids]


def agg_events(ids: list[int]) -> list[MarketEvent]:
    return [agg(a) for a in ids]


def mini_events(ids: list[int]) -> list[MarketEvent]:
    return [mini(at) for at in ids]


def depth_events(ids: list[int]) -> list[MarketEvent]:
    # Each id is an event's final u; pu chains to the previous one, U skips a little (§4.9).
    return [
        depth(previous + 1 + (final - previous) // 3, final, previous)
        for previous, final in zip([0, *ids], ids, strict=False)
    ]


KINDS: dict[str, tuple[Maker, bool]] = {  # name -> (maker, whether ids must be consecutive)
    "bookTicker": (book_events, False),
    "miniTicker": (mini_events, False),
    "trade": (trade_events, True),
    "aggTrade": (agg_events, True),
    "depth": (depth_events, False),
}


def key(event: MarketEvent) -> int:
    if isinstance(event, BookTicker):
        return event.update_id
    if isinstance(event, Trade):
        return event.trade_id
    if isinstance(event, AggTrade):
        return event.agg_id
    if isinstance(event, DepthUpdate):
        return event.final_update_id
    return event.event_time


@st.composite
def id_sequences(draw: st.DrawFn, consecutive: bool) -> list[int]:
    n = draw(st.integers(1, 60))
    start = draw(st.integers(1, 10**12))
    if consecutive:
        return list(range(start, start + n))
    steps = draw(st.lists(st.integers(1, 1000), min_size=n, max_size=n))
    ids, at = [], start
    for step in steps:
        at += step
        ids.append(at)
    return ids


@st.composite
def overlaps(draw: st.DrawFn) -> tuple[str, list[int], list[tuple[int, int]]]:
    """One id sequence carried by connection 1 from the start up to index `stop`, and by
    connection 2 from index `join` to the end (join <= stop: they overlap). Connection 2's
    first event arrives after connection 1 has delivered the one before it; after that the
    two copies interleave arbitrarily, each in its own order."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    ids = draw(id_sequences(KINDS[kind][1]))
    join = draw(st.integers(0, len(ids) - 1))
    stop = draw(st.integers(join, len(ids) - 1))
    first = [(1, i) for i in range(stop + 1)] + [(1, RETIRE)]  # then retired, as a rollover's
    second = [(2, i) for i in range(join, len(ids))]
    order = [first.pop(0) for _ in range(join)]
    while first or second:
        pick_first = bool(first) and (not second or draw(st.booleans()))
        order.append(first.pop(0) if pick_first else second.pop(0))
    return kind, ids, order


RETIRE = -1  # in ``overlaps``' order: the connection is retired here


@given(overlaps())
def test_overlapping_connections_deliver_every_id_exactly_once_in_order(
    case: tuple[str, list[int], list[tuple[int, int]]],
) -> None:
    kind, ids, order = case
    events = KINDS[kind][0](ids)
    seq = Sequencer()
    delivered = []
    for conn, index in order:
        if index == RETIRE:  # what the successor held while it ran ahead comes out now
            released = seq.connection_retired(["s"], conn)
            assert not any(isinstance(item, Gap) for item in released), released
            delivered += [key(item) for item in released]
            continue
        verdict = seq.accept("s", events[index], conn)
        assert not isinstance(verdict, Gap), verdict
        if verdict is DELIVER:
            delivered.append(key(events[index]))
    assert delivered == ids


@given(
    st.sampled_from(sorted(KINDS)).flatmap(
        lambda kind: st.tuples(st.just(kind), id_sequences(KINDS[kind][1]), st.data())
    )
)
def test_any_interleaving_never_delivers_twice_or_out_of_order_nor_loses_silently(
    case: tuple[str, list[int], st.DataObject],
) -> None:
    kind, ids, data = case
    events = KINDS[kind][0](ids)
    copies = [list(range(len(ids))), list(range(data.draw(st.integers(0, len(ids) - 1)), len(ids)))]
    seq = Sequencer()
    delivered: list[int] = []
    reported: set[int] = set()
    while copies[0] or copies[1]:
        conn = data.draw(st.sampled_from([c for c in (0, 1) if copies[c]]))
        event = events[copies[conn].pop(0)]
        verdict = seq.accept("s", event, conn)
        if verdict is DUPLICATE:
            continue
        if (
            isinstance(verdict, Gap)
            and verdict.first_missing is not None
            and verdict.last_missing is not None
        ):
            reported |= set(range(verdict.first_missing, verdict.last_missing + 1))
        delivered.append(key(event))
    assert delivered == sorted(set(delivered))
    if KINDS[kind][1]:
        # Consecutive ids: from the first delivered on, everything was delivered or named in
        # a gap. (An id older than the first one delivered precedes the stream's start.)
        assert set(delivered) | reported == {i for i in ids if i >= delivered[0]}


@given(
    st.sampled_from(["trade", "aggTrade", "depth"]).flatmap(
        lambda kind: st.tuples(st.just(kind), id_sequences(KINDS[kind][1]), st.data())
    )
)
def test_random_drops_produce_exactly_the_expected_gaps(case: tuple[str, list[int], st.DataObject]) -> None:
    kind, ids, data = case
    events = KINDS[kind][0](ids)
    kept = [0, *(i for i in range(1, len(ids)) if data.draw(st.booleans()))]  # the first always arrives
    seq = Sequencer()
    gaps = []
    for index in kept:
        verdict = seq.accept("s", events[index], 1)
        assert verdict is not DUPLICATE
        if isinstance(verdict, Gap):
            gaps.append((verdict.first_missing, verdict.last_missing))
    expected = []
    for before, after in itertools.pairwise(kept):
        if after != before + 1:
            # trade/agg name the missing ids; depth names the update ids of the missing events.
            expected.append((ids[before] + 1, ids[after - 1]))
    assert gaps == expected


@given(st.lists(st.integers(0, 3), min_size=1, max_size=40), st.data())
def test_memory_is_one_record_per_stream_and_symbol(streams: list[int], data: st.DataObject) -> None:
    seq = Sequencer()
    seen = set()
    for n, stream in enumerate(streams):
        symbol = data.draw(st.sampled_from(["BTCUSDT", "ETHUSDT"]))
        seq.accept(f"!s{stream}", book(n + 1, symbol), n)
        seen.add((stream, symbol))
    assert seq.tracked() == len(seen)


def test_ids_that_go_back_after_a_loss_are_a_restart_not_duplicates() -> None:
    seq = Sequencer()
    stream = "btcusdt@bookTicker"
    seq.accept(stream, book(900), 1)
    assert seq.accept(stream, book(800), 1) is DUPLICATE  # no loss: an old copy
    seq.connection_lost([stream], at_ms=T0 + 950)
    assert seq.accept(stream, book(900), 2) is DUPLICATE  # the same id proves nothing
    verdict = seq.accept(stream, book(5), 2)
    assert verdict == Gap(stream, "BTCUSDT", "bookTicker", GapReason.RESTARTED, None, None, T0 + 950, T0 + 5)
    assert seq.accept(stream, book(6), 2) is DELIVER
    assert seq.accept(stream, book(6), 2) is DUPLICATE
    seq.accept("btcusdt@trade", trade(50), 1)
    seq.connection_lost(["btcusdt@trade"], at_ms=T0 + 60)
    restarted = seq.accept("btcusdt@trade", trade(3), 2)
    assert isinstance(restarted, Gap) and restarted.reason is GapReason.RESTARTED
    assert seq.accept("btcusdt@trade", trade(4), 2) is DELIVER


def _handed_out(seq: Sequencer, stream: str, arrivals: list[tuple[int, BookTicker]]) -> list[object]:
    out: list[object] = []
    for conn, event in arrivals:
        verdict = seq.accept(stream, event, conn)
        if verdict is DELIVER:
            out.append(event.update_id)
        elif isinstance(verdict, Gap):
            out += [verdict.reason, event.update_id]
    return out


def test_a_successor_ahead_of_its_lagging_predecessor_loses_nothing_in_a_rollover() -> None:
    """The interleaving that lost a bookTicker without a gap (1 of 1,029 forced reconnects on
    a loaded machine): the predecessor's socket lags, so the successor's first updates come
    before the predecessor's copies of the updates in between. Delivered at once, they made
    those look like duplicates. Held, every update comes out once, in order."""
    stream = "btcusdt@bookTicker"
    seq = Sequencer()
    old, new = 1, 2
    got = _handed_out(seq, stream, [(old, book(100))])
    got += _handed_out(seq, stream, [(new, book(105)), (new, book(107))])  # ahead: held
    got += _handed_out(seq, stream, [(old, book(u)) for u in (101, 103, 105)])
    assert got == [100, 101, 103, 105]
    released = seq.connection_retired([stream], old)  # the rollover retires the old one
    assert [e.update_id for e in released] == [107]
    got += _handed_out(seq, stream, [(new, book(108))])
    assert got[-1] == 108


def test_a_predecessor_lost_before_its_successor_overlapped_is_a_gap_then_the_held_updates() -> None:
    stream = "btcusdt@bookTicker"
    seq = Sequencer()
    old, new = 1, 2
    got = _handed_out(seq, stream, [(old, book(100)), (new, book(105)), (new, book(107)), (old, book(101))])
    assert got == [100, 101]
    released = seq.connection_lost([stream], at_ms=T0 + 50, connection_id=old)  # 103 was in flight
    assert [type(item).__name__ for item in released] == ["Gap", "BookTicker", "BookTicker"]
    gap = released[0]
    assert gap.reason is GapReason.RECONNECTED and gap.since_ms == T0 + 50
    assert [e.update_id for e in released[1:]] == [105, 107]
    assert _handed_out(seq, stream, [(new, book(108))]) == [108]  # the successor carries it now


def test_held_updates_are_bounded_and_a_newer_newcomer_replaces_an_older_one() -> None:
    stream = "btcusdt@bookTicker"
    seq = Sequencer()
    _handed_out(seq, stream, [(1, book(1))])
    for u in range(2, 2 + 3 * 4096):
        assert seq.accept(stream, book(u), 2) is DUPLICATE  # held, never more than the bound
    track = seq._streams[stream]["BTCUSDT"]  # the bound is the point
    assert len(track.held) <= 4096 and track.overflowed
    seq.accept(stream, book(50_000), 3)  # another newcomer: the older one's held go
    assert [e.update_id for e in track.held] == [50_000] and track.holder == 3
    released = seq.connection_retired([stream], 1)  # what was let go is a gap, not silence
    assert isinstance(released[0], Gap) and [e.update_id for e in released[1:]] == [50_000]
