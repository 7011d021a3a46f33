"""What picows logs about its connections, told apart by whose doing it is.

picows logs through a child logger per connection under the listener's
``picows.<market>`` logger. Some of its records are about what a client did, and the
client decides how many of them there are:

- ``WS parser error: …`` (ERROR): the client broke RFC 6455 (an unmasked frame, an
  unknown opcode, a fragmented or oversized control frame, a frame over 1 MiB); picows
  closes the connection 1002 or 1009, as docs/operations.md lists. The client's fault, not the
  server's, and any client can send one a connection: a WARNING, through the listener's
  ``LogBudget`` (kind "client protocol error"; the next one let through says how many
  were not logged).
- ``Protocol writing pause requested…`` and ``…resume requested…`` (WARNING): a client
  reads slower than its data comes, each time it falls behind and catches up again; a
  slow consumer that is cut off is logged by the gateway (``market_streams``). DEBUG.

Every other record (the exceptions of the gateway's own callbacks above all) goes on as
it is. picows is given a logger of its own, outside the logging hierarchy, whose one
handler is the gate; the gate hands what it keeps to the listener's ``picows.<market>``
logger, which propagates as usual (a logger's filters never see its children's records,
so the gate cannot be a filter there).
"""

from __future__ import annotations

import logging

from tickerplant.clock import Clock
from tickerplant.gateway.log_budget import LogBudget, held_note
from tickerplant.protocol.limits import LimitCounters

__all__ = ["PicowsLogGate", "gated_picows_logger", "listener_logger"]

_CLIENT_FAULTS = {"WS parser error: %s, initiate disconnect": "client protocol error"}
_CLIENT_PACE = {
    "Protocol writing pause requested, crossed writing buffer high-watermark",
    "Protocol writing resume requested, crossed writing buffer low-watermark",
}


class PicowsLogGate(logging.Handler):
    """Hands picows' records on to ``public``, a client's doing rate-limited."""

    def __init__(
        self, public: logging.Logger, clock: Clock, budget: LogBudget, counters: LimitCounters
    ) -> None:
        super().__init__()
        self._counters = counters
        self._public = public
        self._clock = clock
        self._budget = budget

    def emit(self, record: logging.LogRecord) -> None:
        message = record.msg
        kind = _CLIENT_FAULTS.get(message) if isinstance(message, str) else None
        if kind is not None:
            # picows' record is the one notice it gives of a frame its parser refused
            self._counters.frame_refused += 1
            held = self._budget.allow(kind, self._clock.now_ms())
            if held is None:
                return
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            if held:
                record.msg = f"{message}%s"
                record.args = (*(record.args or ()), held_note(held))
        elif message in _CLIENT_PACE:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        public = self._public
        if public.isEnabledFor(record.levelno):
            public.handle(record)


def listener_logger(market: str) -> logging.Logger:
    """The listener's ``picows.<market>`` logger. picows logs every connection's opening and
    closing at INFO: two records for each REST request (one request a connection), about a
    third of a depth request's CPU, and a log that any client can grow without bound; shown
    under --log-level debug alone."""
    public = logging.getLogger(f"picows.{market}")
    if not public.isEnabledFor(logging.DEBUG):
        public.setLevel(logging.WARNING)
    return public


def gated_picows_logger(
    public: logging.Logger, clock: Clock, budget: LogBudget, counters: LimitCounters
) -> logging.Logger:
    """The logger to give picows: its records go to ``public`` through a ``PicowsLogGate``."""
    private = logging.Logger(public.name, public.getEffectiveLevel())  # not in the hierarchy
    private.addHandler(PicowsLogGate(public, clock, budget, counters))
    private.propagate = False
    return private
