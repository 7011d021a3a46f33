"""Configuration: frozen dataclasses with units in the field names.

Only ``cli.py`` reads argv, environment and files; everything else receives these objects.
Defaults are Binance's documented values (spec §2.4, §2.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["FaultsConfig", "LimitsConfig", "RelayConfig", "ReplayConfig", "ServerConfig", "SimulatorConfig"]

SECONDS = 1.0
MINUTES = 60 * SECONDS
HOURS = 60 * MINUTES


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """Per-connection limits of a market-stream connection (spec §2.4, §2.5)."""

    ping_interval_s: float = 3 * MINUTES  # the server pings every 3 minutes [S3]
    pong_timeout_s: float = 10 * MINUTES  # no pong for 10 minutes closes [S3]
    max_connection_age_s: float = 24 * HOURS  # a connection lives at most 24 h [S3]
    max_streams: int = 1024  # streams per connection [S3]
    max_incoming_rate: int = 10  # incoming messages (text, ping, pong) per second [S3]
    send_buffer_bytes: int = 8 * 1024 * 1024  # unsent bytes before a slow client is cut off
    slow_close_grace_s: float = 1.0  # how long a cut-off client gets to take the close frame


@dataclass(frozen=True, slots=True)
class FaultsConfig:
    """Faults the server injects into its own WebSocket connections, so that clients'
    recovery can be tested against the real thing. Off by default."""

    drop_after_s: float | None = None  # abort each connection's TCP stream, no close frame
    stall_after_s: float | None = None  # go silent: no data, no pongs, input ignored


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    seed: int = 1
    actions_per_s: float | None = 400.0  # None: as fast as the process can produce
    batch_actions: int = 512  # actions per loop iteration when producing as fast as it can
    tick_interval_s: float = 0.001  # pump cadence; a busy loop stretches it, batching more per tick


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """Replay of files instead of the simulator: Binance public files and recordings."""

    paths: tuple[str, ...] = ()  # files or folders; empty: no replay
    speed: float | None = 1.0  # replay seconds per wall second; None: as fast as possible
    start_ms: int | None = None  # skip events before this time
    end_ms: int | None = None  # stop after this time
    paused: bool = False  # wait for POST /tickerplant/v1/replay/resume before playing
    progress: bool | None = None  # progress bar on stderr; None: when stderr is a terminal
    exit_at_end: bool = False  # stop serving when the replay has ended
    batch_events: int = 4096  # events per loop iteration at most

    def __post_init__(self) -> None:
        if self.speed is not None and not (math.isfinite(self.speed) and self.speed > 0):
            raise ValueError(f"replay speed must be a positive number or max, not {self.speed!r}")
        if self.batch_events < 1:
            raise ValueError("batch_events must be at least 1")
        if self.start_ms is not None and self.end_ms is not None and self.end_ms < self.start_ms:
            raise ValueError("the replay's end is before its start")


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """Relay of an upstream feed (Binance, or another tickerplant) instead of the simulator."""

    urls: tuple[str, ...] = ()  # upstream stream hosts; empty with enabled: Binance's
    enabled: bool = False
    symbols: tuple[str, ...] = ()  # empty: every symbol the upstream lists
    kinds: tuple[str, ...] = ()  # stream kinds ("bookTicker", "!miniTicker@arr", …); empty: the default set


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    um_port: int = 8765
    cm_port: int = 8766
    strict_routing: bool = False  # unrouted USDⓈ-M paths serve only /public streams (spec §2.2)
    lenient_case: bool = False  # uppercase symbols in stream names deliver (spec §3.4)
    request_weight_per_min: int = 2400  # REQUEST_WEIGHT per IP, REST and WebSocket API (§5.5, §7.1)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    faults: FaultsConfig = field(default_factory=FaultsConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
