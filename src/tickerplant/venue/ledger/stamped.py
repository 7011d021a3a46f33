"""A ledger's state that its margin figures are worked out from, held in containers that
carry a version (``StampedDict``, ``StampedSet``): every way of changing one (each mutating
method of ``dict`` and ``set``) takes a new version from one counter, so a change made from
any module (``ledger/``, ``engine/``, ``clearing/``, the journal's load) cannot leave the
version as it was, and no two containers, nor one container at two moments that differ,
ever carry the same version. ``Ledger`` stamps the containers it is made with
(``Ledger.__post_init__``); one put in place of a stamped field must be stamped too: the
figures read its ``version``, which a plain ``dict`` has not (it fails loudly).

What the figures kept per margin asset are keyed on (``Ledger.figures``): these versions
(the positions held, the leverage, the symbols set ISOLATED), the mode, and, read at each
check because they change in place or outside the
ledger, each position's sums, each symbol's mark, the wallet's changes and the operator's
deposits; the open orders' changes are counted per symbol (``Ledger.opened``, ``touch``,
``closed``, the only ways an open order changes), and only that symbol's margin is read
again; a symbol's first open orders add it to what is counted (``Ledger._first_orders``).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import count
from typing import Any, TypeVar

__all__ = ["StampedDict", "StampedSet"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

_VERSIONS = count(1)  # one counter for every container: a version is never reused


class StampedDict(dict[K, V]):
    """A ``dict`` whose ``version`` changes with every change made to it."""

    __slots__ = ("version",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = next(_VERSIONS)

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.version = next(_VERSIONS)

    def __delitem__(self, key: K) -> None:
        super().__delitem__(key)
        self.version = next(_VERSIONS)

    def pop(self, *args: Any) -> Any:
        self.version = next(_VERSIONS)
        return super().pop(*args)

    def popitem(self) -> tuple[K, V]:
        self.version = next(_VERSIONS)
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        self.version = next(_VERSIONS)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.version = next(_VERSIONS)

    def setdefault(self, key: K, default: Any = None) -> Any:
        if key not in self:
            self.version = next(_VERSIONS)
        return super().setdefault(key, default)

    def __ior__(self, other: Any) -> StampedDict[K, V]:  # type: ignore[override,misc]
        super().__ior__(other)
        self.version = next(_VERSIONS)
        return self


class StampedSet(set[T]):
    """A ``set`` whose ``version`` changes with every change made to it."""

    __slots__ = ("version",)

    def __init__(self, items: Iterable[T] = ()) -> None:
        super().__init__(items)
        self.version = next(_VERSIONS)

    def __repr__(self) -> str:  # as a set's (a ledger's repr shows it)
        return repr(set(self))

    def add(self, item: T) -> None:
        super().add(item)
        self.version = next(_VERSIONS)

    def discard(self, item: object) -> None:
        super().discard(item)
        self.version = next(_VERSIONS)

    def remove(self, item: T) -> None:
        super().remove(item)
        self.version = next(_VERSIONS)

    def pop(self) -> T:
        self.version = next(_VERSIONS)
        return super().pop()

    def clear(self) -> None:
        super().clear()
        self.version = next(_VERSIONS)

    def update(self, *others: Iterable[T]) -> None:
        super().update(*others)
        self.version = next(_VERSIONS)

    def difference_update(self, *others: Iterable[Any]) -> None:
        super().difference_update(*others)
        self.version = next(_VERSIONS)

    def intersection_update(self, *others: Iterable[Any]) -> None:
        super().intersection_update(*others)
        self.version = next(_VERSIONS)

    def symmetric_difference_update(self, other: Iterable[T]) -> None:
        super().symmetric_difference_update(other)
        self.version = next(_VERSIONS)

    def __ior__(self, other: Any) -> StampedSet[T]:  # type: ignore[override,misc]
        super().__ior__(other)
        self.version = next(_VERSIONS)
        return self

    def __iand__(self, other: Any) -> StampedSet[T]:  # type: ignore[misc]
        super().__iand__(other)
        self.version = next(_VERSIONS)
        return self

    def __isub__(self, other: Any) -> StampedSet[T]:  # type: ignore[misc]
        super().__isub__(other)
        self.version = next(_VERSIONS)
        return self

    def __ixor__(self, other: Any) -> StampedSet[T]:  # type: ignore[override,misc]
        super().__ixor__(other)
        self.version = next(_VERSIONS)
        return self

