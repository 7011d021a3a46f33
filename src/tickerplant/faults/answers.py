"""What Binance answers each order-entry fault with: the HTTP status and the exact body
(trading part 1 §6.2's 503 row and §6.3's 10xx table).

Where the reference gives no code (§6.2: "codes for (1)–(3) are not documented") the
choices are its recommendation (§12, item 8): ``-1000`` for the unknown outcome, ``-1001``
for "Internal error…", and "Service Unavailable." as a bare text, not a JSON error. 408's
body is unknown (§6.2); it is answered as the same bare text as 503's, so each client
falls back to the status (ccxt's ``httpExceptions``), as it would on a body it cannot read.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "INTERNAL_ERROR", "MAINTENANCE", "REQUEST_TIMEOUT", "SERVICE_UNAVAILABLE", "THROTTLED", "TIMEOUT",
    "UNKNOWN_ERROR", "WireError",
]  # fmt: skip


class WireError(NamedTuple):
    status: int  # the HTTP status (a WebSocket API error reply's ``status`` too, §8.4)
    code: int | None  # Binance's code; None: a bare text, no JSON error
    msg: str  # the exact text

    @property
    def body(self) -> bytes:
        """The REST body: ``{"code":…,"msg":"…"}``, or the bare text."""
        if self.code is None:
            return self.msg.encode()
        return b'{"code":%d,"msg":"%b"}' % (self.code, self.msg.encode())


# §6.2 503 (3) / §6.3 -1001: failed, nothing done, may be retried at once
INTERNAL_ERROR = WireError(503, -1001, "Internal error; unable to process your request. Please try again.")
# §6.2 503 (1): sent to the engine, outcome unknown; do not retry blindly
UNKNOWN_ERROR = WireError(503, -1000, "Unknown error, please check your request or try again later.")
# §6.3 -1007: "Send status unknown; execution status unknown"; 503 as §8.4's inference has it
TIMEOUT = WireError(
    503,
    -1007,
    "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
)
# §6.2 503 (4) / §6.3 -1008: failed; reduce-only and close-position orders are exempt
THROTTLED = WireError(
    503, -1008, "Request throttled by system-level protection. Reduce-only/close-position orders are exempt. "
    "Please try again.",
)  # fmt: skip
# §6.2 503 (2): failed, not counted, retry with backoff
SERVICE_UNAVAILABLE = WireError(503, None, "Service Unavailable.")
# §6.2 408: a timeout waiting for the backend; the body is not documented
REQUEST_TIMEOUT = WireError(408, None, "Request Timeout.")
# a maintenance window: every private endpoint, as 503 (2)
MAINTENANCE = SERVICE_UNAVAILABLE
