"""What the benchmarks share: loopback only, CPU pinning, children that die with the
benchmark, per-process CPU accounting from /proc, and py-spy profile summaries."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only, always


def pin(cpu: int) -> None:
    # Unconditional: a child inherits the parent's {CLIENT_CPU} mask and must widen it.
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {cpu})


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: a child is killed if the benchmark dies without cleaning up."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def proc_table() -> dict[int, tuple[int, int, int]]:
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


def cpu_shares(
    before: dict[int, tuple[int, int, int]],
    after: dict[int, tuple[int, int, int]],
    server: set[int],
    ours: set[int],
    seconds: float,
) -> tuple[float, float]:
    """(server, other processes) CPU in a window, as shares of one core."""
    tick = os.sysconf("SC_CLK_TCK") * seconds
    srv = other = 0
    for pid, (ppid, _, ticks) in after.items():
        used = ticks - before.get(pid, (0, 0, 0))[2]  # new: all in the window
        if pid in server:
            srv += used
        elif pid not in ours and pid != 2 and ppid != 2:  # not ours, not a kernel thread
            other += used
    return srv / tick, other / tick


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def recv(pipe: Connection, timeout: float, what: str) -> Any:
    if not pipe.poll(max(0.0, timeout)):
        raise TimeoutError(f"timed out waiting for {what}")
    return pipe.recv()


def reap(procs: list[BaseProcess], grace_s: float = 3.0) -> None:
    deadline = time.monotonic() + grace_s
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join(2.0)


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


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


class ServerProcess:
    """`python -m tickerplant serve ...` in its own process group (``preexec`` pins it),
    its output in a temporary log."""

    def __init__(self, serve_args: list[str], preexec: Callable[[], None]) -> None:
        self.um_port, self.cm_port = free_port(), free_port()
        while self.cm_port == self.um_port:
            self.cm_port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            "w+", prefix="tickerplant-bench-", suffix=".log"
        )
        cmd = [
            sys.executable, "-m", "tickerplant", "serve", "--host", HOST,
            "--um-port", str(self.um_port), "--cm-port", str(self.cm_port), *serve_args,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            env=server_env(),
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,  # the parent has no other threads
        )

    def pids(self) -> list[int]:
        group = [pid for pid, (_, pgrp, _) in proc_table().items() if pgrp == self.proc.pid]
        return group or [self.proc.pid]

    def wait_listening(self, timeout_s: float, ports: Sequence[int] | None = None) -> None:
        """Until every one of ``ports`` (both listeners by default) accepts a connection."""
        deadline = time.monotonic() + timeout_s
        for port in ports or (self.um_port, self.cm_port):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}: {self.tail()}")
                with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"server not listening on {port} after {timeout_s:.0f} s")
                time.sleep(0.1)

    def log_text(self) -> str:
        self.log.flush()
        with contextlib.suppress(OSError):
            return Path(self.log.name).read_text()
        return ""

    def tail(self, lines: int = 5) -> str:
        return " | ".join(self.log_text().strip().splitlines()[-lines:])

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(3.0)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # and anything it started
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(3.0)
        self.log.close()


def profile_pid(pid: int, seconds: float, out: Path) -> str | None:
    """`py-spy record --format raw` of `pid` for `seconds`; None when done, else why not."""
    exe = shutil.which("py-spy")
    if exe is None:
        return "py-spy is not on PATH"
    cmd = [
        exe, "record", "--format", "raw", "--nolineno", "--nonblocking", "--idle", "--rate", "250",
        "--duration", str(max(1, round(seconds))), "--pid", str(pid), "--output", str(out),
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
