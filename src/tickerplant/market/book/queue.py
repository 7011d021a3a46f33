"""Where an order resting in a price level stands in its queue, and how that place moves:
hftbacktest's queue models (``hftbacktest/src/backtest/models/queue.rs``, at ``5f3ec40``), in
integer quantity units, sans-I/O. Both matching modes use them: the simulator's book, whose
venue orders are real quantity in it (``feeds/simulator/simulated_book.py``), and an observed book (a
replay's or relay's), which cannot react to them (``venue/engine/resting.py``, ``venue/book/matching.py``).

An order's ``Position`` is the quantity ``ahead`` of it at its price, and ``traded``: what
traded at its price since the level's displayed quantity was last read (hftbacktest's
``cum_trade_qty``; only the probability models read it). The operations, alike for every
model but the last:

- **arrive**: the order joins the back of its level, behind all it displays
  (``new_order``: ``front_q_qty = depth.qty_at_tick``), or, restored, at its recorded place,
  at most the level;
- **a trade at its price** (``trade`` then ``is_filled``): the trade uses up ``ahead`` first,
  and what is left of it fills the order, at most its remaining quantity;
- **a trade through its price** (``PartialFillExchange``: ``leaves_qty``): the whole level
  went first; it fills all that is left;
- **the displayed level changes from ``prev`` to ``new``** (``depth``): the model's rule
  for how much of a decrease came from in front of the order. ``RiskAverse``
  (``RiskAdverseQueueModel``): none; ``ahead`` is only clamped to the new level. The
  probability models (``ProbQueueModel``): the decrease less what traded there since
  (``chg = prev - new - traded``; trades advanced the order already) is split by
  ``p = prob(front, back)``, the chance that it came from behind the order
  (``back = prev - front``), as ``est = front - (1 - p)·chg + min(0, back - p·chg)``,
  then clamped to ``new``; an increase (``chg < 0``) only clamps. ``traded`` restarts at 0.

hftbacktest's quantities are floats; here they are integers, so ``est`` is rounded **up**
(the order stays behind any fraction of a unit) and held in ``[0, new]`` (hftbacktest lets
it go below 0, which then fills more than a trade's quantity). Rounding up keeps ``ahead``
of a probability model never above the risk-averse model's on the same events: an order
never fills later under a probability model. Deterministic: hftbacktest's probability
models are expectations, no draws. The power functions are exact (``Fraction``); the
logarithmic ones take ``p`` in double precision (``math.log1p``) and the rest exact.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple, Protocol

__all__ = [
    "DEFAULT_QUEUE_MODEL", "QUEUE_MODELS", "RISK_AVERSE", "Filled", "LogProb", "Position", "PowerProb",
    "QueueModel", "RiskAverse", "queue_model",
]  # fmt: skip

_new = tuple.__new__  # a place made per resting order, without the NamedTuple's generated __new__


class Position(NamedTuple):
    """One resting order's place in its level's queue (quantity units)."""

    ahead: int  # the quantity in front of it at its price
    traded: int = 0  # traded at its price since the level was last read (cum_trade_qty)


class Filled(NamedTuple):
    """What an event did to a resting order: its position after, the quantity it filled."""

    position: Position
    qty: int


class QueueModel(Protocol):
    """A queue model (the module's docstring): the operations on one order's ``Position``."""

    name: str  # its key in ``QUEUE_MODELS``

    def arrive(self, level: int, ahead: int | None = None) -> Position:
        """It joins the back of a level of ``level`` (restored: ``ahead`` in, at most the level)."""
        ...

    def trade(self, position: Position, qty: int, remaining: int) -> Filled:
        """A public trade of ``qty`` at its price, on its side; ``remaining``: what is left of it."""
        ...

    def through(self, position: Position, remaining: int) -> Filled:
        """A public trade through its price: it fills whole."""
        ...

    def depth(self, position: Position, prev: int, new: int) -> Position:
        """The displayed quantity at its price went from ``prev`` to ``new``."""
        ...


class _Queue:
    """The operations every hftbacktest model shares (all but ``depth``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def arrive(self, level: int, ahead: int | None = None) -> Position:
        return _new(Position, (level if ahead is None else max(0, min(ahead, level)), 0))

    def trade(self, position: Position, qty: int, remaining: int) -> Filled:
        # trade: front_q_qty -= qty, cum_trade_qty += qty; is_filled: the excess fills it, front 0
        ahead, traded = position
        used = min(ahead, qty)
        return Filled(Position(ahead - used, traded + qty), min(remaining, qty - used))

    def through(self, position: Position, remaining: int) -> Filled:
        return Filled(Position(0, position.traded), remaining)

    def __repr__(self) -> str:
        return f"<queue model {self.name}>"


class RiskAverse(_Queue):
    """``RiskAdverseQueueModel``: only trades advance an order; a decrease of its level
    clamps ``ahead`` to the new level (``front_q_qty = min(front_q_qty, new_qty)``), which
    is to say every cancel came from behind it."""

    __slots__ = ()

    def depth(self, position: Position, prev: int, new: int) -> Position:
        return Position(max(0, min(position.ahead, new)))


class _Prob(_Queue):
    """``ProbQueueModel``: a decrease is split in front of and behind the order by
    ``prob(front, back)``, the probability that it came from behind (the module docstring)."""

    __slots__ = ()

    def prob(self, front: int, back: int) -> Fraction:
        raise NotImplementedError

    def depth(self, position: Position, prev: int, new: int) -> Position:
        front, traded = position
        chg = prev - new - traded  # trades at the price moved the order already
        if chg <= 0 or front <= 0:  # no decrease but the trades' (or nothing ahead): a clamp
            return Position(max(0, min(front, new)))
        back = max(0, prev - front)
        p = min(max(self.prob(front, back), Fraction(0)), Fraction(1))
        est = front - (1 - p) * chg + min(Fraction(0), back - p * chg)
        # up: behind any fraction of a unit; never past the place trades left it (est <= front)
        return Position(max(0, min(math.ceil(est), front, new)))


class PowerProb(_Prob):
    """``ProbQueueModel`` with ``PowerProbQueueFunc(n)`` (``variant`` 1):
    ``f(x) = x**n``, ``p = f(back) / (f(back) + f(front))``; ``PowerProbQueueFunc2(n)``
    (``variant`` 2): ``p = f(back) / f(back + front)``; ``PowerProbQueueFunc3(n)``
    (``variant`` 3): ``p = 1 - f(front / (front + back))``. Exact for a whole ``n``."""

    __slots__ = ("n", "variant")

    def __init__(self, name: str, n: int, variant: int = 1) -> None:
        if n < 1 or variant not in (1, 2, 3):
            raise ValueError(f"a power queue model takes n >= 1 and variant 1, 2 or 3, not {n}, {variant}")
        super().__init__(name)
        self.n = n
        self.variant = variant

    def prob(self, front: int, back: int) -> Fraction:
        n = self.n
        if self.variant == 1:
            return Fraction(back**n, back**n + front**n)
        if self.variant == 2:
            return Fraction(back**n, (back + front) ** n)
        return 1 - Fraction(front, front + back) ** n


class LogProb(_Prob):
    """``ProbQueueModel`` with ``LogProbQueueFunc`` (``variant`` 1): ``f(x) = log(1 + x)``,
    ``p = f(back) / (f(back) + f(front))``; ``LogProbQueueFunc2`` (``variant`` 2):
    ``p = f(back) / f(back + front)``. ``p`` in double precision, the rest exact."""

    __slots__ = ("variant",)

    def __init__(self, name: str, variant: int = 1) -> None:
        if variant not in (1, 2):
            raise ValueError(f"a log queue model's variant is 1 or 2, not {variant}")
        super().__init__(name)
        self.variant = variant

    def prob(self, front: int, back: int) -> Fraction:
        f_back = math.log1p(back)
        below = f_back + math.log1p(front) if self.variant == 1 else math.log1p(back + front)
        return Fraction(f_back / below)  # front > 0: below > 0


RISK_AVERSE = RiskAverse("risk-averse")
DEFAULT_QUEUE_MODEL = RISK_AVERSE.name

_MODELS: tuple[QueueModel, ...] = (
    RISK_AVERSE,
    LogProb("log-prob"),
    LogProb("log-prob2", 2),
    *(PowerProb(f"power-prob-{n}", n) for n in (1, 2, 3)),
    *(PowerProb(f"power-prob2-{n}", n, 2) for n in (2, 3)),
    *(PowerProb(f"power-prob3-{n}", n, 3) for n in (2, 3)),
)
# by name: hftbacktest's models, with the functions and exponents its documentation shows
QUEUE_MODELS: dict[str, QueueModel] = {model.name: model for model in _MODELS}


def queue_model(name: str) -> QueueModel:
    """The model called ``name`` in ``QUEUE_MODELS``; ValueError naming them, else."""
    found = QUEUE_MODELS.get(name)
    if found is None:
        raise ValueError(f"no queue model {name!r}: one of {', '.join(QUEUE_MODELS)}")
    return found
