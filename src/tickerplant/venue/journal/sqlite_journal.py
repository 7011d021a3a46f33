"""The venue's journal: what the engine changed, written to the accounts database before
the answer goes (ARCHITECTURE.md, "a journal before every acknowledgement"), and read back
into the engines when the server starts.

Tables (made here if missing, beside the operator's in the same file):

- ``venue_orders``: each order's latest state, one row per (symbol, order id);
- ``venue_fills``: every fill, with the realized PnL and commission it booked;
- ``venue_positions``: each (account, symbol, position side)'s position after its last
  change (the entry price exact, as ``numerator/denominator``, read back in integers
  into the position's sums, ``Contract.cost_at``; an isolated position's wallet; what maker
  fills opened of it, its break-even's rate);
- ``venue_account_modes``: each account's hedge mode (both markets) and Multi-Assets mode;
- ``venue_wallet_changes``: every change trading made to a wallet (realized PnL less
  commission), summed on start, with the market whose wallet it is (``Batch.market``, which
  each engine's ``group_commit.Stamped`` sets: BTC is a COIN-M wallet and a Multi-Assets
  collateral; an older journal's rows, without, go by their asset); the operator's deposits
  stay in ``balances``;
- ``venue_settings``: per (account, symbol) leverage and margin type;
- ``venue_algo_orders``: each algo order's latest state (``domain/algo_order.AlgoOrder`` as JSON),
  one row per (symbol, algo id);
- ``venue_amendments``: each modification of an order (``orderAmendment``);
- ``venue_margin_moves``: isolated margin moved, by its owner (``POST …/positionMargin``) or a fill;
- ``venue_order_counts``: the order-rate windows still open (``counts.py``);
- ``venue_income``: the flows that are not a fill's (``FUNDING_FEE``, ``INSURANCE_CLEAR``,
  ``TRANSFER``, ``AUTO_EXCHANGE``), each also a row of ``venue_wallet_changes``; a
  symbol's go back to its market, a symbol-less one to its wallet's market.
- ``venue_listen_keys``: each account's listen key of each market and when it expires
  (``listen_key_rows.py``), taken back at a start while it is live; ``venue_countdowns``,
  each account's ``countdownCancelAll`` deadlines, taken back alike (``countdown_rows.py``);
- ``venue_funded``: per symbol, the last funding time settled, whether or not it charged
  anything (a fee that rounds to nothing leaves no income row): at start, the fundings
  after it are the ones the venue missed (``funding_catch_up.py``).

The server stages each command's batch into one transaction per loop iteration (``stage``,
``commit_staged``: ``group_commit.py`` holds every acknowledgement until it is committed);
``commit`` is one batch's transaction of its own (the engines' unit tests, the tools). WAL
mode with ``synchronous = NORMAL``: a committed transaction survives the process being
killed (kill -9), not the machine losing power (PERFORMANCE.md: about 18 µs a commit).
The commits never copy the WAL into the database themselves (``wal_autocheckpoint = 0``):
that copy syncs the file and took up to 8 ms in the middle of a command, one command in
three hundred. The server checkpoints once a second in a process of its own
(``checkpointer.py``: no lock, no GIL and no sync of the loop's), whose passes go on
until every frame is in the database and a commit has started the WAL over, so that its
appends write over blocks it already has; ``finish_checkpoint`` does that last part on the loop,
between two transactions, only when the checkpointer could not (commits faster than its
passes) and the WAL has grown long. ``journal_size_limit`` gives back what a burst grew
the WAL's file by past 64 MB.

The server never creates the database: until an account exists (``tickerplant accounts
create``) no order can be placed, so nothing is written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.contract import Position
from tickerplant.venue.domain.events import Batch, Income, MarginMove
from tickerplant.venue.domain.money import parse_ratio
from tickerplant.venue.domain.orders import Amendment, PositionSide
from tickerplant.venue.journal.counts import (
    Change,
    Saved,
    applied,
    changes,
    placed_since,
    saved_times,
    saved_windows,
    write_changes,
)  # fmt: skip
from tickerplant.venue.journal.rows import ORDER_COLUMNS, as_they_rested, fill_from_row
from tickerplant.venue.journal.schema import FILL_COLUMNS, prepare
from tickerplant.venue.journal.writer_lock import WriterLock, claim_database
from tickerplant.venue.journal.writes import one_row, write, write_orders
from tickerplant.venue.ledger.wallet import change_wallet, moved_at

__all__ = ["WAL_LIMIT_BYTES", "SqliteJournal"]

WAL_LIMIT_BYTES = 64 << 20  # the WAL's file, cut back to this when started over


class SqliteJournal:
    """The engines' journal in the accounts database at ``path`` (opened at the first
    commit or load that finds the file)."""

    def __init__(self, path: Path | str, *, exclusive: bool = False) -> None:
        """``exclusive``: a server's journal, the database's one writer while it is open
        (``writer_lock.py``: another's refuses to open, ``DatabaseHeld``)."""
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._exclusive = exclusive
        self._lock: WriterLock | None = None
        self.commits = 0
        self._staging = False  # a transaction of staged batches is open (stage)
        self._saved_counts: dict[str, Saved] = {}  # per market, the order-rate windows last saved
        self._unsaved_counts: list[Change] = []  # a save's changes not written yet, and when read
        self._counts_read_ms = 0

    def _open(self) -> sqlite3.Connection | None:
        if self._db is None and self.path.exists():
            if self._exclusive and self._lock is None:
                self._lock = claim_database(self.path)
            db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: a commit survives kill -9
            db.execute("PRAGMA busy_timeout = 5000")  # beside `tickerplant accounts` writing
            db.execute("PRAGMA wal_autocheckpoint = 0")  # off the loop: checkpointer.py
            db.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
            prepare(db)  # the tables, made or brought up to date (journal_schema.py)
            self._db = db
        return self._db

    def commit(self, batch: Batch) -> None:
        """``batch`` in a transaction of its own, committed on return."""
        db = self._opened()
        with db:
            db.execute("BEGIN IMMEDIATE")
            write(db, batch)
        self.commits += 1

    def stage(self, batch: Batch) -> None:
        """``batch`` in the transaction ``commit_staged`` commits (begun by the first): what
        one loop iteration's commands changed (``venue/journal/group_commit.py``). A batch that fails
        to write leaves none of its rows (a savepoint each)."""
        db = self._opened()
        if not self._staging:
            db.execute("BEGIN IMMEDIATE")
            self._staging = True
        if one_row(batch):  # one statement of one row is atomic by itself: no savepoint's two
            write_orders(db, batch.orders)  # statements (an order placed or cancelled: most batches)
            return
        db.execute("SAVEPOINT batch")
        try:
            write(db, batch)
        except BaseException:
            db.execute("ROLLBACK TO batch")
            raise
        finally:
            db.execute("RELEASE batch")

    def commit_staged(self) -> None:
        """Commit what was staged since the last call (nothing: nothing happens)."""
        if self._staging:
            self._staging = False
            self._opened().execute("COMMIT")
            self.commits += 1

    def data_version(self) -> int | None:
        """``PRAGMA data_version`` on the journal's connection (None while it is not open): it
        moves when another connection commits (an operator's ``tickerplant accounts``), never
        at this one's commits (``Keyring.beside_writer``)."""
        db = self._db
        return None if db is None else int(db.execute("PRAGMA data_version").fetchone()[0])

    def reader(self) -> sqlite3.Connection | None:
        """The journal's connection, for the history reads (``reads.py``), on the
        loop between commands: they see what the iteration staged; None without a database."""
        return self._open()

    def _opened(self) -> sqlite3.Connection:
        db = self._open()
        if db is None:  # no database, so no account: no batch can exist
            raise RuntimeError(f"no venue database at {self.path}")
        return db

    def finish_checkpoint(self) -> None:
        """On the journal's own connection, between two transactions (the loop's, where no
        command can commit meanwhile): what came during the checkpointer's passes copied, so
        that every frame is in the database and the next commit starts the WAL over. Only
        when the checkpointer could not get there (``checkpointer.py``): it syncs both files
        with the loop held."""
        if self._db is not None and not self._staging:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def load(self, engine: Engine) -> None:
        """Everything journaled about ``engine``'s symbols, back into it."""
        db = self._open()
        if db is None:
            return
        symbols = engine.instruments
        modes = "SELECT account_id, hedge, multi_assets, fee_burn FROM venue_account_modes"
        for account_id, hedge, multi_assets, fee_burn in db.execute(modes):
            engine.modes.set(account_id, bool(hedge))  # first: the ledgers below are made in it
            if multi_assets and engine.market is Market.UM:
                engine.ledger(account_id).multi_assets = True
                engine.exposure.pooled.add(account_id)
            if fee_burn and engine.market is Market.UM:
                engine.ledger(account_id).fee_burn = True
        rows = db.execute(f"SELECT {ORDER_COLUMNS} FROM venue_orders ORDER BY symbol, order_id")
        for order in as_they_rested(row for row in rows if row[0] in symbols):
            engine.restore(order)
        for row in db.execute(
            f"SELECT {FILL_COLUMNS}, position_side FROM venue_fills ORDER BY symbol, trade_id"
        ):
            if row[0] in symbols:
                engine.restore_fill(fill_from_row(row))
        for account_id, symbol, side, amt, entry, update_ms, isolated_wallet, maker_amt in db.execute(
            "SELECT account_id, symbol, position_side, amt, entry, update_ms, isolated_wallet, maker_amt "
            "FROM venue_positions"
        ):
            if symbol in symbols:
                contract = engine.contracts[symbol]  # the row's entry price, exact: the sums' quotient
                cost = contract.cost_at(abs(amt), *parse_ratio(entry))
                side_of = PositionSide(side)
                position = Position(amt, cost, update_ms, isolated_wallet, side_of, contract, maker_amt)
                engine.ledger(account_id).positions[(symbol, position.side)] = position
                engine.exposure.hold(account_id, symbol)
        assets = {inst.margin_asset for inst in symbols.values()}
        market = engine.market.value

        def ours(asset: str, wallet: str | None) -> bool:  # an older row: its asset tells
            return wallet == market or (wallet is None and asset in assets)

        rows = db.execute(
            "SELECT account_id, asset, market, SUM(delta), MAX(time_ms) FROM venue_wallet_changes"
            " GROUP BY 1, 2, 3"
        )
        for account_id, asset, wallet, total, last_ms in rows:
            if ours(asset, wallet):
                change_wallet(engine.ledger(account_id), asset, int(total), int(last_ms))
        for account_id, symbol, leverage, isolated in db.execute("SELECT * FROM venue_settings"):
            if symbol in symbols:
                ledger = engine.ledger(account_id)
                if leverage is not None:
                    ledger.leverage[symbol] = int(leverage)
                if isolated:
                    ledger.isolated.add(symbol)
        incomes = db.execute(
            "SELECT account_id, symbol, kind, asset, amount, time_ms, tran_id, market FROM venue_income "
            "ORDER BY time_ms, tran_id"
        )
        for *row, wallet in incomes:
            income = Income(*row)
            # a symbol's flows are its market's; a transfer's or an exchange's, its wallet's
            if income.symbol in symbols or (not income.symbol and ours(income.asset, wallet)):
                engine.ledger(income.account_id).income.append(income)
                if income.kind == "TRANSFER":  # told at the engine's time: the balance's updateTime
                    moved_at(engine.ledger(income.account_id), income.asset, income.time_ms)
                if income.kind == "FUNDING_FEE":
                    funded = engine.exposure.funded_ms
                    funded[income.symbol] = max(funded.get(income.symbol, 0), income.time_ms)

        for symbol, funding_ms in db.execute("SELECT symbol, funding_ms FROM venue_funded"):
            if symbol in symbols:
                funded = engine.exposure.funded_ms
                funded[symbol] = max(funded.get(symbol, 0), funding_ms)
        for row in db.execute("SELECT * FROM venue_amendments ORDER BY symbol, amendment_id"):
            symbol, amendment_id, account_id, *rest = row
            if symbol in symbols:
                amendment = Amendment(account_id, symbol, amendment_id, *rest)
                engine.kept(account_id, symbol).amendments.append(amendment)
                engine.next_amendment_id[symbol] = max(engine.next_amendment_id[symbol], amendment_id + 1)
        for account_id, symbol, kind, amount, asset, time_ms, delta_type, side in db.execute(
            "SELECT * FROM venue_margin_moves ORDER BY time_ms"
        ):
            move = MarginMove(
                account_id, symbol, kind, amount, asset, time_ms, delta_type, PositionSide(side)
            )
            if move.symbol in symbols:
                engine.ledger(move.account_id).margin_moves.append(move)
        for symbol, _, state in db.execute("SELECT * FROM venue_algo_orders ORDER BY symbol, algo_id"):
            if symbol in symbols:
                engine.algos.restore(msgspec.json.decode(state, type=AlgoOrder))

    def load_counts(self, engine: Engine, now_ms: int) -> None:
        """``engine``'s order-rate windows open at ``now_ms``, as they were before the
        restart (``counts.py``): after ``load``."""
        db = self._open()
        if db is None:
            return
        counts = engine.counts
        since = min(now_ms - now_ms % window_ms for window_ms, *_ in counts.limits)
        placed, market = placed_since(db, engine.instruments.keys(), since), engine.market.value
        counts.resume(saved_windows(db, market), placed, now_ms, saved_times(db, market))

    def save_counts(self, engines: Sequence[Engine], now_ms: int, most: int | None = None) -> bool:
        """The engines' order-rate windows open at ``now_ms``, in a transaction of their own:
        between two group commits (``GroupCommit.between``), or at the end. With ``most``,
        the first call only finds what changed since the last save (every open window
        compared) and each next one writes that many of the changes at most (``counts.py``:
        a slice at a time, so that none holds the loop long); whether every change is
        written (False: call again). Without, all of them at once."""
        db = self._open()
        if db is None or self._staging:
            return db is None
        if most is None or not self._unsaved_counts:  # a save begins: what changed since the last
            self._counts_read_ms = now_ms  # the counts as they stand now, written in slices after
            self._unsaved_counts = [
                change
                for engine in engines
                for change in changes(
                    engine.market.value, engine.counts.open_windows(now_ms),
                    self._saved_counts.get(engine.market.value),
                )
            ]  # fmt: skip
            if most is not None:  # the comparison of every open window is this call's share
                return not self._unsaved_counts
        written = self._unsaved_counts[:most]
        with db:
            db.execute("BEGIN IMMEDIATE")
            write_changes(db, written, self._counts_read_ms)
        applied(self._saved_counts, written)  # committed: what the next save compares with
        del self._unsaved_counts[: len(written)]
        self.commits += 1
        return not self._unsaved_counts

    def transferred(self, market: Market) -> dict[tuple[int, str], int]:
        """Σ the ``TRANSFER`` rows of ``market``'s wallets, per (account, asset)."""
        db = self._open()
        if db is None:
            return {}
        rows = db.execute(
            "SELECT account_id, asset, SUM(amount) FROM venue_income WHERE kind = 'TRANSFER' AND market = ? "
            "GROUP BY 1, 2",
            (market.value,),
        )
        return {(account, asset): int(total) for account, asset, total in rows}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
