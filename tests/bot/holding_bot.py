"""A bot for tests/bot/test_bot_run.py, run by ``tickerplant run``: it buys 0.100 BTCUSDT at
market, holds it until the market's book passes ``argv[1]`` (ms, a ``bookTicker``'s event time: the
market may trade no more), then writes its USDT
``marginBalance`` (``GET /fapi/v2/account``) to the file ``argv[2]`` and exits."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request
from typing import Any

from websockets.sync.client import connect

UNTIL_MS, OUT = int(sys.argv[1]), sys.argv[2]
URL = os.environ["TICKERPLANT_UM_URL"]


def signed(method: str, path: str, query: str) -> Any:
    query = f"{query}&timestamp={int(time.time() * 1000)}" if query else f"timestamp={int(time.time() * 1000)}"
    signature = hmac.new(os.environ["BOT_SECRET"].encode(), query.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{URL}{path}?{query}&signature={signature}", method=method, headers={"X-MBX-APIKEY": os.environ["BOT_KEY"]}
    )
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.100")
with connect(URL.replace("http", "ws", 1) + "/ws/btcusdt@bookTicker") as book:  # held until the market's time
    while json.loads(book.recv())["E"] < UNTIL_MS:
        pass
(usdt,) = [a for a in signed("GET", "/fapi/v2/account", "")["assets"] if a["asset"] == "USDT"]
with open(OUT, "w") as out:
    json.dump({"marginBalance": usdt["marginBalance"], "walletBalance": usdt["walletBalance"]}, out)
