"""The processes of a benchmark: where they run (the server under test alone on CPU 0, the
clients on CPU 1), that they die with the benchmark (PR_SET_PDEATHSIG, process groups), the
server under test itself, and the clean-up on errors, Ctrl-C and SIGTERM."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from .accounting import proc_table

REPO = Path(__file__).resolve().parent.parent.parent
HOST = "127.0.0.1"  # loopback only, always
SERVER_CPU = 0  # the server under test (or the floor), alone
CLIENT_CPU = 1  # the clients, and the benchmark itself (it mostly sleeps)


def pin(cpu: int) -> None:
    # Unconditional: a child inherits the parent's CLIENT_CPU mask and must widen it.
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {cpu})


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: a child is killed if the benchmark dies without cleaning up."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def raise_nofile() -> None:
    """Lift the open-files limit: a fan-out run holds 1000+ sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 16
    if hard != resource.RLIM_INFINITY and hard < want:
        with contextlib.suppress(ValueError, OSError):  # raising the hard limit needs root
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        want = hard
    if soft == resource.RLIM_INFINITY or soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def child_setup(cpu: int) -> None:
    """In a forked child: the parent handles Ctrl-C and cleans up; SIGTERM just ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()
    pin(cpu)
    raise_nofile()


def server_preexec() -> None:
    """Between fork and exec of the server under test (the parent has no other threads)."""
    die_with_parent()
    pin(SERVER_CPU)
    raise_nofile()


def unpinned_preexec() -> None:
    """``server_preexec`` but free to run on every CPU (what a client sees of work the server
    spreads over the machine's cores: the past's worker processes, ``past_farm.py``)."""
    die_with_parent()
    raise_nofile()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def reap(procs: Sequence[BaseProcess], grace_s: float = 3.0) -> None:
    """Join `procs` within one grace period between them, then kill what is left."""
    deadline = time.monotonic() + grace_s
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join(2.0)


def server_env(src_dir: Path | None = None) -> dict[str, str]:
    """The server under test runs from `src/` (or ``src_dir``, another tree's): no install
    is needed."""
    env = dict(os.environ)
    src = str(src_dir or REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def import_from_src() -> None:
    """Let this process import `tickerplant` from `src/`, as the server does."""
    src = str(REPO / "src")
    if src not in sys.path:
        sys.path.insert(0, src)


def server_usable() -> str | None:
    """None when `python -m tickerplant serve --help` works, else why not."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tickerplant", "serve", "--help"],
            env=server_env(),
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"`serve --help` exited {done.returncode}: {lines[-1] if lines else ''}"
    return None


class ServerProcess:
    """`python -m tickerplant serve ...` in its own process group (``preexec`` pins it),
    its output in a temporary log."""

    def __init__(
        self, serve_args: list[str], preexec: Callable[[], None] = server_preexec, src: Path | None = None
    ) -> None:
        self.um_port, self.cm_port, self.admin_port = free_port(), free_port(), free_port()
        while len({self.um_port, self.cm_port, self.admin_port}) < 3:
            self.cm_port, self.admin_port = free_port(), free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            "w+", prefix="tickerplant-bench-", suffix=".log"
        )
        # the simulated market at its --sim-rate every hour (not as busy as its past's hour, 93
        # to 1,021 actions a second at 400): a figure the same whatever the hour it runs; another
        # tree's src may predate the flag
        steady = ["--steady-rate"] if src is None else []
        cmd = [
            sys.executable, "-m", "tickerplant", "serve", "--host", HOST,
            "--um-port", str(self.um_port), "--cm-port", str(self.cm_port),
            "--admin-port", str(self.admin_port), *steady, *serve_args,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            env=server_env(src),
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
        """Until every one of ``ports`` (both listeners by default) answers an HTTP request:
        a server listens before its source's warm start (a day of history, the books) has
        run, and answers nobody for the seconds that takes; a window opened then measures
        the start, not the server."""
        deadline = time.monotonic() + timeout_s
        for port in ports or (self.um_port, self.cm_port):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}: {self.tail()}")
                if _answers(port, max(0.5, deadline - time.monotonic())):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"server not answering on {port} after {timeout_s:.0f} s")
                time.sleep(0.1)

    def exited(self) -> str | None:
        """None while it runs, else how it ended."""
        if self.proc.poll() is None:
            return None
        return f"server exited with {self.proc.returncode}: {self.tail()}"

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


@contextlib.contextmanager
def serving(
    serve_args: list[str], start_timeout_s: float, ports: Sequence[int] | None = None, src: Path | None = None
) -> Iterator[ServerProcess]:
    """The server under test for the block (from ``src``, another tree's ``src/``, if given);
    stopped, with its process group, however it ends."""
    server = ServerProcess(serve_args, src=src)
    try:
        server.wait_listening(start_timeout_s, ports)
        yield server
        if (why := server.exited()) is not None:
            print(f"  ! {why}", flush=True)
    finally:
        server.stop()


def check_cpus() -> None:
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        print(f"! CPUs {SERVER_CPU} and {CLIENT_CPU} are not both available ({sorted(cpus)})")


@contextlib.contextmanager
def supervised() -> Iterator[None]:
    """The body of a benchmark's main: Ctrl-C and SIGTERM end it (its `finally` blocks stop
    what it started), and no child process outlives it."""

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    try:
        yield
    except KeyboardInterrupt:
        print("\ninterrupted; subprocesses stopped", flush=True)
    finally:
        for child in mp.active_children():  # belt and braces: nothing outlives the run
            child.kill()


def _answers(port: int, timeout_s: float) -> bool:
    """Whether the server on ``port`` answers a request (any status) within ``timeout_s``."""
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return sock.recv(16).startswith(b"HTTP/1.1 ")
    return False
