"""A change trading made to an account's wallet in one market (a fill's realized PnL less its
commission, a funding fee, a clearance fee, an automatic exchange's legs): one home for what
it moves, the asset's sum (``Ledger.changes``, read by every wallet figure) and when it last
moved (``Ledger.changed_ms``: the balance rows' ``updateTime``, part 3 §4.1, ``0`` for an
asset never touched). An operator's transfer moves it too, at the time the engine tells it
(``clearing/transfers.py``): every time here is the engine's clock, a replay's as well,
never the wall clock the operator's balance row was written at."""

from __future__ import annotations

from tickerplant.venue.ledger.ledger import Ledger

__all__ = ["change_wallet", "moved_at"]


def change_wallet(ledger: Ledger, asset: str, delta: int, time_ms: int) -> None:
    """``delta`` (1e-8 of ``asset``) into ``ledger``'s wallet at ``time_ms``."""
    ledger.changes[asset] = ledger.changes.get(asset, 0) + delta
    moved_at(ledger, asset, time_ms)


def moved_at(ledger: Ledger, asset: str, time_ms: int) -> None:
    """``ledger``'s wallet of ``asset`` moved at ``time_ms`` (trading, or a transfer told)."""
    if time_ms > ledger.changed_ms.get(asset, 0):
        ledger.changed_ms[asset] = time_ms
