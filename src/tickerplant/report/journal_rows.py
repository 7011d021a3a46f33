"""A report's rows read from the journal (``venue/journal/schema.py``'s tables) in the
accounts database, on a read-only connection of its own: the server may be writing
meanwhile (WAL: a reader sees the last commit and blocks no writer).

What it reads, for one account and a range ``[start_ms, end_ms]`` (``rows.RunRows``):

- every fill and every income row of the account up to ``end_ms`` (those before the range
  make the position and the wallet it starts from; ``venue_fills_by_account_time``,
  ``venue_income_by_time``);
- the account's orders that have a fill in the range (their arrival mids; which are
  liquidations);
- the marks: every other account's fills of the symbols the account traded, in the range and
  the last one before it (the journal keeps no mark price, ``equity.py``).

The contracts come from ``instruments`` (a server's, which ``tickerplant run`` passes), else
from the catalogue (``market/instruments.catalogue``) at the range's end and at each
symbol's first fill (a quarterly delivered since is found there).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.report.rows import PricePoint, RunRows
from tickerplant.venue.auth.store import ID_MAX
from tickerplant.venue.domain.contract import Contract
from tickerplant.venue.domain.events import Income
from tickerplant.venue.domain.orders import Fill
from tickerplant.venue.journal.rows import ORDER_COLUMNS, fill_from_row, order_from_row
from tickerplant.venue.journal.schema import FILL_COLUMNS

__all__ = ["NoJournal", "NoRows", "ahead_of_start", "last_trading_ms", "read_rows", "traded_accounts"]

END_OF_TIME_MS = 2**62  # no end given: every row


class NoJournal(LookupError):
    """The database holds no journal (the server never traded on it) or no such account."""


class NoRows(NoJournal):
    """The account has rows, but none the report asked for (its range, its asset): a
    question to ask again, not an account missing."""


def _open(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise NoJournal(f"no database at {path}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'venue_fills'").fetchone() is None:
        db.close()
        raise NoJournal(f"{path} holds no journal: no order was ever placed on it")
    return db


def _order_columns(db: sqlite3.Connection) -> str:
    """``ORDER_COLUMNS``, the arrival mid and the fine Σ base read as 0 and the legacy trigger
    as none from a journal no server of this version has opened yet (the server adds the
    columns; this connection only reads)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(venue_orders)")}
    columns = ORDER_COLUMNS if "arrival_mid_x2" in have else ORDER_COLUMNS.replace("arrival_mid_x2", "0")
    columns = columns if "legacy_trigger" in have else columns.replace("legacy_trigger", "''")
    columns = columns if "rested" in have else columns.replace("rested", "0")
    return columns if "cum_base_fine" in have else columns.replace("cum_base_fine", "'0'")


# the last time the catalogue lists its quarterlies at: a range may end as late as 9999-12-31,
# whose next quarters deliver in a year no date holds
_LAST_LISTING_MS = 253_383_811_200_000  # 9999-06-01 00:00 UTC


def _contracts(
    symbols: dict[str, int], instruments: Iterable[Instrument] | None, end_ms: int
) -> dict[str, Contract]:
    """A contract for each of ``symbols`` (symbol: its first fill's time)."""
    known = {i.symbol: i for i in instruments} if instruments is not None else {}
    if instruments is None:
        for at in sorted({min(end_ms, _LAST_LISTING_MS), *symbols.values()}):
            for market in Market:
                for inst in catalogue(market, min(at, _LAST_LISTING_MS)):
                    known.setdefault(inst.symbol, inst)
    missing = sorted(set(symbols) - set(known))
    if missing:
        raise NoJournal(f"no instrument for {', '.join(missing)}: pass the server's instruments")
    return {symbol: Contract(known[symbol]) for symbol in symbols}


