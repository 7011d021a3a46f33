"""CPU accounting from /proc over a measurement window: the server's share of its core, and the
share used meanwhile by processes outside the benchmark (noise: the "other processes" figure,
and a warning when it is high). The measured window itself is ``commands.measure``'s: it drives
the children."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ProcTable = dict[int, tuple[int, int, int]]

# Above this share of a core used by other processes in a window, the figures are disturbed.
DISTURBED = 0.05


def proc_table() -> ProcTable:
    """pid -> (ppid, process group, utime + stime in ticks over all threads), from /proc."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            out[int(entry)] = (int(fields[1]), int(fields[2]), int(fields[11]) + int(fields[12]))
        except (OSError, IndexError, ValueError):
            continue
    return out


@dataclass(frozen=True)
class CpuUse:
    """CPU used in a window, as shares of one core."""

    server: float
    others: float  # user processes that are not part of this benchmark


def cpu_use(before: ProcTable, after: ProcTable, server: set[int], ours: set[int], seconds: float) -> CpuUse:
    tick = os.sysconf("SC_CLK_TCK") * seconds
    srv = other = 0
    for pid, (ppid, _, ticks) in after.items():
        used = ticks - before.get(pid, (0, 0, 0))[2]  # new: all in the window
        if pid in server:
            srv += used
        elif pid not in ours and pid != 2 and ppid != 2:  # not ours, not a kernel thread
            other += used
    return CpuUse(srv / tick, other / tick)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return float("nan")


def disturbed(who: str, others: float) -> str | None:
    """The warning for a window in which other processes used CPU, if they used enough."""
    if others <= DISTURBED:
        return None
    return (
        f"WARNING: {who}: other processes used {others:.0%} of a core during the window; "
        "the figures are disturbed"
    )
