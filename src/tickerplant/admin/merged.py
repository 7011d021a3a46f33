"""The whole server's metrics and status, from what each of its processes says of itself
(``serve --workers N``: the plant and the gateways, each on a private admin port).

Metrics: each process' exposition is parsed with ``prometheus_client``'s own parser and
the samples with the same name and labels are added up: counters, and histograms bucket
by bucket (``_bucket``, ``_count`` and ``_sum`` are samples like any other). A gauge's sum
is the whole server's figure (connections, subscriptions, RSS and open descriptors of all
the processes), except for the gauges every process reads off the same market, which the
first process that has them (the plant, listed first) gives: the book gauges and the
replay's; a start time, which is the oldest process'; and ``tickerplant_bus_up``, each
market's the least of the processes' (1 only while every process that answered hears its
bus: a sum would read 3 with two gateways, 2 with one of them deaf, and no alert written
for the 0-or-1 figure would fire). A process that did not answer
adds nothing; ``tickerplant_workers`` and ``tickerplant_workers_up`` say how many of each
role there are and how many are up: answered, and hearing their bus (every
``tickerplant_bus_up`` sample they give is 1: the plant connected to NATS, a gateway's
markets fed with frames).

The status: the plant's source, start and replay; each market's listener as the gateways'
sum (connections, rates, limit hits), its busiest streams added up per stream, its faults
(the plant's and the gateways', newest first), the
recent closes of every gateway, newest first, and each process: up when it answered and
is not degraded (``degraded`` says why). Sans-I/O: texts and dicts in, bytes and a
dict out.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from tickerplant.admin.status import BUSIEST_STREAMS, RECENT_CLOSES
from tickerplant.faults.record import RECENT as RECENT_FAULTS

__all__ = ["FIRST_ANSWER", "Said", "merge_metrics", "merge_status"]

# gauges that every process reading the market has alike: the first answer is the figure
FIRST_ANSWER = {
    "tickerplant_book_levels",
    "tickerplant_book_spread",
    "tickerplant_replay_progress_ratio",
    "tickerplant_replay_time_seconds",
}
_OLDEST = {"process_start_time_seconds"}
_LEAST = {"tickerplant_bus_up"}  # every process' 0 or 1: the whole server's is their least


class Said(NamedTuple):
    """What one process answered: its role (``plant``, ``gateway``) and its answer, or
    None when it did not answer; where its admin listener is."""

    role: str
    answer: Any
    url: str = ""


def _families(text: str) -> list[Metric] | None:
    try:
        return list(text_string_to_metric_families(text))
    except ValueError:  # an exposition cut short: the process is as good as down
        return None


def merge_metrics(said: Sequence[Said]) -> bytes:
    """The processes' expositions (``Said.answer``: text, or None) as one, added up."""
    merged: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    run: dict[str, int] = {}
    up: dict[str, int] = {}
    for role, text, _ in said:
        run[role] = run.get(role, 0) + 1
        families = _families(text) if text is not None else None
        if families is None:
            continue
        if all(sample.value == 1 for f in families if f.name == "tickerplant_bus_up" for sample in f.samples):
            up[role] = up.get(role, 0) + 1
        for family in families:
            if family.name not in merged:
                merged[family.name] = Metric(family.name, family.documentation, family.type)
                values[family.name] = {}
            into = values[family.name]
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key not in into:
                    into[key] = sample.value
                elif family.name in _OLDEST or family.name in _LEAST:
                    into[key] = min(into[key], sample.value)
                elif family.name not in FIRST_ANSWER or family.type != "gauge":
                    into[key] += sample.value
    for name, family in merged.items():
        for (sample_name, labels), value in values[name].items():
            family.add_sample(sample_name, dict(labels), value)
    workers = GaugeMetricFamily("tickerplant_workers", "Processes of the server, per role", labels=["role"])
    answered = GaugeMetricFamily(
        "tickerplant_workers_up", "Processes that answered and hear their bus, per role", labels=["role"]
    )
    for role, count in run.items():
        workers.add_metric([role], count)
        answered.add_metric([role], up.get(role, 0))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([workers, answered, *merged.values()]))
    return generate_latest(registry)


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def merge_status(said: Sequence[Said]) -> dict[str, Any]:
    """The processes' ``/api/status`` answers (dicts, or None) as the whole server's."""
    plant = next((each.answer for each in said if each.role == "plant" and each.answer is not None), None)
    gateways = [each.answer for each in said if each.role == "gateway" and each.answer is not None]
    first = plant or (gateways[0] if gateways else {})
    status: dict[str, Any] = {
        "source": first.get("source", "unknown"),
        "startedMs": first.get("startedMs", 0),
        "serverTimeMs": first.get("serverTimeMs", 0),
        "finished": first.get("finished", False),
        "finishReason": first.get("finishReason", ""),
        "replay": plant.get("replay") if plant is not None else None,
    }
    markets: dict[str, list[dict[str, Any]]] = {}
    for gateway in gateways:
        for market, listener in gateway.get("listeners", {}).items():
            markets.setdefault(market, []).append(listener)
    decided = plant.get("faults", {}) if plant is not None else {}
    status["listeners"] = {
        market: _listener(listeners, decided.get(market)) for market, listeners in markets.items()
    }
    status["recentCloses"] = list(
        heapq.merge(
            *(gateway.get("recentCloses", []) for gateway in gateways),
            key=lambda close: close["time"],
            reverse=True,
        )
    )[:RECENT_CLOSES]
    status["workers"] = [
        {
            "role": w.role,
            "admin": w.url,
            "up": w.answer is not None and not w.answer.get("degraded"),
            "degraded": ["did not answer"] if w.answer is None else w.answer.get("degraded", []),
        }
        for w in said
    ]
    return status


def _listener(listeners: list[dict[str, Any]], decided: list[dict[str, Any]] | None) -> dict[str, Any]:
    """One market's listener, as its gateways' sum (they share its address); ``decided``: the
    fault profile's faults the plant decided, listed with the gateways' market faults."""
    merged = dict(listeners[0])
    if decided is not None or "faults" in merged:
        fired = [decided or [], *(listener.get("faults", []) for listener in listeners)]
        newest = heapq.merge(*fired, key=lambda fault: fault["time"], reverse=True)
        merged["faults"] = list(itertools.islice(newest, RECENT_FAULTS))
    merged["connections"] = _sum_keys(listener.get("connections", {}) for listener in listeners)
    merged["limitHits"] = _sum_keys(listener.get("limitHits", {}) for listener in listeners)
    for rate in ("messagesPerSecond", "bytesPerSecond"):
        merged[rate] = round(sum(listener.get(rate, 0) for listener in listeners), 1)
    streams: dict[str, dict[str, Any]] = {}
    for listener in listeners:
        for row in listener.get("busiestStreams", []):
            total = streams.setdefault(row["stream"], {"stream": row["stream"]})
            for key in ("subscribers", "messages", "bytes"):
                total[key] = total.get(key, 0) + row.get(key, 0)
    merged["busiestStreams"] = heapq.nlargest(
        BUSIEST_STREAMS, streams.values(), key=lambda row: (row["subscribers"], row["stream"])
    )
    return merged


def _sum_keys(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for each in counts:
        for key, count in each.items():
            total[key] = total.get(key, 0) + count
    return total
