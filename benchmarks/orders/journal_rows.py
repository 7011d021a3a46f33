"""The journal alone, in process (``--journal``): an order's row and its cancel's, as the server
stages and commits them, in CPU µs a pair and WAL frames (pages) a pair.

Accounts take turns as in the flat-out part; each loop iteration's transaction holds
``GROUP`` orders' rows and the cancels of the orders the iteration before placed (the server
answers an order once its transaction is committed, and its cancel comes after the answer).
The WAL is emptied before the measured transactions and not checkpointed during them, so its
size is what they wrote.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path

from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from tickerplant.venue.journal.sqlite_journal import SqliteJournal

__all__ = ["measure"]

GROUP = 8  # orders a transaction: ~the flat-out part's (2,400 pairs/s, ~300 commits/s)
WARM = 2_000  # transactions before the measured ones: the tables' indexes several pages deep
_FRAME_BYTES = 24 + 4096  # a WAL frame: its header and one page (the default page size)


def measure(accounts: int, transactions: int) -> tuple[float, float]:
    """(CPU µs, WAL frames) an order and its cancel, over ``transactions`` after ``WARM``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "venue.db"
        sqlite3.connect(path).close()  # the file exists: the journal opens it and makes its tables
        journal = SqliteJournal(path)
        rng = random.Random(1)
        placed: list[Order] = []
        next_id = 1

        def transaction() -> None:
            nonlocal placed, next_id
            orders = []
            for _ in range(GROUP):
                account = rng.randrange(accounts)
                order = Order(
                    account, "BTCUSDT", next_id, f"b{next_id}", Side.BUY, OrderType.LIMIT, TimeInForce.GTC,
                    5_400_000, 1, False, 0, next_id, next_id,
                )  # fmt: skip
                next_id += 1
                journal.stage(Batch(orders=[order]))
                orders.append(order)
            for order in placed:
                canceled = order.copy()
                canceled.status = OrderStatus.CANCELED
                journal.stage(Batch(orders=[canceled]))
            placed = orders
            journal.commit_staged()

        for _ in range(WARM):
            transaction()
        db = journal.reader()
        assert db is not None
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every frame copied, the WAL emptied
        wal = path.with_name(path.name + "-wal")
        start_bytes, started = wal.stat().st_size, time.process_time()
        for _ in range(transactions):
            transaction()
        cpu_s = time.process_time() - started
        written = wal.stat().st_size - start_bytes
        journal.close()
    pairs = transactions * GROUP
    return cpu_s / pairs * 1e6, written / _FRAME_BYTES / pairs


def print_journal(accounts: int, quick: bool) -> None:
    transactions = 1_000 if quick else 5_000
    cpu_us, frames = measure(accounts, transactions)
    print(f"  the journal alone ({accounts} accounts, {GROUP} orders a transaction, each cancel in the next):"
          f" {cpu_us:.1f} µs of CPU and {frames:.2f} WAL frames an order and its cancel")  # fmt: skip
