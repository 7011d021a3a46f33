"""Randomness addressed by name: every draw of the simulated past is a pure function of the
seed and *where* it is drawn (an asset, a day, an hour, a minute), never of the order in
which somebody asks. So any piece of the past is produced on its own, the same every time.

- ``mix``: a 64-bit key from integers (SplitMix64's finaliser, stable across processes and
  Python versions; ``hash()`` of a string is salted per process, so names go through
  ``name_key`` once, by BLAKE2b).
- ``uniform``/``normal``: one draw at a key, for the day-level tree (a handful per value).
- ``stream``: a ``random.Random`` seeded from a key, for a node whose children are drawn
  together (an hour's sixty minutes, a minute's trades): one seeding (~7 µs) for many draws;
  ``gaussians``: the next ``n`` of its ``gauss()`` in one call (a cold day makes ~4,400).

Also the two facts about Brownian motion the path is built from: the highest and lowest
point of a bridge between known ends (``bridge_high``, ``bridge_low``), and an exact
integer split of a total by weights (``split``).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections.abc import Sequence

__all__ = [
    "bridge_high", "bridge_low", "gaussians", "knotted", "mix", "name_key", "normal", "split", "stream",
    "uniform",
]  # fmt: skip

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TWO_PI = 2.0 * math.pi


def name_key(*parts: object) -> int:
    """A stable 64-bit key for ``parts`` (ints and strings), the same in every process."""
    text = "/".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def mix(key: int, *values: int) -> int:
    """``key`` combined with ``values``: each folded in and scrambled by SplitMix64."""
    z = key
    for v in values:
        z = (z + _GOLDEN + (v & _MASK)) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        z ^= z >> 31
    return z


def uniform(key: int) -> float:
    """A uniform draw in (0, 1) at ``key``."""
    return ((mix(key, 1) >> 11) + 0.5) / 9007199254740992.0  # 53 bits, never 0 or 1


def normal(key: int) -> float:
    """A standard normal draw at ``key`` (Box-Muller over two keyed uniforms)."""
    u, v = uniform(key), uniform(mix(key, 2))
    return math.sqrt(-2.0 * math.log(u)) * math.cos(_TWO_PI * v)


def stream(key: int) -> random.Random:
    """A generator seeded from ``key``, for a node's draws taken together in a fixed order."""
    return random.Random(key)


def gaussians(rng: random.Random, n: int) -> list[float]:
    """The next ``n`` values of ``rng.gauss()``, and ``rng`` left as ``n`` calls leave it:
    CPython's own Box-Muller pairs written out (``Random.gauss``: the second of a pair held
    in ``gauss_next`` for the next call), the same values to the bit, one call instead of
    ``n``."""
    out: list[float] = []
    if n <= 0:
        return out
    random_, log, sqrt, cos, sin = rng.random, math.log, math.sqrt, math.cos, math.sin
    held: float | None = rng.gauss_next  # type: ignore[attr-defined]
    rng.gauss_next = None  # type: ignore[attr-defined]
    if held is not None:
        out.append(0.0 + held)  # ``mu + z * sigma`` at 0 and 1, as gauss returns it
    while len(out) < n:
        x2pi = random_() * _TWO_PI
        g2rad = sqrt(-2.0 * log(1.0 - random_()))
        out.append(0.0 + cos(x2pi) * g2rad)
        second = sin(x2pi) * g2rad
        if len(out) < n:
            out.append(0.0 + second)
        else:
            rng.gauss_next = second  # type: ignore[attr-defined]
    return out


def bridge_high(y0: float, y1: float, variance: float, u: float) -> float:
    """The maximum of a Brownian bridge from ``y0`` to ``y1`` of total ``variance``, drawn
    from its exact law P(max > m) = exp(-2 (m - y0)(m - y1) / variance), by inversion of
    the uniform ``u`` in (0, 1)."""
    d = y1 - y0
    return y0 + (d + math.sqrt(d * d - 2.0 * variance * math.log(u))) / 2.0


def bridge_low(y0: float, y1: float, variance: float, u: float) -> float:
    """The minimum of the same bridge (the maximum of its mirror image)."""
    return -bridge_high(-y0, -y1, variance, u)


def split(total: int, weights: Sequence[float], floor: int = 0) -> list[int]:
    """``total`` split into ``len(weights)`` integers summing to it exactly, each at least
    ``floor`` and the rest in proportion to the weights (cumulative rounding: every share
    within one of its exact proportion). ``total`` must be at least ``floor`` per part."""
    n = len(weights)
    rest = total - floor * n
    if rest < 0:
        raise ValueError(f"{total} cannot give {n} parts {floor} each")
    whole = sum(weights)
    if whole > 0:  # the running sums added in order from 0.0, each rounded (a cold day: 25 splits)
        uptos = [round(rest * running / whole) for running in itertools.accumulate(weights, initial=0.0)]
    else:
        uptos = [rest * i // n for i in range(n + 1)]
    out = [floor + upto - given for given, upto in itertools.pairwise(uptos)]
    out[-1] += rest - uptos[-1]  # floating error, if any, lands on the last part
    return out


def knotted(key: int, part: int, times: range, knot_ms: int) -> list[float]:
    """At each of ``times``, a keyed standard normal every ``knot_ms``, linear between:
    a pure function of the key and the time, whatever range asks."""
    knots: dict[int, float] = {}
    out = []
    for t in times:
        k, rest = divmod(t, knot_ms)
        for j in (k, k + 1):
            if j not in knots:
                knots[j] = normal(mix(key, part, j))
        a, b = knots[k], knots[k + 1]
        out.append(a + (b - a) * rest / knot_ms)
    return out

