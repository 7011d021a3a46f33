"""The WebSocket API benchmark's floor: a bare ``picows.ws_create_server`` on uvloop, the
WebSocket library the server uses, that decodes each request into a small msgspec Struct (to
echo its id) and answers with reply bytes built at start-up for each symbol (the same fields
and size as the server's reply), sent with ``transport.send``."""

from __future__ import annotations

from multiprocessing.connection import Connection

import msgspec
import picows
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest

from ..harness.commands import serve
from ..harness.processes import HOST

REQUEST_WEIGHT = 1_000_000_000  # per IP per minute: never the limit here (the server's too)

# Pre-built reply bodies for the floor: what tickerplant answers, field for field.
BOOKS = {
    "BTCUSDT": (1211381949570, "90001.10", "0.052", "90002.60", "0.020"),
    "ETHUSDT": (8408397299991, "3100.19", "0.347", "3100.21", "0.111"),
    "SOLUSDT": (6958357388250, "134.9700", "8.33", "134.9900", "2.26"),
    "BNBUSDT": (3792764448300, "879.820", "5.98", "879.900", "0.39"),
}


class FloorRequest(msgspec.Struct):
    """Just what the floor needs of a request: the id to echo, the method and the symbol."""

    id: int | str | None = None
    method: str = ""
    params: FloorParams | None = None


class FloorParams(msgspec.Struct):
    symbol: str = ""


def floor_replies() -> dict[str, bytes]:
    """symbol -> the reply after its id: `,"status":200,"result":{...},"rateLimits":[...]}`."""
    out = {}
    for symbol, (u, bid, bid_qty, ask, ask_qty) in BOOKS.items():
        body = msgspec.json.encode(
            {
                "id": 0,
                "status": 200,
                "result": {
                    "lastUpdateId": u, "symbol": symbol, "bidPrice": bid, "bidQty": bid_qty,
                    "askPrice": ask, "askQty": ask_qty, "time": 1_795_242_427_602,
                },
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                     "limit": REQUEST_WEIGHT, "count": 12_345}
                ],
            }
        )  # fmt: skip
        out[symbol] = body[len(b'{"id":0') :]
    return out


FLOOR_ERROR = b',"status":400,"error":{"code":-1121,"msg":"Invalid symbol."}}'
FLOOR_MALFORMED = b'{"id":null,"status":400,"error":{"code":-1000,"msg":"Malformed request."}}'


class FloorListener(WSListener):
    """The floor's connection: decode the request, splice its id into pre-built bytes, send."""

    def __init__(self, replies: dict[str, bytes]) -> None:
        self.replies = replies

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT:
            try:
                request = _floor_decode(frame.get_payload_as_memoryview())
            except msgspec.DecodeError:  # ValidationError is a DecodeError
                transport.send(WSMsgType.TEXT, FLOOR_MALFORMED)
                return
            params = request.params
            tail = None
            if request.method == "ticker.book" and params is not None:
                tail = self.replies.get(params.symbol)
            transport.send(WSMsgType.TEXT, b'{"id":' + _floor_encode(request.id) + (tail or FLOOR_ERROR))
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


_floor_decode = msgspec.json.Decoder(FloorRequest).decode
_floor_encode = msgspec.json.encode


async def floor_async(conn: Connection, life_s: float) -> None:
    replies = floor_replies()

    def route(request: WSUpgradeRequest) -> WSListener:
        return FloorListener(replies)

    server = await picows.ws_create_server(route, HOST, 0)
    conn.send(("port", server.sockets[0].getsockname()[1]))
    try:
        await serve(conn, {}, life_s)
    finally:
        server.close()
