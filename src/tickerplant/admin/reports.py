"""A run's report on demand, on the admin listener (``report/``; docs/report.md):

    GET /api/accounts/{id}/report        the HTML page (plotly.js inside: it works offline)
    GET /api/accounts/{id}/report.json   the same figures as JSON

Both take ``from`` and ``to`` (milliseconds since the epoch or ISO 8601, UTC; the range is
inclusive; missing: from the account's first fill, to its last row) and ``asset`` (the margin
asset: missing, the one most of the range's fills settle in). 404 ``{"code":-1,"msg":…}``
when the journal holds nothing of the account, 400 for a bound that is not a time.

The journal is read on a read-only connection of its own, in a thread (``report/
journal_rows.py``): the loop goes on serving, and the server's group commit goes on
writing (WAL). Every request passes the admin listener's guard first, as ``/api/accounts``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
from aiohttp import web

from tickerplant.report.render import report_html, report_json
from tickerplant.report.write import NoJournal, NoRows, build_figures, parse_range
from tickerplant.venue.auth.store import ID_MAX

__all__ = ["NoSuchAccount", "ReportsApi", "account_in_path"]


class NoSuchAccount(LookupError):
    """A path's account id past any account's (``account_in_path``): 404, naming the id sent."""


def _refusal(msg: str, status: int) -> web.Response:
    return web.Response(
        body=msgspec.json.encode({"code": -1, "msg": msg}), status=status, content_type="application/json"
    )


class ReportsApi:
    """The report routes of one admin listener, on the accounts database at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/accounts/{account:[0-9]+}/report", self._html)
        app.router.add_get("/api/accounts/{account:[0-9]+}/report.json", self._json)

    async def _html(self, request: web.Request) -> web.Response:
        return await self._answer(request, as_json=False)

    async def _json(self, request: web.Request) -> web.Response:
        return await self._answer(request, as_json=True)

    async def _answer(self, request: web.Request, as_json: bool) -> web.Response:
        query = request.query
        try:
            start, end = parse_range(query.get("from"), query.get("to"))
            account_id = account_in_path(request)
        except ValueError as exc:
            return _refusal(str(exc), 400)
        except NoSuchAccount as exc:
            return _refusal(str(exc), 404)
        asset = query.get("asset") or None

        def made() -> bytes:
            figures = build_figures(self.path, account_id, start_ms=start, end_ms=end, asset=asset)
            return report_json(figures) if as_json else report_html(figures).encode()

        try:
            body = await asyncio.get_running_loop().run_in_executor(None, made)
        except NoJournal as exc:  # nothing of the account: 404; nothing in what was asked: 400
            return _refusal(str(exc), 400 if isinstance(exc, NoRows) else 404)
        kind = "application/json" if as_json else "text/html"
        return web.Response(body=body, content_type=kind, charset="utf-8")


def account_in_path(request: web.Request) -> int:
    """The path's account id (``{account:[0-9]+}``); past any id an account can have:
    ``NoSuchAccount``, naming it as sent (its digits never converted past a number's size:
    Python refuses a 4,300-digit one)."""
    sent = request.match_info["account"]
    digits = sent.lstrip("0") or "0"
    if len(digits) > len(str(ID_MAX)) or int(digits) > ID_MAX:
        raise NoSuchAccount(f"no account {sent}")
    return int(digits)