def _asset(fills: list[Fill], incomes: list[Income], contracts: dict[str, Contract], start_ms: int) -> str:
    """The asset most of the range's fills settle in, else the one most transferred, else USDT."""
    counts: dict[str, int] = {}
    for f in fills:
        if f.time_ms >= start_ms:
            asset = contracts[f.symbol].inst.margin_asset
            counts[asset] = counts.get(asset, 0) + 1
    if not counts:
        for i in incomes:
            if i.kind == "TRANSFER":
                counts[i.asset] = counts.get(i.asset, 0) + i.amount
    return max(sorted(counts), key=lambda asset: counts[asset]) if counts else "USDT"


def traded_accounts(path: Path | str, start_ms: int, end_ms: int) -> dict[int, list[str]]:
    """The accounts with a fill between ``start_ms`` and ``end_ms`` (a run's), by id, each with
    the symbols it traded then (their margin assets are its reports: a USDⓈ-M and a COIN-M
    account's trading are two)."""
    db = _open(Path(path))
    try:
        rows = db.execute(
            "SELECT DISTINCT account_id, symbol FROM venue_fills WHERE time_ms >= ? AND time_ms <= ? "
            "ORDER BY account_id, symbol",
            (start_ms, end_ms),
        ).fetchall()
    except sqlite3.OperationalError:  # no journal yet: the bot never traded
        return {}
    finally:
        db.close()
    traded: dict[int, list[str]] = {}
    for account_id, symbol in rows:
        traded.setdefault(int(account_id), []).append(str(symbol))
    return traded


def ahead_of_start(path: Path | str, start_ms: int) -> str | None:
    """Why a market starting at ``start_ms`` (a replay's, ``serve --replay`` or
    ``tickerplant run``) cannot trade on ``path``'s journal: it holds trading at or after the
    start, whose future the venue would meet; None when it can (no journal counts as none)."""
    try:
        held = last_trading_ms(path)
    except NoJournal:
        return None
    if held is None or held < start_ms:
        return None
    return (
        f"{path} holds trading up to {_iso(held)}, at or after the replay's start ({_iso(start_ms)}): "
        "the venue's time never goes back; give a fresh --venue-db or a later --start"
    )


def _iso(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).isoformat(timespec="milliseconds")


def last_trading_ms(path: Path | str) -> int | None:
    """The time of the journal's latest fill, order change or funding settled, any account's
    or symbol's (None: none): a market that starts before it would meet its own future (a
    funding settled is never charged again, ``clearing/funding.py``)."""
    db = _open(Path(path))
    try:
        row = db.execute(
            "SELECT MAX(t) FROM (SELECT MAX(time_ms) AS t FROM venue_fills "
            "UNION ALL SELECT MAX(update_ms) FROM venue_orders "
            "UNION ALL SELECT MAX(funding_ms) FROM venue_funded)"
        ).fetchone()
    except sqlite3.OperationalError:  # no journal yet
        return None
    finally:
        db.close()
    return None if row is None or row[0] is None else int(row[0])


