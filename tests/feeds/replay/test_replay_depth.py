"""The replay core and a recording's depth (no sockets): the recorded diff stream and
snapshots keep a book per symbol, told to the views as `@depthDiff` beside the recorded
frames; before ``--start`` only the book is kept, and it is where the replay starts."""

from __future__ import annotations

import msgspec

from tickerplant.bus import StreamMessage
from tickerplant.feeds.replay.recorded import recorded_events
from tickerplant.feeds.replay.replayer import Replayer, StreamsBroken
from tickerplant.market.book.followed import BookMessage
from tickerplant.market.instruments import Market, catalogue
from tickerplant.recording.format import Item, Recorded, RecordedLoss, RecordedSnapshot

NOW_MS = 1_767_225_600_000
BTC = next(i for i in catalogue(Market.UM, NOW_MS) if i.symbol == "BTCUSDT")
BOOK = "btcusdt@depth@100ms"
VIEW = "btcusdt@depthDiff"
_message = msgspec.json.Decoder(BookMessage)


def diff(first: int, last: int, previous: int, bid: str) -> bytes:
    return (
        b'{"e":"depthUpdate","E":1,"T":%d,"s":"BTCUSDT","U":%d,"u":%d,"pu":%d,"b":[["%b","1.000"]],"a":[]}'
        % (last, first, last, previous, bid.encode())
    )


SNAPSHOT = b'{"lastUpdateId":104,"E":1,"T":104,"bids":[["100.00","2.000"]],"asks":[["101.00","1.000"]]}'
ITEMS: list[Item] = [
    Recorded(500, "btcusdt@depth5", b"{}"),  # before the start, not the book stream: skipped
    Recorded(1000, BOOK, diff(101, 105, 100, "99.00")),
    RecordedSnapshot(2000, "BTCUSDT", SNAPSHOT),
    Recorded(3000, BOOK, diff(106, 110, 105, "98.00")),
    Recorded(6000, BOOK, diff(111, 115, 110, "97.00")),
    Recorded(6500, "btcusdt@depth5", b"{}"),
    RecordedLoss(7000, (BOOK,)),
]


def views(messages: list[StreamMessage]) -> list[BookMessage]:
    return [_message.decode(m.payload) for m in messages if m.stream == VIEW]


def test_before_the_start_only_the_book_is_kept_and_it_is_where_the_replay_starts() -> None:
    events = recorded_events(Market.UM, ITEMS, 5, None, 0, {BOOK: "BTCUSDT"})
    replayer = Replayer(events, {}, 5000, {"BTCUSDT": BTC})
    history = replayer.warm(5000)
    (start,) = views(history[Market.UM])
    assert (start.u, start.snapshot) == (110, True)
    assert start.b == [(10000, 2000), (9900, 1000), (9800, 1000)] and start.a == [(10100, 1000)]
    assert not [m for m in history[Market.UM] if m.stream != VIEW], "no recorded frame before the start"

    outs: dict[Market, list[StreamMessage]] = {market: [] for market in Market}
    broken: list[StreamsBroken] = []
    while replayer.next_us is not None:
        replayer.step(1 << 62, 100, outs, broken)
    published = outs[Market.UM]
    assert [m.stream for m in published] == [BOOK, VIEW, "btcusdt@depth5", VIEW]
    assert published[0].payload == ITEMS[4].data, "the recorded frame, byte for byte"
    after, lost = views(published)
    assert (after.u, after.snapshot, after.b) == (115, False, [(9700, 1000)])
    assert (lost.u, lost.snapshot, lost.b) == (0, True, []), "a recorded loss: no book until a snapshot"
    assert broken == [StreamsBroken(Market.UM, (BOOK,))]


def test_a_kept_book_is_no_book_from_the_start_until_it_syncs() -> None:
    """A symbol whose recorded book is kept answers "no book" (id 0) from the replay's first
    moment, not the top of book its first bookTicker shows, until its first snapshot syncs
    it (replay.md, "What it plays")."""
    events = recorded_events(Market.UM, ITEMS, None, None, 0, {BOOK: "BTCUSDT"})
    replayer = Replayer(events, {}, None, {"BTCUSDT": BTC}, books={"BTCUSDT"})
    (start,) = views(replayer.warm(0)[Market.UM])
    assert (start.u, start.snapshot, start.b, start.a) == (0, True, [], [])


def test_without_books_a_recording_plays_as_it_always_did() -> None:
    """A version 1 recording (no snapshots): no book, nothing but the recorded frames."""
    events = list(recorded_events(Market.UM, ITEMS, None, None, 0))
    replayer = Replayer(iter(events), {}, None, {"BTCUSDT": BTC})
    outs: dict[Market, list[StreamMessage]] = {market: [] for market in Market}
    while replayer.next_us is not None:  # a stream coming back after another waits a batch
        replayer.step(1 << 62, 100, outs, [])
    assert [m.payload for m in outs[Market.UM]] == [i.data for i in ITEMS if isinstance(i, Recorded)]


def test_a_recorded_loss_ends_the_batch_so_its_close_comes_before_what_followed_it() -> None:
    # the fan-out writes a turn's frames together and the loss's close after them: a batch
    # that went on past the loss would send the stream's later frames on the connection the
    # loss closes, as if nothing had been missed (``Sink.interrupt``)
    items: list[Item] = [
        Recorded(6000, BOOK, diff(111, 115, 110, "97.00")),
        RecordedLoss(6000, (BOOK,)),
        Recorded(6000, BOOK, diff(120, 125, 119, "96.00")),
    ]
    replayer = Replayer(recorded_events(Market.UM, items, 5, None, 0, {BOOK: "BTCUSDT"}), {}, 5000, {"BTCUSDT": BTC})
    replayer.warm(5000)
    batches = []
    while replayer.next_us is not None:
        outs: dict[Market, list[StreamMessage]] = {market: [] for market in Market}
        broken: list[StreamsBroken] = []
        replayer.step(1 << 62, 100, outs, broken)
        batches.append(([m.stream for m in outs[Market.UM] if m.stream == BOOK], broken))
    assert batches == [([BOOK], [StreamsBroken(Market.UM, (BOOK,))]), ([BOOK], [])]
