"""The NATS bus's framing, sans-I/O: frames, their sizes, their sequence."""

from __future__ import annotations

import msgspec
import pytest

from tickerplant.bus import StreamMessage
from tickerplant.bus.frames import (
    BUS_VERSION,
    PAST_RUNS,
    Continuity,
    Frame,
    Framer,
    Hold,
    Notice,
    Sequencer,
    StatePart,
    Unreadable,
    decode_frame,
    decode_state_part,
    state_parts,
)

BOOK = StreamMessage("btcusdt@bookTicker", b'{"e":"bookTicker","u":400900217,"s":"BTCUSDT"}')
DIFF = StreamMessage("btcusdt@depth@100ms", b'{"e":"depthUpdate","U":1,"u":2,"pu":1}')


def test_a_batch_is_one_frame_and_its_payloads_come_back_byte_for_byte() -> None:
    framer = Framer(epoch=7, limit=1 << 20)
    (data,) = framer.frames([BOOK, DIFF])
    frame = decode_frame(data)
    assert frame == Frame(BUS_VERSION, 7, 1, [BOOK, DIFF])
    assert all(type(message) is StreamMessage for message in frame.messages)
    assert frame.messages[0].payload == BOOK.payload


def test_the_frame_is_a_documented_msgpack_array() -> None:
    (data,) = Framer(epoch=7, limit=1 << 20).frames([BOOK])
    assert msgspec.msgpack.decode(data) == [BUS_VERSION, 7, 1, [[BOOK.stream, BOOK.payload]], None]


def test_frames_are_numbered_one_by_one_per_framer() -> None:
    framer = Framer(epoch=1, limit=1 << 20)
    seqs = [decode_frame(data).seq for _ in range(3) for data in framer.frames([BOOK])]
    assert seqs == [1, 2, 3]


def test_a_batch_over_the_limit_is_split_in_order_and_each_frame_fits() -> None:
    messages = [StreamMessage(f"s{i}@trade", b"x" * 100) for i in range(50)]
    framer = Framer(epoch=3, limit=1000)
    frames = framer.frames(messages, Notice(["s1@trade"], "lost upstream"))
    assert len(frames) > 1
    assert all(len(data) <= 1000 for data in frames)
    decoded = [decode_frame(data) for data in frames]
    assert [f.seq for f in decoded] == list(range(1, len(frames) + 1))
    assert [m for f in decoded for m in f.messages] == messages
    # the notice comes with the last of the batch, after every message before it
    assert [f.notice for f in decoded] == [None] * (len(frames) - 1) + [Notice(["s1@trade"], "lost upstream")]


def test_a_notice_alone_is_a_frame_of_its_own() -> None:
    framer = Framer(epoch=3, limit=1000)
    (data,) = framer.frames([], Notice(finished=True, reason="the replay ended"))
    assert decode_frame(data) == Frame(BUS_VERSION, 3, 1, [], Notice([], "the replay ended", True, False))


def test_one_message_over_the_limit_is_refused_not_cut() -> None:
    with pytest.raises(ValueError, match="huge@trade"):
        Framer(epoch=1, limit=100).frames([StreamMessage("huge@trade", b"x" * 200)])


def test_the_sequencer_tells_next_gap_restart_and_stale() -> None:
    sequencer = Sequencer()
    assert sequencer.follow(5, 10) == (Continuity.FIRST, 9)  # joined mid-stream, 9 frames in
    assert sequencer.follow(5, 11).continuity is Continuity.NEXT
    assert sequencer.follow(5, 14) == (Continuity.GAP, 2)
    assert sequencer.follow(5, 14).continuity is Continuity.STALE
    assert sequencer.follow(5, 12).continuity is Continuity.STALE
    assert sequencer.follow(5, 15).continuity is Continuity.NEXT
    assert sequencer.follow(9, 1) == (Continuity.RESTARTED, 0)
    assert sequencer.follow(9, 2).continuity is Continuity.NEXT
    assert (sequencer.gaps, sequencer.missed) == (1, 2)


def test_the_sequencer_says_whether_it_met_a_publishers_run() -> None:
    """What a gateway asks before it hands on a plant's answer (``venue_link``): the run is
    this one or one before it; a run not met yet (a restarted plant's) is not."""
    sequencer = Sequencer()
    assert not sequencer.met(5)  # no frame of any run yet
    sequencer.follow(5, 3)  # joined late: met all the same
    assert sequencer.met(5) and not sequencer.met(9)
    sequencer.follow(9, 1)  # restarted
    assert sequencer.met(5) and sequencer.met(9)  # the run before is over, not to come
    for epoch in range(10, 10 + PAST_RUNS):  # restarted again and again
        sequencer.follow(epoch, 1)
    assert sequencer.met(9) and not sequencer.met(5)  # remembered: the last PAST_RUNS


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\x93\x01", "not a frame"),
        (msgspec.msgpack.encode([1, 7, 1, [], None]), "a frame of bus version 1; this tickerplant reads version 4"),
        (msgspec.msgpack.encode([BUS_VERSION, 7, "one", [], None]), "not a frame: Expected `int`"),
        (msgspec.msgpack.encode([BUS_VERSION, 7, 0, [], None]), "not a frame: sequence number 0"),
        (msgspec.msgpack.encode([7, 1, [[BOOK.stream, BOOK.payload]], None]), "a frame of bus version 7"),
        (b"\x80\x04\x95", "not a frame"),  # a pickle's first bytes: never unpickled
    ],
)
def test_what_is_not_a_frame_of_this_version_is_unreadable_and_says_why(data: bytes, said: str) -> None:
    with pytest.raises(Unreadable, match=said):
        decode_frame(data)


def test_a_state_is_cut_into_parts_that_join_again() -> None:
    state = bytes(range(256)) * 40
    parts = [decode_state_part(data) for data in state_parts(3, 17, state, limit=1000)]
    assert [(p.epoch, p.seq, p.index, p.count) for p in parts] == [(3, 17, i, 11) for i in range(11)]
    assert b"".join(p.data for p in parts) == state
    (empty,) = [decode_state_part(data) for data in state_parts(3, 0, b"", limit=1000)]
    assert (empty.count, empty.data) == (1, b"")


def test_a_part_out_of_its_count_or_of_another_version_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="part 3 of 3"):
        decode_state_part(msgspec.msgpack.encode(StatePart(BUS_VERSION, 1, 1, 3, 3, b"")))
    with pytest.raises(Unreadable, match="bus version 9"):
        decode_state_part(msgspec.msgpack.encode(StatePart(9, 1, 1, 0, 1, b"")))


def _frames(epoch: int, seqs: range) -> list[Frame]:
    return [Frame(BUS_VERSION, epoch, seq, [BOOK]) for seq in seqs]


def test_a_hold_gives_the_frames_a_state_holds_and_those_after_and_drops_its_oldest() -> None:
    hold = Hold(limit=250)
    for frame in _frames(5, range(1, 4)):
        hold.add(frame, 100)  # two fit: the first is dropped
    assert (hold.size, hold.dropped) == (200, (5, 1))
    assert hold.after((5, 1)) == ([], _frames(5, range(2, 4)))
    assert hold.after((5, 2)) == (_frames(5, range(2, 3)), _frames(5, range(3, 4)))
    # a state older than a frame dropped: the frames after it are not all there
    assert hold.after((5, 0)) is None
    assert hold.after(None) is None
    assert hold.after((6, 9)) is None  # another run's state: cannot tell, so ask again
    whole = Hold()
    for frame in _frames(5, range(1, 3)):
        whole.add(frame, 100)
    assert whole.after(None) == ([], _frames(5, range(1, 3)))
