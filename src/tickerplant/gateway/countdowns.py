"""The countdowns of ``countdownCancelAll`` on the listener's clock (the rules are
``venue/engine/countdowns.py``'s): one timer, for the earliest deadline; when it fires, the
accounts' open orders on the symbols whose countdown ran out are cancelled through the
engine, their events drained to the user data stream, and the next deadline timed."""

from __future__ import annotations

from collections.abc import Callable

from tickerplant.clock import Clock, Timer
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import CancelAll
from tickerplant.venue.engine.countdowns import Countdowns

__all__ = ["CountdownTimer"]


class CountdownTimer:
    def __init__(self, clock: Clock, engine: Engine, after: Callable[[int], object]) -> None:
        """``after``: called with the time once orders were cancelled (the user data drain)."""
        self.countdowns = Countdowns()
        self._clock = clock
        self._engine = engine
        self._after = after
        self._timer: Timer | None = None
        self._timer_ms = 0
        self.fired = 0  # countdowns that ran out, ever

    def set(self, account_id: int, symbol: str, countdown_ms: int, now_ms: int) -> None:
        self.countdowns.set(account_id, symbol, countdown_ms, now_ms)
        when = self.countdowns.next_due_ms()
        if when is not None and (self._timer is None or when < self._timer_ms):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_ms = when
            self._timer = self._clock.call_at(when, self._due)

    def _due(self) -> None:
        self._timer = None
        now_ms = self._clock.now_ms()
        for account_id, symbol in self.countdowns.due(now_ms):
            self._engine.apply(CancelAll(account_id, symbol), now_ms)
            self.fired += 1
        self._after(now_ms)
        when = self.countdowns.next_due_ms()
        if when is not None:
            self._timer_ms = when
            self._timer = self._clock.call_at(when, self._due)
