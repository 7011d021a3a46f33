# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Numbers no client of Binance's sends, over a real socket, each refused with its code and
the connection kept (part 1 §6.3, §10): a decimal in any form but digits and a point
(``-1100``: "1e999990" made Decimal work for ~20 s on the event loop, stalling every client,
and "1e999999" dropped the connection), a LONG past 64 bits (``-1102``: 4,301 digits of
``timestamp`` dropped the connection before the signature was checked), and a ``modifyId``
past a LONG, which changed the order, then failed the journal and never answered."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from test_venue_clients import Venue, plant, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.domain.order_params import DECIMAL_RANGE


def illegal(name: str) -> dict[str, Any]:
    return {"code": -1100, "msg": f"Illegal characters found in parameter '{name}'; legal range is '{DECIMAL_RANGE}'."}


def malformed(name: str) -> dict[str, Any]:
    return {"code": -1102, "msg": f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."}


async def test_numbers_written_otherwise_are_refused_and_the_connection_stays(plant: Tickerplant, venue: Venue) -> None:
    port = plant.listeners[Market.UM].port
    key = {"X-MBX-APIKEY": venue.alice_hmac.api_key}
    async with aiohttp.ClientSession() as session:  # one kept-alive connection for every call

        async def signed(method: str, path: str, query: str) -> tuple[int, Any]:
            query = f"{query}&timestamp={SystemClock().now_ms()}"
            query = f"{query}&signature={hmac_hex(venue.alice_hmac.secret, query.encode())}"
            return await call(method, path, query)

        async def call(method: str, path: str, query: str) -> tuple[int, Any]:
            async with session.request(method, f"http://127.0.0.1:{port}{path}?{query}", headers=key) as answer:
                return answer.status, await answer.json()

        # before the signature is checked: no secret needed to reach these
        assert await call("GET", "/fapi/v3/balance", f"timestamp={'1' * 4301}&signature=00") == (
            400, malformed("timestamp"))  # fmt: skip
        now = SystemClock().now_ms()
        assert await call("GET", "/fapi/v3/balance", f"timestamp={now}&recvWindow={'1' * 4301}&signature=00") == (
            400, {"code": -1130, "msg": "Data sent for parameter 'recvWindow' is not valid."})  # fmt: skip
        order = "/fapi/v1/order"
        head = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
        for quantity in ("1e999990", "1e999999", "%2B0.01", "0.0_10", "%EF%BC%91", "1e-2", "%200.01"):
            assert await signed("POST", order, f"{head}&quantity={quantity}&price=30000") == (
                400, illegal("quantity")), quantity  # fmt: skip
        assert await signed("POST", order, f"{head}&quantity=0.010&price=3e4") == (400, illegal("price"))
        assert await signed("GET", order, f"symbol=BTCUSDT&orderId={'9' * 4301}") == (400, malformed("orderId"))
        assert await signed("GET", "/fapi/v1/allOrders", "symbol=BTCUSDT&startTime=9223372036854775808") == (
            400, malformed("startTime"))  # fmt: skip
        for read in ("/fapi/v1/allOrders", "/fapi/v1/userTrades", "/fapi/v1/income", "/fapi/v1/allAlgoOrders"):
            status, said = await signed("GET", read, "symbol=BTCUSDT&startTime=2&endTime=1")
            assert (status, said) == (400, {"code": -1023, "msg": "Start time is greater than end time."}), read
        assert await signed("POST", order, f"{head}&quantity=0.010&price=0") == (
            400, {"code": -4001, "msg": "Price less than 0."})  # PRICE_FILTER first (part 2 §8)
        assert await signed("POST", "/fapi/v1/positionMargin", "symbol=BTCUSDT&amount=1e500000&type=1") == (
            400, illegal("amount"))  # fmt: skip
        algo = "algoType=CONDITIONAL&symbol=BTCUSDT&side=BUY&type=STOP_MARKET&quantity=0.010"
        assert await signed("POST", "/fapi/v1/algoOrder", f"{algo}&triggerPrice=1e5000") == (
            400, illegal("triggerPrice"))  # fmt: skip
        assert await signed("POST", "/fapi/v1/algoOrder", f"{algo}&triggerPrice={'9' * 20}") == (
            400, {"code": -4007, "msg": "Stop price greater than max price."})  # fmt: skip

        countdown = "symbol=BTCUSDT&countdownTime="
        assert await signed("POST", "/fapi/v1/countdownCancelAll", f"{countdown}{'9' * 4000}") == (
            400, malformed("countdownTime"))  # fmt: skip
        assert (await signed("POST", "/fapi/v1/countdownCancelAll", f"{countdown}{2**63 - 1}"))[0] == 200
        assert (await signed("POST", "/fapi/v1/countdownCancelAll", f"{countdown}0"))[0] == 200
        # a modifyId past a LONG changes nothing, and says so
        status, placed = await signed("POST", order, f"{head}&quantity=0.010&price=30000.00")
        assert status == 200
        ref = f"symbol=BTCUSDT&orderId={placed['orderId']}"
        for modify_id in ("9" * 20, "%C2%B2"):
            change = f"{ref}&side=BUY&quantity=0.013&price=30000.00&modifyId={modify_id}"
            assert await signed("PUT", order, change) == (400, malformed("modifyId"))
        status, read = await signed("GET", order, ref)
        assert (status, read["origQty"], read["status"]) == (200, "0.010", "NEW")
        assert (await signed("GET", "/fapi/v1/orderAmendment", ref))[1] == []
        status, changed = await signed("PUT", order, f"{ref}&side=BUY&quantity=0.013&price=30000.00&modifyId=7")
        assert (status, changed["origQty"], changed["modifyId"]) == (200, "0.013", 7)
        # the same numbers on the WebSocket API, written as JSON numbers
        ws = await session.ws_connect(f"ws://127.0.0.1:{port}/ws-fapi/v1")
        api_key = json.dumps(venue.alice_hmac.api_key)
        digits = "1" * 5000  # a JSON number Python's int() would refuse to write back
        await ws.send_str(f'{{"id":"a","method":"account.status","params":{{"apiKey":{api_key},'
                          f'"timestamp":{digits},"signature":"00"}}}}')  # fmt: skip
        reply = await ws.receive_json()
        assert (reply["id"], reply["status"], reply["error"]) == ("a", 400, malformed("timestamp"))
        params = {"apiKey": venue.alice_hmac.api_key, "price": "30000", "quantity": "QTY", "side": "BUY",
                  "symbol": "BTCUSDT", "timeInForce": "GTC", "timestamp": SystemClock().now_ms(), "type": "LIMIT"}  # fmt: skip
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items())).replace("QTY", "1e999999")
        params["signature"] = hmac_hex(venue.alice_hmac.secret, payload.encode())
        await ws.send_str(json.dumps({"id": "b", "method": "order.place", "params": params}).replace(
            '"QTY"', "1e999999"))  # fmt: skip
        reply = await ws.receive_json()
        assert (reply["id"], reply["status"], reply["error"]) == ("b", 400, illegal("quantity"))
        await ws.close()


