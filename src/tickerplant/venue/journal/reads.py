"""The history reads answered from the journal (``recorded.History``): every order, fill
and flow the venue committed, within the bounds ``history.py`` decided.

On the journal's own connection, so that a read sees what the loop iteration's commands
staged before it (``group_commit.py`` holds its answer until that is committed, as it holds
every answer). Each query walks one index of ``schema.py`` from where its bounds
start and stops at its ``limit``; a window's rows that Binance no longer shows (an unfilled
order cancelled more than 3 days ago) are skipped within the window, never beyond it.

An open order is answered from the engine's memory, where it lives; the journal's row of it
is the same state (each change of an order is journaled before its answer).
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Sequence

from tickerplant.market.instruments import Market
from tickerplant.venue.domain.events import MarginMove
from tickerplant.venue.domain.orders import Amendment, Fill, Order, PositionSide
from tickerplant.venue.domain.recorded import Flow, Span, fill_tran_id
from tickerplant.venue.journal.rows import ORDER_COLUMNS, fill_from_row, order_from_row
from tickerplant.venue.journal.schema import FILL_COLUMNS
from tickerplant.venue.journal.sqlite_journal import SqliteJournal

__all__ = ["JournalHistory"]

_FILL_SELECT = f"SELECT {FILL_COLUMNS}, position_side FROM venue_fills"


_Key = tuple[int, int, int, str, int, int]  # (time, a fill's 0 or a flow's 1, trade/tran id, …)


def _bounds(span: Span) -> tuple[str, list[object]]:
    """The time bounds of ``span`` as SQL and its arguments."""
    sql, args = " AND time_ms >= ?", list[object]([max(span.floor_ms, span.start_ms or span.floor_ms)])
    if span.end_ms is not None:
        sql, args = sql + " AND time_ms <= ?", [*args, span.end_ms]
    return sql, args


def _page(
    db: sqlite3.Connection, span: Span, by_id: tuple[str, str], by_time: tuple[str, str], args: list[object]
) -> list[tuple[object, ...]]:
    """``span``'s page of rows: from its id on, ascending by id (``by_id``: the query ending
    in ``>= ?`` and its id columns), else the most recent (``by_time``: the query and its id
    columns, after the time, newest first)."""
    if span.from_id is not None:
        query, ids = by_id
        return db.execute(f"{query} ORDER BY {ids} LIMIT ?", (*args, span.from_id, span.limit)).fetchall()
    query, ids = by_time
    newest = ", ".join(f"{column} DESC" for column in ids.split(", "))
    return db.execute(f"{query} ORDER BY time_ms DESC, {newest} LIMIT ?", (*args, span.limit)).fetchall()


class JournalHistory:
    """``History`` over ``journal``'s tables, for one market's engine (``market``: which of
    the symbol-less flows are its wallet's, as ``sqlite_journal.load`` decides)."""

    def __init__(self, journal: SqliteJournal, market: Market, margin_assets: Sequence[str]) -> None:
        self._journal = journal
        self._market = market.value
        self._assets = tuple(margin_assets)

    def _db(self) -> sqlite3.Connection | None:
        return self._journal.reader()

    def order(
        self, account_id: int, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order | None:
        db = self._db()
        if db is None:
            return None
        if order_id is not None:
            row = db.execute(
                f"SELECT {ORDER_COLUMNS} FROM venue_orders "
                "WHERE symbol = ? AND order_id = ? AND account_id = ?",
                (symbol, order_id, account_id),
            ).fetchone()
        else:
            row = db.execute(
                f"SELECT {ORDER_COLUMNS} FROM venue_orders INDEXED BY venue_orders_by_client_id "
                "WHERE account_id = ? AND symbol = ? AND client_order_id = ? ORDER BY order_id DESC LIMIT 1",
                (account_id, symbol, client_id or ""),
            ).fetchone()
        return None if row is None else order_from_row(row)

    def orders(self, account_id: int, symbol: str, span: Span, unfilled_floor_ms: int) -> list[Order]:
        db = self._db()
        if db is None:
            return []
        bounds, args = _bounds(span)
        where = (
            "WHERE account_id = ? AND symbol = ?" + bounds + " AND NOT (status IN ('CANCELED', 'EXPIRED') "
            "AND executed_qty = 0 AND time_ms < ?)"
        )
        select = f"SELECT {ORDER_COLUMNS} FROM venue_orders INDEXED BY"
        by_id = (f"{select} venue_orders_by_id {where} AND order_id >= ?", "order_id")
        by_time = (f"{select} venue_orders_by_time {where}", "order_id")
        rows = _page(db, span, by_id, by_time, [account_id, symbol, *args, unfilled_floor_ms])
        return sorted((order_from_row(row) for row in rows), key=lambda o: o.order_id)

    def fills(self, account_id: int, symbol: str, span: Span, order_id: int | None) -> list[Fill]:
        db = self._db()
        if db is None:
            return []
        bounds, args = _bounds(span)
        where, args = "WHERE account_id = ? AND symbol = ?" + bounds, [account_id, symbol, *args]
        by_id_index, by_time_index = "venue_fills_by_id", "venue_fills_by_time"
        if order_id is not None:  # one order's few fills: its index whichever way they are paged
            where, args = where + " AND order_id = ?", [*args, order_id]
            by_id_index = by_time_index = "venue_fills_by_order"
        by_id = (f"{_FILL_SELECT} INDEXED BY {by_id_index} {where} AND trade_id >= ?", "trade_id, order_id")
        by_time = (f"{_FILL_SELECT} INDEXED BY {by_time_index} {where}", "trade_id, order_id")
        rows = _page(db, span, by_id, by_time, args)
        return sorted((fill_from_row(row) for row in rows), key=lambda f: (f.trade_id, f.order_id))

    def amendments(
        self, account_id: int, symbol: str, order_id: int, start_ms: int, end_ms: int | None, limit: int
    ) -> list[Amendment]:
        db = self._db()
        if db is None:
            return []
        end_sql, end_args = ("", []) if end_ms is None else (" AND time_ms <= ?", [end_ms])
        rows = db.execute(
            "SELECT symbol, amendment_id, account_id, order_id, client_order_id, time_ms, price_before, "
            "price_after, qty_before, qty_after, count, modify_id FROM venue_amendments "
            "INDEXED BY venue_amendments_by_order WHERE account_id = ? AND symbol = ? AND order_id = ? "
            f"AND time_ms >= ?{end_sql} ORDER BY amendment_id DESC LIMIT ?",
            (account_id, symbol, order_id, start_ms, *end_args, limit),
        ).fetchall()
        return [Amendment(a, s, i, *rest) for s, i, a, *rest in reversed(rows)]

    def liquidations(
        self, account_id: int, symbols: Sequence[str], start_ms: int, end_ms: int | None, limit: int
    ) -> list[Order]:
        db = self._db()
        if db is None:
            return []
        end_sql, end_args = ("", []) if end_ms is None else (" AND time_ms <= ?", [end_ms])
        rows = db.execute(
            f"SELECT {ORDER_COLUMNS} FROM venue_orders INDEXED BY venue_orders_by_time WHERE account_id = ? "
            f"AND symbol IN ({', '.join('?' * len(symbols))}) AND time_ms >= ?{end_sql} "
            "AND client_order_id LIKE 'autoclose-%' ORDER BY time_ms DESC, order_id DESC LIMIT ?",
            (account_id, *symbols, start_ms, *end_args, limit),
        ).fetchall()
        return [order_from_row(row) for row in reversed(rows)]

    def margin_moves(
        self, account_id: int, symbol: str, kind: int | None, start_ms: int, end_ms: int | None, limit: int
    ) -> list[MarginMove]:
        db = self._db()
        if db is None:
            return []
        end_sql, end_args = ("", []) if end_ms is None else (" AND time_ms <= ?", [end_ms])
        kind_sql, kind_args = ("", []) if kind is None else (" AND kind = ?", [kind])
        rows = db.execute(
            "SELECT account_id, symbol, kind, amount, asset, time_ms, delta_type, position_side "
            "FROM venue_margin_moves INDEXED BY venue_margin_moves_by_time "
            f"WHERE account_id = ? AND symbol = ? AND time_ms >= ?{end_sql}{kind_sql} "
            "ORDER BY time_ms, rowid LIMIT ?",
            (account_id, symbol, start_ms, *end_args, *kind_args, limit),
        ).fetchall()
        return [
            MarginMove(account, name, kind_, amount, asset, time_ms, delta, PositionSide(side))
            for account, name, kind_, amount, asset, time_ms, delta, side in rows
        ]

    def flows(
        self, account_id: int, symbols: Sequence[str], transfers: bool, kind: str, start_ms: int,
        end_ms: int | None, limit: int,
    ) -> list[Flow]:  # fmt: skip
        db = self._db()
        if db is None:
            return []
        end_sql, end_args = ("", []) if end_ms is None else (" AND time_ms <= ?", [end_ms])
        marks = ", ".join("?" * len(symbols))
        merged: list[list[tuple[_Key, Flow]]] = []
        if kind in ("", "REALIZED_PNL", "COMMISSION"):
            # a fill gives a row of each kind asked, so the first ``limit`` fills are enough
            index = "venue_fills_by_time" if len(symbols) == 1 else "venue_fills_by_account_time"
            pnl_only = " AND realized_pnl != 0" if kind == "REALIZED_PNL" else ""
            fills = db.execute(
                f"SELECT time_ms, trade_id, symbol, order_id, realized_pnl, commission, commission_asset, "
                f"maker FROM venue_fills INDEXED BY {index} WHERE account_id = ? AND time_ms >= ?{end_sql} "
                f"AND symbol IN ({marks}){pnl_only} ORDER BY time_ms, trade_id, symbol, order_id LIMIT ?",
                (account_id, start_ms, *end_args, *symbols, limit),
            ).fetchall()
            rows: list[tuple[_Key, Flow]] = []
            for time_ms, trade_id, symbol, order_id, pnl, commission, asset, maker in fills:
                for sub, (name, amount) in enumerate((("REALIZED_PNL", pnl), ("COMMISSION", -commission))):
                    if (kind and name != kind) or (name == "REALIZED_PNL" and not amount):
                        continue
                    tran_id = fill_tran_id(trade_id, bool(maker))
                    flow = Flow(time_ms, symbol, name, asset, amount, tran_id, trade_id)
                    rows.append(((time_ms, 0, trade_id, symbol, order_id, sub), flow))
            merged.append(rows)
        if kind not in ("REALIZED_PNL", "COMMISSION"):
            kind_sql, kind_args = ("", []) if not kind else (" AND kind = ?", [kind])
            asset_marks = ", ".join("?" * len(self._assets))
            # a symbol-less flow is its wallet's market's (journal.load's rule)
            theirs = (
                " OR (? AND symbol = '' AND (market = ? OR (market IS NULL "
                f"AND asset IN ({asset_marks}))))"
            )
            incomes = db.execute(
                "SELECT time_ms, tran_id, symbol, kind, asset, amount FROM venue_income "
                f"INDEXED BY venue_income_by_time WHERE account_id = ? AND time_ms >= ?{end_sql}{kind_sql} "
                f"AND (symbol IN ({marks}){theirs}) ORDER BY time_ms, tran_id LIMIT ?",
                (account_id, start_ms, *end_args, *kind_args, *symbols, transfers, self._market,
                 *self._assets, limit),
            ).fetchall()  # fmt: skip
            merged.append([
                ((time_ms, 1, tran_id, symbol, 0, 0),
                 Flow(time_ms, symbol, kind_, asset, amount, tran_id, None))
                for time_ms, tran_id, symbol, kind_, asset, amount in incomes
            ])  # fmt: skip
        return [flow for _, flow in heapq.merge(*merged, key=lambda row: row[0])][:limit]
