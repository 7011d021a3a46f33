"""``Sequencer.deliver``, the consumer's batch path, judges every event exactly as
``accept`` does: its inlined bookTicker case (a track found by the symbol alone) must never
differ, whatever streams share a symbol, whatever connections carry them, whatever is lost,
retired, covered or forgotten in between."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_sequencing import T0, book, trade  # the events the sequencer's own tests use

from tickerplant.client.events import CombinedFrame, MarketEvent
from tickerplant.client.sequencing import DELIVER, DUPLICATE, Gap, GapReason, Sequencer

BOOK = "btcusdt@bookTicker"
ALL = "!bookTicker"


def delivered(seq: Sequencer, stream: str, events: list[MarketEvent], conn: int = 1) -> list[Any]:
    out: list[Any] = []
    seq.deliver([CombinedFrame(stream, event) for event in events], conn, out.append)
    return out


def by_accept(seq: Sequencer, stream: str, events: list[MarketEvent], conn: int = 1) -> list[Any]:
    out: list[Any] = []
    for event in events:
        verdict = seq.accept(stream, event, conn)
        if verdict is DELIVER:
            out.append(event)
        elif verdict is not DUPLICATE:
            out += [verdict, event]
    return out


def test_a_forgotten_stream_starts_afresh_on_the_batch_path_too() -> None:
    # The symbol's track is remembered for the fast path: forgetting the stream must drop it,
    # or the next subscription's events would update the old track, which no loss reaches.
    seq = Sequencer()
    assert delivered(seq, BOOK, [book(10), book(11)]) == [book(10), book(11)]
    seq.forget(BOOK)
    assert delivered(seq, BOOK, [book(5), book(6), book(7)]) == [book(5), book(6), book(7)]
    seq.connection_lost([BOOK], T0 + 100, 1)
    gap, event = delivered(seq, BOOK, [book(20)], conn=2)
    assert isinstance(gap, Gap) and gap.reason is GapReason.RECONNECTED and gap.since_ms == T0 + 100
    assert event == book(20)


def test_a_symbol_on_two_streams_is_judged_per_stream() -> None:
    seq = Sequencer()
    history = [(BOOK, 10), (ALL, 10), (BOOK, 10), (ALL, 9), (ALL, 11), (BOOK, 11), (BOOK, 12), (ALL, 11)]
    out = [item for stream, u in history for item in delivered(seq, stream, [book(u)])]
    assert [e.update_id for e in out] == [10, 10, 11, 11, 12]


def test_other_kinds_in_a_batch_go_through_accept() -> None:
    seq = Sequencer()
    frames = [
        CombinedFrame("btcusdt@trade", trade(1)),
        CombinedFrame(BOOK, book(1)),
        CombinedFrame(BOOK, book(2)),
    ]
    frames += [CombinedFrame("btcusdt@trade", trade(3)), CombinedFrame("btcusdt@trade", trade(3))]
    out: list[Any] = []
    seq.deliver(frames, 1, out.append)
    assert out[:3] == [trade(1), book(1), book(2)]
    assert isinstance(out[3], Gap) and (out[3].first_missing, out[3].last_missing) == (2, 2)
    assert out[4:] == [trade(3)]


STREAMS = {BOOK: ["BTCUSDT"], "ethusdt@bookTicker": ["ETHUSDT"], ALL: ["BTCUSDT", "ETHUSDT"]}


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Batches of bookTickers over streams that share symbols, on two connections, mixed
    with losses, retirements, coverings and forgettings."""
    ops: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 40))):
        stream = draw(st.sampled_from(sorted(STREAMS)))
        conn = draw(st.integers(1, 2))
        kind = draw(st.sampled_from(["batch", "batch", "batch", "lost", "retired", "covered", "forget"]))
        if kind == "batch":
            events = [
                book(draw(st.integers(1, 30)), draw(st.sampled_from(STREAMS[stream])))
                for _ in range(draw(st.integers(1, 6)))
            ]
            ops.append(("batch", stream, events, conn))
        else:
            ops.append((kind, stream, conn))
    return ops


@settings(max_examples=300)
@given(histories())
def test_the_batch_path_hands_out_what_accept_decides(ops: list[tuple[Any, ...]]) -> None:
    fast, reference = Sequencer(), Sequencer()
    for at, op in enumerate(ops):
        kind, stream = op[0], op[1]
        for seq in (fast, reference):
            if kind == "lost":
                seq.connection_lost([stream], T0 + at, op[2])
            elif kind == "retired":
                seq.connection_retired([stream], op[2])
            elif kind == "covered":
                seq.covered(stream)
            elif kind == "forget":
                seq.forget(stream)
        if kind == "batch":
            assert delivered(fast, stream, op[2], op[3]) == by_accept(reference, stream, op[2], op[3])
    assert fast.tracked() == reference.tracked()
