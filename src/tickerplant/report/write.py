"""``write_report``: the one call that makes a run's report, for ``tickerplant run`` when a
run ends, ``tickerplant report`` and the admin listener: the journal's rows read
(``journal_rows``), the figures worked out (``figures``), the page and the JSON written
(``render``) into a folder, each file whole or not at all (written beside, then renamed).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tickerplant.market.instruments import Instrument
from tickerplant.report.figures import Figures, figures
from tickerplant.report.journal_rows import NoJournal, NoRows, read_rows
from tickerplant.report.render import report_html, report_json
from tickerplant.report.rows import PricePoint

__all__ = ["NoJournal", "NoRows", "ReportFiles", "build_figures", "parse_range", "parse_time", "write_report"]


@dataclass(frozen=True, slots=True)
class ReportFiles:
    html: Path  # <out>/account-<id>-<asset>.html
    json: Path  # <out>/account-<id>-<asset>.json
    figures: Figures


_LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: a bound past it is a typo


def build_figures(
    db: Path | str, account_id: int, *, start_ms: int | None = None, end_ms: int | None = None,
    asset: str | None = None, instruments: Iterable[Instrument] | None = None,
    marks: Iterable[PricePoint] = (),
) -> Figures:  # fmt: skip
    """The figures of ``account_id``'s report (``write_report``'s arguments)."""
    rows = read_rows(db, account_id, start_ms, end_ms, asset, instruments, marks)
    return figures(rows)


def write_report(
    db: Path | str, account_id: int, out_dir: Path | str, *, start_ms: int | None = None,
    end_ms: int | None = None, asset: str | None = None, instruments: Iterable[Instrument] | None = None,
    marks: Iterable[PricePoint] = (),
) -> ReportFiles:  # fmt: skip
    """Write ``account_id``'s report from the journal in the accounts database ``db`` into
    ``out_dir`` (made if missing): ``account-<id>-<asset>.html`` and ``.json``.

    ``start_ms``/``end_ms``: the range, inclusive (None: from the account's first fill, the
    deposits before it the equity it starts with; to its last row); ``asset``: the margin
    asset it is in (None: the one most of the range's fills settle in); ``instruments``: the
    server's (None: the catalogue's, which knows every simulated symbol but not a replay's
    inferred ones); ``marks``: prices to mark the positions at besides the journal's fills
    (a server's klines, the run's public trades: ``PricePoint(time_ms, symbol, price
    units)``). Raises ``NoJournal`` when there is nothing to report."""
    made = build_figures(
        db, account_id, start_ms=start_ms, end_ms=end_ms, asset=asset, instruments=instruments, marks=marks
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"account-{account_id}-{made.asset}"
    html, json = stem.with_suffix(".html"), stem.with_suffix(".json")
    _write(json, report_json(made))
    _write(html, report_html(made).encode())
    return ReportFiles(html, json, made)


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def parse_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """A report's range as the command line and the admin listener take it (``parse_time``
    each bound, None: open); ValueError for a start after the end."""
    start_ms, end_ms = (None if bound is None else parse_time(bound) for bound in (start, end))
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise ValueError("the range's start is after its end")
    return start_ms, end_ms


def parse_time(text: str) -> int:
    """A range's bound: milliseconds since the epoch (``1767225600000``, up to the end of
    the year 9999) or an ISO 8601 time (``2026-01-01T00:00:00``, UTC unless it says
    otherwise); ValueError otherwise."""
    if text.strip().isascii() and text.strip().isdigit():
        if len(text.strip()) > len(str(_LAST_MS)) or int(text) > _LAST_MS:
            raise ValueError(f"{text[:40]!r}: past the year 9999")
        return int(text)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r}: neither milliseconds since the epoch nor an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)
