"""The command protocol between a benchmark and the child processes it forks (clients, floors,
consumers). A command is a tuple, its name first: ("start",), ("run", rate). The parent sends
commands down a pipe and waits for replies with a time limit; the child serves them from its
event loop, between its own work, until "exit", the end of the pipe or its time limit, and
sends back whatever a handler returns that is not None. Its first message (("ready", ...),
("port", n)) it sends itself, when it is set up."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

import uvloop

from .accounting import CpuUse, cpu_use, proc_table
from .processes import child_setup, reap

Handlers = Mapping[str, Callable[..., Any]]


class Child:
    """A forked process on `cpu` running ``uvloop.run(main(pipe, *args))``; `main` serves
    the commands with `serve`."""

    def __init__(
        self, cpu: int, main: Callable[..., Coroutine[Any, Any, None]], *args: Any, grace_s: float = 3.0
    ) -> None:
        ctx = mp.get_context("fork")
        self.pipe, child = ctx.Pipe()
        self.grace_s = grace_s
        self.proc = ctx.Process(target=_child, args=(cpu, main, child, *args), daemon=True)
        self.proc.start()
        child.close()

    @property
    def pid(self) -> int:
        return self.proc.pid or 0

    def send(self, name: str, *args: Any) -> None:
        self.pipe.send((name, *args))

    def recv(self, timeout_s: float, what: str) -> Any:
        if not self.pipe.poll(max(0.0, timeout_s)):
            raise TimeoutError(f"timed out waiting for {what}")
        return self.pipe.recv()

    def ask(self, timeout_s: float, what: str, name: str, *args: Any) -> Any:
        self.send(name, *args)
        return self.recv(timeout_s, what)

    def close(self) -> None:
        close_all([self])


def close_all(children: Sequence[Child]) -> None:
    """Ask every child to exit, give them their grace period together, kill the rest."""
    for c in children:
        with contextlib.suppress(OSError, ValueError):
            c.send("exit")
    reap([c.proc for c in children], max((c.grace_s for c in children), default=3.0))
    for c in children:
        c.pipe.close()


def _child(cpu: int, main: Callable[..., Coroutine[Any, Any, None]], pipe: Connection, *args: Any) -> None:
    child_setup(cpu)
    try:
        uvloop.run(main(pipe, *args))
    finally:
        pipe.close()


async def serve(pipe: Connection, handlers: Handlers, life_s: float) -> None:
    """Run `handlers` on the commands that come down `pipe`, until "exit", the end of the pipe,
    or `life_s` (a hard limit on the child's life, should the parent hang)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def on_command() -> None:
        try:
            name, *args = pipe.recv()
        except (EOFError, OSError):
            finish()
            return
        if name == "exit":
            finish()
            return
        reply = handlers[name](*args)
        if reply is not None:
            pipe.send(reply)

    loop.add_reader(pipe.fileno(), on_command)
    limit = loop.call_later(life_s, finish)
    try:
        await done
    finally:
        limit.cancel()
        loop.remove_reader(pipe.fileno())


def measure(
    children: Sequence[Child],
    seconds: float,
    warmup: float,
    server_pids: Callable[[], list[int]],
    results_timeout_s: float = 30.0,
) -> tuple[list[Any], CpuUse]:
    """One measured window: after `warmup`, every child is sent "start", then after `seconds`
    "stop", to which each replies with its figures. Returns those and the CPU the server and
    the other processes used in between; the children measure their own CPU and time."""
    time.sleep(warmup)
    ours = {os.getpid()} | {c.pid for c in children}
    before = proc_table()
    t0 = time.monotonic()
    for c in children:
        c.send("start")
    time.sleep(seconds)
    for c in children:
        c.send("stop")
    after = proc_table()
    server = set(server_pids())
    cpu = cpu_use(before, after, server, ours | server, time.monotonic() - t0)
    deadline = time.monotonic() + results_timeout_s
    results = [c.recv(deadline - time.monotonic(), "the window's figures") for c in children]
    return results, cpu
