"""The countdowns of ``countdownCancelAll`` on the listener's clock (the rules are
``venue/engine/countdowns.py``'s): one timer, for the earliest deadline; when it fires, the
accounts' open orders on the symbols whose countdown ran out are cancelled through the
engine, their events drained to the user data stream, and the next deadline timed.

Each change is journaled through the engine's journal with its loop iteration's commands
(``Batch.countdowns``, ``venue/journal/countdown_rows.py``): the answer that acknowledges a
countdown waits for the commit as an order's does, and a countdown that ran out leaves the
journal in the transaction of the cancels it made. A restart takes the journal's back
(``keep``): a bot that set one and died meanwhile still has its orders cancelled (part 2
§6.7), at once when the deadline passed while the server was down."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from tickerplant.clock import Clock, Timer
from tickerplant.venue.auth.checks import Keys
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import CancelAll
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.engine.countdowns import Countdowns

__all__ = ["CountdownTimer"]

log = logging.getLogger("tickerplant.venue")


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
        """Replace the symbol's countdown (``0`` stops it), journaled before the answer."""
        deadline_ms = self.countdowns.set(account_id, symbol, countdown_ms, now_ms)
        self._engine.journal.commit(Batch(countdowns=((account_id, symbol, deadline_ms, now_ms),)))
        self._arm()

    def keep(self, held: Sequence[tuple[int, str, int, int]], accounts: Keys) -> int:
        """Take back the journal's countdowns (``held``: account, symbol, deadline ms, set ms;
        ``countdown_rows.held_countdowns``) at a start; those of accounts deleted since, and
        those set after this clock's now (journaled on a clock ahead of it: a replay started
        again at an earlier time), leave the journal; how many were taken."""
        now_ms, gone = self._clock.now_ms(), []
        for account_id, symbol, deadline_ms, set_ms in held:
            if accounts.account(account_id) is None or set_ms > now_ms:
                gone.append((account_id, symbol, 0, now_ms))
            else:
                self.countdowns.restore(account_id, symbol, deadline_ms)
        if gone:
            self._engine.journal.commit(Batch(countdowns=tuple(gone)))
        self._arm()
        return len(held) - len(gone)

    def _arm(self) -> None:
        """The timer at the earliest deadline, if it is earlier than the one timed."""
        when = self.countdowns.next_due_ms()
        if when is not None and (self._timer is None or when < self._timer_ms):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_ms = when
            self._timer = self._clock.call_at(when, self._due)

    def run_due(self, now_ms: int) -> None:
        """The countdowns run out by ``now_ms``, the market's time at a delivery of its
        messages (``venue_engines.feed_engine``), before its trades can fill what they cancel,
        as a GTD order's date ends it: on a replay the clock's timer is looked at a tenth of a
        second of the wall's apart, seconds of the replay's at its speed, and the trades
        after the deadline would have filled them first."""
        when = self.countdowns.next_due_ms()
        if when is not None and when <= now_ms:
            self._run(now_ms)

    def _due(self) -> None:
        self._timer = None
        self._run(self._clock.now_ms())

    def _run(self, now_ms: int) -> None:
        engine = self._engine
        try:
            for account_id, symbol in self.countdowns.due(now_ms):
                try:  # one account's failure (a bug) ends no other's countdown, nor the timer
                    engine.apply(CancelAll(account_id, symbol), now_ms)
                except Exception:
                    log.exception("countdownCancelAll of account %s on %s failed", account_id, symbol)
                # gone from the journal with the cancels it made (one group commit's transaction),
                # or without them when they failed: spent either way, not failing again at each start
                engine.journal.commit(Batch(countdowns=((account_id, symbol, 0, now_ms),)))
                self.fired += 1
        finally:
            self._after(now_ms)
            self._arm()
