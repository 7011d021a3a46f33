"""The server's own part of a request, beside what the client measures: the mean of the
server's request histogram (the admin listener's ``/metrics``,
``tickerplant_request_duration_seconds``: ``_sum`` over ``_count``) before and after each part
of the run. For REST it runs from the request routed to its answer made: the group commit and
the write after it are not in it. For the WebSocket API it runs from the frame read to the
reply released, the group commit in it (the reply waits for it), the write not. The client's
own time, the loop's queue before the request is read and the network are in neither.

It shows what a request costs when requests come a millisecond apart (the steady parts)
against back to back (flat out): the same code, the same accounts, and two to five times the
CPU at a steady rate (docs/benchmarks.md, "Cold requests at a steady rate"). Beside it, the
same ratio for a fixed pure-Python pass on this machine (``harness/cold.py``): how much of
that is the machine's caches after a pause."""

from __future__ import annotations

import re
import urllib.request

from ..harness.cold import Pause
from ..harness.processes import HOST

__all__ = ["Taken", "print_server_part", "taken"]

# (surface, endpoint): REST's order and its cancel share one endpoint; the WebSocket API's are two
_SERIES = (("rest", "/fapi/v1/order"), ("ws_api", "order.place"), ("ws_api", "order.cancel"))
_LINE = re.compile(r"^tickerplant_request_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
Taken = dict[tuple[str, str], tuple[float, float]]  # (surface, endpoint) -> (seconds, requests)


def taken(admin_port: int) -> Taken:
    """The histogram's sums and counts now, for ``_SERIES`` (USDⓈ-M, answered 200)."""
    with urllib.request.urlopen(f"http://{HOST}:{admin_port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    sums: dict[tuple[str, str], float] = {}
    counts: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if (found := _LINE.match(line)) is None:
            continue
        kind, labels, value = found.groups()
        named = dict(_LABEL.findall(labels))
        if named.get("market") == "um" and named.get("status") == "200":
            (sums if kind == "sum" else counts)[(named["surface"], named["endpoint"])] = float(value)
    return {key: (sums.get(key, 0.0), counts.get(key, 0.0)) for key in _SERIES}


def _mean_ms(before: Taken, after: Taken, key: tuple[str, str]) -> str:
    seconds, count = (a - b for a, b in zip(after[key], before[key], strict=True))
    return f"{seconds / count * 1000:.3f} ms" if count > 0 else "none"


def print_server_part(parts: list[Taken], rate: float, pause: Pause) -> None:
    """``parts``: taken before the steady REST part, after it, after the steady WebSocket API
    part (no request comes between that and the flat-out part), after the flat-out part;
    ``pause``: the machine's cost of a pause (``harness/cold.py``), printed beside them."""
    rest, ws, flat = (parts[0], parts[1]), (parts[1], parts[2]), (parts[2], parts[3])
    order = ("rest", "/fapi/v1/order")
    print("  the server's own part of a request (its histogram's mean): REST, routed → answer made:"
          f" order or cancel {_mean_ms(*rest, order)} at {rate:,.0f}/s,"
          f" {_mean_ms(*flat, order)} flat out;")
    print("    WebSocket API, read → reply released after the commit:"
          f" order.place {_mean_ms(*ws, ('ws_api', 'order.place'))},"
          f" order.cancel {_mean_ms(*ws, ('ws_api', 'order.cancel'))} at {rate:,.0f}/s")
    print(f"  this machine: a pure-Python pass over a few MB of objects takes {pause.back_to_back_us:,.0f} µs"
          f" back to back, {pause.after_pause_us:,.0f} µs {pause.pause_s * 1000:g} ms after the last"
          f" ({pause.factor:.1f}×; benchmarks/harness/cold.py)")
