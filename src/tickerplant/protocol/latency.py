"""Order latency, in the market's time: how long a signed request takes to reach the venue
(entry) and its answer to come back (response), drawn per request from a model chosen by
name, hftbacktest's three (``hftbacktest/src/backtest/models/latencies.rs``: constant, a
seeded draw, intervals read from a file and interpolated). Sans-I/O: a model is asked with
the request's time and answers two integers of milliseconds; the gateway holds the request
until the market's clock reaches its arrival, then its answer for the response latency
(docs/venue.md, "Latency").

The spec of a model, ``--latency``:

- ``none`` (the default): answered at once, as a co-located client is (the market's own
  timestamps already carry the latency its feed saw; and a test's or a bot's clock that
  stands still never waits on one);
- ``constant:ENTRY[,RESPONSE]``: fixed milliseconds (RESPONSE: ENTRY's);
- ``lognormal:MEDIAN,SIGMA[,MAX]``: each leg ``MEDIAN × e^(SIGMA·z)``, ``z`` standard normal
  drawn from a generator seeded by ``--seed`` (a run's latencies repeat exactly), at most
  MAX (10 × MEDIAN): network latency's long right tail;
- ``file:PATH``: CSV rows ``time_ms,entry_ms,response_ms`` (ascending times; a header line
  is skipped), e.g. measured against Binance: a request at ``t`` takes the legs linearly
  interpolated between the rows around it, the first or the last row's outside them
  (hftbacktest's ``IntpOrderLatency``).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from typing import Protocol

from tickerplant.protocol.recv_window import MAX_RECV_WINDOW_MS

__all__ = [
    "ConstantLatency", "IntervalLatency", "LatencyModel", "LogNormalLatency", "OrderPath", "latency_file",
    "latency_model", "parse_rows",
]  # fmt: skip


class LatencyModel(Protocol):
    @property
    def name(self) -> str: ...  # the spec it was made from

    def legs(self, now_ms: int) -> tuple[int, int]:
        """The entry and response latency of a request sent at ``now_ms``, milliseconds."""
        ...


@dataclass(frozen=True, slots=True)
class ConstantLatency:
    name: str
    entry_ms: int
    response_ms: int

    def legs(self, now_ms: int) -> tuple[int, int]:
        return self.entry_ms, self.response_ms


class LogNormalLatency:
    """Each leg ``median × e^(sigma·z)`` (``z`` standard normal), at most ``most``: seeded, so
    the same requests in the same order draw the same latencies."""

    __slots__ = ("_most_exponent", "_rng", "median_ms", "most_ms", "name", "sigma")

    def __init__(self, name: str, median_ms: float, sigma: float, most_ms: float, seed: int | str) -> None:
        self.name, self.median_ms, self.sigma, self.most_ms = name, median_ms, sigma, most_ms
        self._rng = random.Random(f"latency/{seed}")
        # the exponent at which a draw reaches ``most``: compared before ``e^x`` is taken, which
        # overflows a float past x = 709 (a large sigma's tail), where the draw is ``most`` anyway
        self._most_exponent = math.log(most_ms / median_ms) if median_ms > 0 else math.inf

    def legs(self, now_ms: int) -> tuple[int, int]:
        return self._draw(), self._draw()

    def _draw(self) -> int:
        exponent = self.sigma * self._rng.gauss(0.0, 1.0)
        if not self.median_ms:
            return 0
        if exponent >= self._most_exponent:
            return round(self.most_ms)
        return round(min(self.median_ms * math.exp(exponent), self.most_ms))


class IntervalLatency:
    """Legs interpolated in time between measured rows (hftbacktest's ``IntpOrderLatency``)."""

    __slots__ = ("_entry", "_response", "_times", "name")

    def __init__(self, name: str, rows: list[tuple[int, int, int]]) -> None:
        if not rows:
            raise ValueError("a latency file needs at least one row time_ms,entry_ms,response_ms")
        if any(a[0] > b[0] for a, b in itertools.pairwise(rows)):
            raise ValueError("a latency file's times must be ascending")
        if any(entry < 0 or response < 0 for _, entry, response in rows):
            raise ValueError("a latency is never negative")
        for n, (_, entry, response) in enumerate(rows, 1):
            _within([float(entry), float(response)], f"{name}: row {n}", name)
        self.name = name
        self._times = [row[0] for row in rows]
        self._entry = [row[1] for row in rows]
        self._response = [row[2] for row in rows]

    def legs(self, now_ms: int) -> tuple[int, int]:
        return self._at(self._entry, now_ms), self._at(self._response, now_ms)

    def _at(self, values: list[int], now_ms: int) -> int:
        times = self._times
        i = bisect.bisect_right(times, now_ms)
        if i == 0:
            return values[0]
        if i == len(times):
            return values[-1]
        t0, t1 = times[i - 1], times[i]
        v0, v1 = values[i - 1], values[i]
        return v0 + (v1 - v0) * (now_ms - t0) // (t1 - t0) if t1 != t0 else v1


def _numbers(text: str, name: str, least: int, most: int) -> list[float]:
    parts = [p.strip() for p in text.split(",")] if text else []
    if not least <= len(parts) <= most:
        raise ValueError(f"{name} takes {least} to {most} numbers, not {text!r}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a list of numbers") from None
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"{name}: latencies are finite and not negative, not {text!r}")
    return values


