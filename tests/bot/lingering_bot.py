"""A bot for tests/bot/test_bot_run.py, run by ``tickerplant run``: it buys 0.010 BTCUSDT at
market, then waits; told to stop (SIGTERM, at the replay's end) it takes ``argv[1]`` wall
seconds more before it exits (read off ``/proc/uptime``, which libfaketime does not move),
as a bot that saves its state does."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

LINGER_S = float(sys.argv[1])
URL = os.environ["TICKERPLANT_UM_URL"]


def uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def stop(*_: object) -> None:
    until = uptime() + LINGER_S
    while uptime() < until:
        pass
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
query = f"symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&timestamp={int(time.time() * 1000)}"
signature = hmac.new(os.environ["BOT_SECRET"].encode(), query.encode(), hashlib.sha256).hexdigest()
request = urllib.request.Request(
    f"{URL}/fapi/v1/order?{query}&signature={signature}", method="POST", headers={"X-MBX-APIKEY": os.environ["BOT_KEY"]}
)
urllib.request.urlopen(request).read()
while True:
    signal.pause()
