"""A signed request's time window (trading part 1 §5), one home for its bounds: the
venue's checks read them (``venue/auth/checks.py``), and so does the order latency's bound
(``latency.py``: a leg past the longest window would expire every request on its way)."""

from __future__ import annotations

__all__ = ["AHEAD_MS", "DEFAULT_RECV_WINDOW_MS", "MAX_RECV_WINDOW_MS"]

DEFAULT_RECV_WINDOW_MS = 5000  # §5.1
MAX_RECV_WINDOW_MS = 60_000  # larger values are clamped on REST, not refused (§5.2, decision 4)
AHEAD_MS = 1000  # a timestamp this far past the server's time is refused (§5.1)
