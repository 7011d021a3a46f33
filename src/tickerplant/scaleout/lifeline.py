"""What ``serve --workers N`` hands each child on its stdin, and the pipe as its lifeline.

The supervisor writes one line of JSON to a child's stdin, a ``Handover``: the whole
configuration and the NATS credential (never the command line, which every local user can
read in ``/proc``); then it keeps the pipe open for as long as it runs. The child reads the
line (``read_handover``) and then waits for the end of the pipe (``lifeline``): the kernel
closes the supervisor's end when the supervisor exits, however it exits, ``kill -9``
included, so a child never outlives its supervisor and never keeps serving beside a
second one on the ports it shared.

Why a pipe and not Linux's ``PR_SET_PDEATHSIG``: it works on every system, it has no race
with a parent that dies before the child sets it up (the pipe is open from the fork), and
the child stops the way SIGTERM stops it (its clients told 1001), rather than being
killed. The nats-server binary reads no pipe, so it gets the signal instead
(``scaleout/nats_server.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import BinaryIO

import msgspec

from tickerplant.config import ServerConfig

__all__ = ["Handover", "encode_handover", "lifeline", "read_handover"]


class Handover(msgspec.Struct, frozen=True):
    config: ServerConfig  # the whole configuration, as the child runs it
    nats_token: str = ""  # the NATS server's authorization token ("": none)


def encode_handover(handover: Handover) -> bytes:
    return msgspec.json.encode(handover) + b"\n"


def read_handover(stream: BinaryIO) -> Handover:
    """The handover's line; ``ValueError`` when it is not one."""
    line = stream.readline()
    try:
        return msgspec.json.decode(line, type=Handover)
    except msgspec.DecodeError as exc:
        raise ValueError(f"configuration: {exc}") from None


class _Lifeline(asyncio.Protocol):
    def __init__(self, ended: asyncio.Event) -> None:
        self.ended = ended

    def data_received(self, data: bytes) -> None:
        return None  # nothing more is sent: the pipe is only there to end

    def eof_received(self) -> bool | None:
        self.ended.set()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended.set()


async def lifeline(stdin: BinaryIO, ended: asyncio.Event) -> None:
    """Set ``ended`` once ``stdin`` (the supervisor's pipe) reaches its end."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(ValueError, OSError):  # not a pipe (a terminal, a file): no lifeline
        await loop.connect_read_pipe(lambda: _Lifeline(ended), stdin)
