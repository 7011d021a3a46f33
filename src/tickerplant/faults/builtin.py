"""The ready profiles, by the name ``--faults`` takes (docs/faults.md shows them whole)."""

from __future__ import annotations

__all__ = ["BUILTIN"]

# A bad day on Binance: a few percent of new orders meet each of the 503s, a -1007 whose
# order lands a second after the answer, slow acknowledgements; the user data stream late
# and lossy now and then; a throttling storm ten minutes in, reduce-only orders spared.
BAD_DAY = """\
name = "binance-bad-day"

[[fault]]
kind = "unknown-error"      # 503 -1000: placed or not, half and half
rate = 0.02
placed = 0.5

[[fault]]
kind = "timeout"            # -1007: the order is placed one second after the answer
rate = 0.01
delay_ms = 1000

[[fault]]
kind = "internal-error"     # 503 -1001: nothing done
rate = 0.02

[[fault]]
kind = "service-unavailable"
rate = 0.01

[[fault]]
kind = "request-timeout"    # 408, nothing placed
rate = 0.005

[[fault]]
kind = "slow-ack"           # the answer 3 s late, the user data event on time
rate = 0.02
delay_ms = 3000

[[fault]]
kind = "throttled"          # -1008 for two minutes, ten minutes in
at = "+10m"
for_s = 120

[[fault]]
kind = "event-delay"        # user data events 20 s late
rate = 0.01
delay_ms = 20000

[[fault]]
kind = "event-drop"         # an event lost (REST still has it)
rate = 0.005

[[fault]]
kind = "stream-drop"        # a user data connection cut without a close frame
rate = 0.002

[[fault]]
kind = "session-drop"       # a WebSocket API session cut on a request
rate = 0.002

[[fault]]
kind = "reply-delay"        # a WebSocket API reply past the clients' timeouts
rate = 0.002
delay_ms = 20000
"""

# A maintenance window five minutes in, for ten minutes: every private endpoint answers
# 503 "Service Unavailable.", market data goes on.
MAINTENANCE = """\
name = "maintenance"

[[fault]]
kind = "maintenance"
at = "+5m"
for_s = 600
"""

BUILTIN = {"binance-bad-day": BAD_DAY, "maintenance": MAINTENANCE}
