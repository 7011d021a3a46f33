"""The order-rate windows saved once a second (``venue/journal/counts.py``): each save writes
only what changed, opened or closed since the last one committed, and the table then holds
exactly the windows still open, as a save that replaced them all would; written a slice at a
time, each slice is as short as asked and the last leaves the same table."""

from __future__ import annotations

import random
import sqlite3
import time

from tickerplant.venue.journal.counts import Saved, applied, changes, saved_windows, write_changes
from tickerplant.venue.journal.schema import prepare

Window = tuple[int, int, int, int]  # account, window ms, window start, count


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    prepare(db)
    return db


def _save(db: sqlite3.Connection, market: str, windows: list[Window], saved: Saved | None) -> Saved:
    """One save whole, committed: what it saved."""
    written = changes(market, windows, saved)
    with db:
        db.execute("BEGIN IMMEDIATE")
        write_changes(db, written)
    known = {market: dict(saved)} if saved is not None else {}
    applied(known, written)
    return known[market]


def test_each_save_leaves_exactly_the_open_windows_and_the_other_market_alone() -> None:
    rng = random.Random(5)
    db = _db()
    _save(db, "cm", [(1, 60_000, 0, 3)], None)
    open_: dict[tuple[int, int], tuple[int, int]] = {}
    saved: Saved | None = None
    for second in range(200):
        for _ in range(rng.randrange(0, 8)):  # windows opened, counted on or closed this second
            key = (rng.randrange(1, 30), rng.choice((10_000, 60_000)))
            if key in open_ and rng.random() < 0.3:
                del open_[key]
            else:
                start, count = open_.get(key, (second * 1000, 0))
                open_[key] = (start, count + 1)
        windows = [(a, w, s, c) for (a, w), (s, c) in open_.items()]
        saved = _save(db, "um", windows, saved if second % 50 else None)  # now and then not known
        assert sorted(saved_windows(db, "um")) == sorted(windows)
    assert saved_windows(db, "cm") == [(1, 60_000, 0, 3)]


def test_a_save_that_fails_is_compared_with_the_last_one_that_committed() -> None:
    db = _db()
    saved = _save(db, "um", [(1, 10_000, 0, 1), (2, 10_000, 0, 1)], None)
    db.execute("BEGIN IMMEDIATE")
    write_changes(db, changes("um", [(1, 10_000, 0, 2)], saved))
    db.execute("ROLLBACK")  # the journal keeps ``saved`` then: nothing of it was written
    _save(db, "um", [(1, 10_000, 0, 2)], saved)
    assert saved_windows(db, "um") == [(1, 10_000, 0, 2)]


def test_a_second_with_few_changes_writes_few_rows() -> None:
    """A thousand accounts' windows, ten of them changed: the save writes ten rows, and takes
    a fraction of the time a save of them all takes (printed with -s; not asserted on time)."""
    db = _db()
    windows = [(a, w, 0, 5) for a in range(1, 1001) for w in (10_000, 60_000)]
    started = time.perf_counter()
    saved = _save(db, "um", windows, None)
    whole = time.perf_counter() - started
    windows[:10] = [(a, w, s, c + 1) for a, w, s, c in windows[:10]]
    before = db.total_changes
    started = time.perf_counter()
    _save(db, "um", windows, saved)
    changed = time.perf_counter() - started
    assert db.total_changes - before == 10
    assert sorted(saved_windows(db, "um")) == sorted(windows)
    print(f"2,000 windows saved whole {whole * 1e3:.2f} ms; 10 changed of them {changed * 1e3:.2f} ms")


def test_a_save_written_a_slice_at_a_time_leaves_what_a_whole_one_would() -> None:
    """``SqliteJournal.save_counts(…, most)``'s way: the changes of a save written ``most``
    at a time, each slice committed and applied before the next, the first save of a market
    (nothing known of it: its rows deleted first) and the ones after alike."""
    rng = random.Random(7)
    db = _db()
    _save(db, "um", [(99, 10_000, 0, 9)], None)  # a row of before the restart: gone after
    known: dict[str, Saved] = {}
    for _ in range(20):
        windows = [(a, w, rng.randrange(3) * 10_000, rng.randrange(1, 9))
                   for a in rng.sample(range(1, 60), 25) for w in (10_000, 60_000)]  # fmt: skip
        pending = changes("um", windows, known.get("um"))
        while pending:
            written, pending = pending[:7], pending[7:]
            with db:
                db.execute("BEGIN IMMEDIATE")
                before = db.total_changes
                write_changes(db, written)
                assert db.total_changes - before <= 7 + 1  # the first save's delete: every old row at once
            applied(known, written)
        assert sorted(saved_windows(db, "um")) == sorted(windows)
        assert known["um"] == {(a, w): (s, c) for a, w, s, c in windows}