def _within(values: list[float], name: str, spec: str) -> None:
    """A leg is at most the longest recvWindow (part 1 §5.2): past it a request expires."""
    if any(v > MAX_RECV_WINDOW_MS for v in values):
        most = MAX_RECV_WINDOW_MS
        raise ValueError(f"{name}: a latency is at most {most} ms (recvWindow's most), not {spec!r}")


def parse_rows(text: str, name: str) -> list[tuple[int, int, int]]:
    """A latency file's rows ``time_ms,entry_ms,response_ms`` (a header line and blank lines
    skipped); ValueError naming the line."""
    rows: list[tuple[int, int, int]] = []
    for n, line in enumerate(text.splitlines()):
        row = [v.strip() for v in line.split(",")] if line.strip() else []
        if not row or (n == 0 and not row[0].lstrip("-").isdigit()):
            continue  # a blank line, or the header
        if len(row) != 3:
            raise ValueError(f"{name}:{n + 1}: three columns time_ms,entry_ms,response_ms")
        try:
            time_ms, entry, response = (int(v) for v in row)
        except ValueError:
            raise ValueError(f"{name}:{n + 1}: integers of milliseconds, not {line!r}") from None
        rows.append((time_ms, entry, response))
    return rows


def latency_model(spec: str, seed: int | str = 1, file_text: str | None = None) -> LatencyModel | None:
    """The model ``spec`` names (the module's docstring); None for ``none``. A ``file:`` spec
    takes the file's text (``file_text``; its reader is the shell's); without it, the spec
    is only checked. ValueError, saying why, for anything else."""
    kind, _, args = spec.strip().partition(":")
    if kind == "none" and not args:
        return None
    if kind == "constant":
        values = _numbers(args, "constant", 1, 2)
        _within(values, "constant", spec)
        entry = round(values[0])
        return ConstantLatency(spec, entry, round(values[1]) if len(values) == 2 else entry)
    if kind == "lognormal":
        values = _numbers(args, "lognormal", 2, 3)
        median, sigma = values[0], values[1]
        most = values[2] if len(values) == 3 else 10 * median
        _within([median, most], "lognormal (MAX, 10 × MEDIAN unless given)", spec)
        if most < median:
            raise ValueError(f"lognormal: its MAX is at least its MEDIAN, not {spec!r}")
        return LogNormalLatency(spec, median, sigma, most, seed)
    if kind == "file" and args:
        return None if file_text is None else IntervalLatency(spec, parse_rows(file_text, args))
    raise ValueError(
        f"{spec!r}: a latency model is none, constant:ENTRY[,RESPONSE], lognormal:MEDIAN,SIGMA[,MAX] "
        "or file:PATH (milliseconds)"
    )


def latency_file(spec: str) -> str | None:
    """The path a ``file:`` spec names, else None."""
    kind, _, args = spec.strip().partition(":")
    return args if kind == "file" and args else None


class OrderPath:
    """One listener's path to the venue and back, first in first out each way, as one TCP
    path is: a request arrives at ``sent + entry`` but never before one sent earlier, and an
    answer leaves ``response`` after it is made but never before an earlier one."""

    __slots__ = ("_answered", "_arrived", "model")

    def __init__(self, model: LatencyModel) -> None:
        self.model = model
        self._arrived = 0
        self._answered = 0

    @property
    def arriving_ms(self) -> int:
        """When the last request sent reaches the venue (0: none sent yet)."""
        return self._arrived

    def send(self, now_ms: int) -> tuple[int, int]:
        """A request sent at ``now_ms``: when it reaches the venue, and its response leg."""
        entry, response = self.model.legs(now_ms)
        arrives = self._arrived = max(now_ms + entry, self._arrived)
        return arrives, response

    def answer(self, now_ms: int, response_ms: int) -> int:
        """When an answer made at ``now_ms`` reaches its client."""
        reaches = self._answered = max(now_ms + response_ms, self._answered)
        return reaches
