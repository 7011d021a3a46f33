"""An endpoint's answer with header lines of its own: an order's counts
(``X-MBX-ORDER-COUNT-10S``/``-1M``, trading part 1 §7.4), which ``rest.PrivateRest`` writes."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Headed"]


class Headed(NamedTuple):
    value: Any
    headers: list[tuple[str, int]]
