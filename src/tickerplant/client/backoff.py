"""Reconnect delays as a pure generator, the way websockets does it: the shell sleeps for
``next(delays)`` between attempts and starts a fresh generator once a connection has held;
tests substitute any iterator, so no test ever waits for a real backoff.

Delays grow geometrically from ``initial_s`` by ``factor`` up to ``max_s``. Jitter spreads
clients that lost the same server at the same moment, so they do not all come back in the
same instant (spec §2.5: an IP that keeps reconnecting may be banned).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["backoff"]


def backoff(
    initial_s: float = 0.1,
    factor: float = 2.0,
    max_s: float = 30.0,
    jitter: float = 0.1,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Yield reconnect delays in seconds, forever.

    Each delay is the capped exponential value ``d`` scaled by a factor drawn uniformly
    from ``[1 - jitter, 1]``: ``jitter=0`` gives the plain sequence, ``0.1`` trims up to
    10 %, and ``1.0`` is "full jitter" (uniform in ``[0, d]``). Jitter only ever shortens
    a delay, so ``max_s`` is a true upper bound. Pass a seeded ``rng`` for determinism.
    """
    if initial_s < 0 or max_s < initial_s:
        raise ValueError("need 0 <= initial_s <= max_s")
    if factor < 1:
        raise ValueError("factor must be at least 1: delays never shrink")
    if not 0 <= jitter <= 1:
        raise ValueError("jitter is a fraction between 0 and 1")
    # Checked here, not in the generator body, so a bad argument fails at the call.
    return _delays(initial_s, factor, max_s, jitter, rng if rng is not None else random.Random())


def _delays(
    initial_s: float, factor: float, max_s: float, jitter: float, rng: random.Random
) -> Iterator[float]:
    draw = rng.random
    delay = initial_s
    while True:
        yield delay * (1 - jitter * draw()) if jitter else delay
        # Once at the cap, stay there: multiplying further would only overflow to inf.
        delay = min(delay * factor, max_s)
