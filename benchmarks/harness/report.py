"""The report a benchmark prints at the end: a table of its figures, then each ratio against
its target with PASS or FAIL (NOT MEASURED when a side is missing). Benchmarks measure; they
always exit 0, whatever the verdicts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    left: bool = False  # text; figures are aligned right


class Table:
    """Fixed-width columns, two spaces apart; cells are given already formatted."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = columns

    def line(self, cells: Sequence[str]) -> str:
        return "  ".join(
            f"{cell:<{c.width}}" if c.left else f"{cell:>{c.width}}"
            for c, cell in zip(self.columns, cells, strict=True)
        )

    def print(self, rows: Iterable[Sequence[str]]) -> None:
        head = self.line([c.title for c in self.columns])
        print(head)
        print("-" * len(head))
        for row in rows:
            print(self.line(row))


@dataclass(frozen=True)
class Target:
    """`at_least` (a floor on a ratio) or not (a ceiling, on a latency, say)."""

    value: float
    at_least: bool = True
    unit: str = ""

    def met(self, figure: float) -> bool:
        return figure >= self.value if self.at_least else figure <= self.value

    def __str__(self) -> str:
        return f"target {'>=' if self.at_least else '<='} {self.value:g}{self.unit}"


def verdict(label: str, figure: float | None, target: Target, digits: int = 2, after: str = "") -> str:
    """`label: figure   target >= x   PASS`, then `after`; or `label: n/a ... NOT MEASURED`."""
    if figure is None or math.isnan(figure):
        return f"{label}: n/a   {target}   NOT MEASURED"
    word = "PASS" if target.met(figure) else "FAIL"
    return f"{label}: {figure:.{digits}f}{target.unit}   {target}   {word}{after}"


def percentile_ms(seconds: list[float], q: float) -> float:
    """The ``q`` quantile of ``seconds`` (the nearest rank at or above it), in ms; NaN if none."""
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")
