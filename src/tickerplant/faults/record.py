"""What fired, for the operator: a count per kind for ``/metrics`` and the latest faults
with their market time for the dashboard. Bounded by design: one counter per kind (a
fixed set) and the last ``RECENT`` faults, whatever a run's length."""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from tickerplant.faults.profile import FaultKind

__all__ = ["RECENT", "FaultRecord", "Fired"]

RECENT = 100  # the faults the dashboard lists


class Fired(NamedTuple):
    at_ms: int  # market time
    kind: FaultKind
    where: str  # the endpoint, method or stream it hit ("" for a connection's)
    symbol: str  # "" when none
    account: int | None

    def as_json(self) -> dict[str, object]:
        return {"time": self.at_ms, "kind": self.kind.value, "where": self.where, "symbol": self.symbol,
                "account": self.account}  # fmt: skip


class FaultRecord:
    def __init__(self) -> None:
        self.counts: dict[FaultKind, int] = {}
        self.recent: deque[Fired] = deque(maxlen=RECENT)

    def add(self, fired: Fired) -> None:
        self.counts[fired.kind] = self.counts.get(fired.kind, 0) + 1
        self.recent.append(fired)
