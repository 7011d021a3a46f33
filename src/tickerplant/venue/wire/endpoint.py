"""A private REST endpoint (``rest.PrivateRest``'s routes): its security type (part 1 §2),
its weight (part 1 §7.5, part 3 §2; some weigh more without a ``symbol``) and what answers
it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from tickerplant.venue.auth.checks import Authorized, PrivateRequest, Security

__all__ = ["PrivateEndpoint"]


class PrivateEndpoint(NamedTuple):
    security: Security
    weight: int  # REQUEST_WEIGHT (part 1 §7.5); 40 without a symbol where marked
    answer: Callable[[Authorized, int], Any]  # (the authorized request, now) -> a JSON value
    weight_unscoped: int = 0  # the weight without ``symbol`` (openOrders: 40), 0: the same

    def weight_of(self, request: PrivateRequest) -> int:  # with a symbol, or not (checks._plain)
        if not self.weight_unscoped:  # one weight, a symbol or not (most routes)
            return self.weight
        scoped = _names_symbol(request.query) or _names_symbol(request.body)
        return self.weight if scoped else self.weight_unscoped


def _names_symbol(raw: bytes) -> bool:
    """Whether ``raw`` (a query or a form, as received) sends a ``symbol``: its name in any case
    (decision 4) with a value (an empty one counts as not sent, as the answer reads it)."""
    if raw.lower().find(b"symbol=") < 0:  # most requests: no such text at all
        return False
    for part in raw.split(b"&"):
        name, sent, value = part.partition(b"=")
        if sent and value and name.lower() == b"symbol":
            return True
    return False