def read_rows(
    path: Path | str, account_id: int, start_ms: int | None = None, end_ms: int | None = None,
    asset: str | None = None, instruments: Iterable[Instrument] | None = None,
    marks: Iterable[PricePoint] = (),
) -> RunRows:  # fmt: skip
    """The rows of ``account_id``'s report (the module's docstring), from ``start_ms`` (None:
    the account's first fill) to ``end_ms`` (None: its last row); ``asset``: the margin
    asset it is in (None: the one most of its fills in the range settle in); ``marks``:
    prices to mark at besides the journal's (a server's klines)."""
    if not 0 < account_id <= ID_MAX:  # (past SQLite's INTEGER, a query would overflow)
        raise NoJournal(f"no account {account_id}")
    marks = tuple(marks)  # looked through, then sorted in
    db = _open(Path(path))
    try:
        start, end = start_ms or 0, END_OF_TIME_MS if end_ms is None else end_ms
        fills = [
            fill_from_row(row)
            for row in db.execute(
                f"SELECT {FILL_COLUMNS}, position_side FROM venue_fills "
                "WHERE account_id = ? AND time_ms <= ? ORDER BY time_ms, trade_id, order_id",
                (account_id, end),
            )
        ]
        incomes = [
            Income(*row)
            for row in db.execute(
                "SELECT account_id, symbol, kind, asset, amount, time_ms, tran_id FROM venue_income "
                "WHERE account_id = ? AND time_ms <= ? ORDER BY time_ms, tran_id",
                (account_id, end),
            )
        ]
        if not fills and not incomes:
            later = _first_after(db, account_id, end)
            if later is not None:  # rows, all after the range's end
                earliest = _iso(later)
                raise NoRows(f"account {account_id} has no row up to {_iso(end)}: its first is at {earliest}")
            raise NoJournal(f"account {account_id} has no fill and no income in the journal")
        if start_ms is None:  # from the first fill: the deposits before it are what the run starts with
            start = fills[0].time_ms if fills else incomes[0].time_ms
        last_ms = max(fills[-1].time_ms if fills else 0, incomes[-1].time_ms if incomes else 0)
        if start > last_ms and not any(point.time_ms >= start for point in marks):
            # a range after everything the account did: a typo's year, not a flat report
            last = _iso(last_ms)
            raise NoRows(f"account {account_id} has no row from {_iso(start)}: its last is at {last}")
        orders = [
            order_from_row(row)
            for row in db.execute(
                f"SELECT {_order_columns(db)} FROM venue_orders WHERE account_id = ? "
                "AND (symbol, order_id) IN (SELECT symbol, order_id FROM venue_fills "
                "WHERE account_id = ? AND time_ms >= ? AND time_ms <= ?)",
                (account_id, account_id, start, end),
            )
        ]
        first: dict[str, int] = {}
        for f in fills:
            first.setdefault(f.symbol, f.time_ms)
        prices = _others(db, account_id, sorted(first), start, end)
    finally:
        db.close()
    contracts = _contracts(first, instruments, end if end_ms is not None else max(first.values(), default=0))
    if asset is not None:  # an asset the account never held: a zero report said nothing
        held = {contracts[f.symbol].inst.margin_asset for f in fills} | {i.asset for i in incomes}
        if asset not in held:
            have = ", ".join(sorted(held))
            raise NoRows(f"account {account_id} has no row in {asset!r}: its rows are in {have}")
    return RunRows(
        account_id, asset or _asset(fills, incomes, contracts, start), start, end_ms, fills, incomes,
        orders, sorted([*prices, *marks]), contracts,
    )  # fmt: skip


def _first_after(db: sqlite3.Connection, account_id: int, end: int) -> int | None:
    """The time of the account's first fill or income row after ``end``; None: it has none."""
    row = db.execute(
        "SELECT MIN(t) FROM (SELECT MIN(time_ms) AS t FROM venue_fills WHERE account_id = ? AND time_ms > ? "
        "UNION ALL SELECT MIN(time_ms) FROM venue_income WHERE account_id = ? AND time_ms > ?)",
        (account_id, end, account_id, end),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _others(
    db: sqlite3.Connection, account_id: int, symbols: list[str], start: int, end: int
) -> list[PricePoint]:
    """Every other account's fills of ``symbols`` in the range, and each one's last before it."""
    points: list[PricePoint] = []
    for symbol in symbols:
        before = db.execute(
            "SELECT time_ms, symbol, price FROM venue_fills WHERE symbol = ? AND account_id != ? "
            "AND time_ms < ? ORDER BY trade_id DESC LIMIT 1",
            (symbol, account_id, start),
        ).fetchall()
        within = db.execute(
            "SELECT time_ms, symbol, price FROM venue_fills WHERE symbol = ? AND account_id != ? "
            "AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id",
            (symbol, account_id, start, end),
        ).fetchall()
        points += [PricePoint(*row) for row in [*before, *within]]
    return points