async def test_the_ids_the_venue_makes_go_on_after_a_restart(start_server: Any, venue: Venue) -> None:
    """An order sent without ``newClientOrderId`` gets one the venue makes, from a generator
    seeded by ``--seed`` (a session replays byte for byte); after a restart on the same journal
    the generator goes on from what the journal holds instead of making the last run's ids
    again (an account's two orders under one id: part 2 §3.3 lets only the caller reuse one;
    the venue's redraw avoided only its open orders' ids, and these expire at once)."""
    made: list[str] = []
    for _ in range(2):
        plant = await start_server(simulator={"actions_per_s": 1e-9, "seed": 7}, venue_db=str(venue.path))
        port = plant.listeners[Market.UM].port
        async with aiohttp.ClientSession() as session:
            for _ in range(2):
                query = (f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.002&price=30000"
                         f"&timestamp={SystemClock().now_ms()}")  # fmt: skip  (expires at once: no open order)
                query = f"{query}&signature={hmac_hex(venue.alice_hmac.secret, query.encode())}"
                url = f"http://127.0.0.1:{port}/fapi/v1/order?{query}"
                async with session.post(url, headers={"X-MBX-APIKEY": venue.alice_hmac.api_key}) as answer:
                    made.append((await answer.json())["clientOrderId"])
        await plant.close()
    assert len(set(made)) == 4, made
