"""The Python asyncio probe: what a bot's clock and waits do under libfaketime. JSON lines
on stdout: its clock at each step and how long each wait lasted on it (``took``), waits of
``argv[1]`` seconds of its clock: ``asyncio.sleep``, ``loop.call_later``, ``asyncio.wait_for``'s
timeout, ``time.sleep``."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

WAIT_S = float(sys.argv[1])


def say(kind: str, **fields: Any) -> None:
    print(json.dumps({"kind": kind, "t": time.time(), **fields}), flush=True)


async def main() -> None:
    say("start", now=datetime.now(UTC).timestamp())
    before = time.time()
    await asyncio.sleep(WAIT_S)
    say("asyncio.sleep", took=time.time() - before)
    loop = asyncio.get_running_loop()
    called: asyncio.Future[None] = loop.create_future()
    before = time.time()
    loop.call_later(WAIT_S, called.set_result, None)
    await called
    say("call_later", took=time.time() - before)
    before = time.time()
    try:
        await asyncio.wait_for(asyncio.Event().wait(), WAIT_S)
    except TimeoutError:
        say("wait_for", took=time.time() - before)
    before = time.time()
    time.sleep(WAIT_S)
    say("time.sleep", took=time.time() - before)
    say("end")


asyncio.run(main())
