"""What a plant's or a gateway's bus meets, logged within a budget.

A nats-server that is away is refused once a second by each process (nats-py's reconnect
loop), and whoever can publish on the bus decides how many unreadable messages a gateway
sees: unbounded, either would fill the log. So each kind of trouble (the code's own few
strings: ``error``, ``disconnected``, ``reconnected``, ``rejected``, ``state``, ``silent``,
…) is let through ``PER_MINUTE`` times a minute (``gateway.log_budget.LogBudget``), and the
first record let through after some were held says how many.
"""

from __future__ import annotations

import logging

from tickerplant.clock import Clock
from tickerplant.gateway.log_budget import LogBudget, held_note
from tickerplant.market.instruments import Market

__all__ = ["PER_MINUTE", "BusLog"]

PER_MINUTE = 3
# what the connection reports (NatsBus.on_trouble): a server regained is news, not a warning
_LEVELS = {"reconnected": logging.INFO}


class BusLog:
    """A process' log of its bus, ``PER_MINUTE`` records of each kind a minute."""

    def __init__(self, logger: logging.Logger, clock: Clock) -> None:
        self.log = logger
        self.clock = clock
        self.budget = LogBudget(PER_MINUTE, 60_000)

    def say(self, kind: str, level: int, text: str) -> None:
        held = self.budget.allow(kind, self.clock.now_ms())
        if held is not None:
            self.log.log(level, "%s%s", text, held_note(held))

    def trouble(self, kind: str, text: str) -> None:
        """``NatsBus.on_trouble``: what the NATS connection met."""
        self.say(kind, _LEVELS.get(kind, logging.WARNING), f"NATS: {text}")

    def rejected(self, market: Market, why: str) -> None:
        """``NatsBus.on_rejected``: a message that did not validate, dropped."""
        self.say("rejected", logging.WARNING, f"{market.value}: {why}")
