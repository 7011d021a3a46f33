"""A bot for tests/bot/test_bot_run.py, run by ``tickerplant run``: what its clock reads
against the server's (``GET /fapi/v1/time``), as JSON lines on the file ``argv[2]``, signing
``GET /fapi/v2/balance`` with its key (``BOT_KEY``, ``BOT_SECRET``) as ``argv[1]`` says:

- always first: its clock at start (`time.time()`, then `datetime.now()`) and the server's;
- ``behind``: five requests signed as by a clock 3 s behind its own (the last over the
  WebSocket API), then the server's
  time against its clock once the market was held (or after a thousand looks), then nothing
  until SIGTERM: it exits 5;
- ``slow``: a request signed at its clock, then four as by a clock 2 s behind, again and
  again until the run stops it: a way too slow for the speed, which no hold can shorten
  (a hold for its clock's offset, on a loaded machine, comes first);
- ``quick``: five requests signed as by a clock 3 s behind its own, then it exits 0 at once
  (before the run may have looked at them, or just after it held the market for them);
- ``sleep``: ``asyncio.sleep(10)`` and ``time.sleep(2)``, the server's time around each."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import sys
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from websockets.sync.client import connect

MODE, OUT = sys.argv[1], sys.argv[2]
URL = os.environ["TICKERPLANT_UM_URL"]


def server_ms() -> int:
    with urllib.request.urlopen(f"{URL}/fapi/v1/time") as answer:
        return int(json.load(answer)["serverTime"])


def signed(behind_ms: int = 0) -> None:
    query = f"timestamp={int(time.time() * 1000) - behind_ms}"
    signature = hmac.new(os.environ["BOT_SECRET"].encode(), query.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{URL}/fapi/v2/balance?{query}&signature={signature}", headers={"X-MBX-APIKEY": os.environ["BOT_KEY"]}
    )
    with urllib.request.urlopen(request) as answer:
        answer.read()


def signed_over_the_websocket_api(behind_ms: int) -> None:
    """``account.balance`` over the WebSocket API, signed as its params sorted (part 1 §8.5)."""
    params = {"apiKey": os.environ["BOT_KEY"], "timestamp": int(time.time() * 1000) - behind_ms}
    text = "&".join(f"{name}={params[name]}" for name in sorted(params))
    params["signature"] = hmac.new(os.environ["BOT_SECRET"].encode(), text.encode(), hashlib.sha256).hexdigest()
    with connect(URL.replace("http", "ws", 1) + "/ws-fapi/v1") as api:
        api.send(json.dumps({"id": 1, "method": "account.balance", "params": params}))
        assert json.loads(api.recv())["status"] == 200


def tell(**fields: Any) -> None:
    with open(OUT, "a") as out:
        out.write(json.dumps(fields) + "\n")


async def main() -> int:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    clock = int(time.time() * 1000)
    tell(step="start", clock=clock, now=int(datetime.now(UTC).timestamp() * 1000), server=server_ms())
    if MODE == "sleep":
        before = server_ms()
        await asyncio.sleep(10)
        tell(step="asyncio.sleep", server=server_ms() - before)
        before = server_ms()
        time.sleep(2)
        tell(step="time.sleep", server=server_ms() - before)
        return 0
    if MODE == "slow":  # until the run stops it: its clock's offset (a loaded machine's slow
        for i in range(200):  # start, which the run may hold for first) then the way, too slow
            signed(0 if i % 5 == 0 else 2_000)
            await asyncio.sleep(0)  # the loop's turn: a SIGTERM is heard
            if stop.is_set():
                return 5
    if MODE == "quick":
        for _ in range(5):
            signed(3_000)
        return 0
    for i in range(5):
        if MODE == "behind" and i == 4:  # the WebSocket API's signed requests are weighed too
            signed_over_the_websocket_api(3_000)
        else:
            signed(3_000 if MODE == "behind" else 2_000 if i else 0)
    clock, server = int(time.time() * 1000), server_ms()
    for _ in range(1_000 if MODE == "behind" else 0):  # until the run has held the market
        if server < clock - 2_900:
            break
        time.sleep(0.01)
        clock, server = int(time.time() * 1000), server_ms()
    tell(step="after", clock=clock, server=server)
    await stop.wait()  # the replay's end, or the run's stop
    return 5


sys.exit(asyncio.run(main()))
