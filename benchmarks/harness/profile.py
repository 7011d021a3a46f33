"""py-spy profiles of a process under load, and their summary: the top self-time and inclusive
functions. Optional: without py-spy on PATH a benchmark notes why there is no profile and
goes on."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections import Counter
from pathlib import Path

# What py-spy shows and what it does not, for every summary.
PY_SPY_NOTE = (
    "py-spy, Python frames only. Self time of the outermost frame, Runner.run, is the event loop's "
    "own C code: epoll, socket reads, picows' frame parsing{calls}; C called from a Python function, "
    "{example}, is that function's self time. Sampled without stopping the process (--nonblocking), "
    "so a few stacks are torn; --idle keeps samples inside syscalls, which py-spy otherwise drops "
    "as idle."
)


def profile_pid(pid: int, seconds: float, out: Path, threads: bool = False) -> str | None:
    """`py-spy record --format raw` of `pid` for `seconds` (``threads``: each stack under its
    thread's name); None when done, else why not."""
    exe = shutil.which("py-spy")
    if exe is None:
        return "py-spy is not on PATH"
    cmd = [
        exe, "record", "--format", "raw", "--nolineno", "--nonblocking", "--idle", "--rate", "250",
        "--duration", str(max(1, round(seconds))), "--pid", str(pid), "--output", str(out),
        *(["--threads"] if threads else []),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds + 30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode != 0 or not out.exists():
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"py-spy exited {done.returncode}: {lines[-1] if lines else ''}"
    return None


def top_functions(raw: Path, top: int = 20) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """(samples, top self-time frames, top inclusive frames) of a py-spy raw (collapsed) file."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for f in set(frames):
            total[f] += n
    return samples, own.most_common(top), total.most_common(top)


def print_profile(raw: Path | None, what: str, calls: str = "", example: str = "such as msgspec") -> None:
    """The summary of the profile in `raw` (of `what`), if one was written."""
    if raw is None or not raw.exists() or not raw.stat().st_size:
        return
    samples, own, total = top_functions(raw)
    if not samples:
        print("  profile: no samples")
        return
    print(f"\nProfile of {what} ({samples:,} samples), {raw}")
    note = PY_SPY_NOTE.format(calls=calls, example=example)
    print(textwrap.fill(note, 92, initial_indent="  (", subsequent_indent="   ") + ")")
    print("  self time:")
    for name, n in own:
        print(f"    {n / samples:6.1%}  {name}")
    print("  inclusive time (without the frames on every stack: runpy, main, uvloop.run):")
    for name, n in total:
        if n >= 0.98 * samples:
            continue
        print(f"    {n / samples:6.1%}  {name}")
