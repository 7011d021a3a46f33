"""Configuration: frozen dataclasses with units in the field names, and everything a user
is told about each field.

Each field carries a ``Setting`` (its help with unit, its ``tickerplant serve`` flag, how a
flag's text becomes its value): the one place that knowledge lives. The command line's
options and help (``cli.py``), the reading of a TOML file and the TOML reference
(``settings.py``) are generated from it. A TOML file names fields as they are
here: top-level fields at the top, the others in a table named for their section
(``[limits]``, ``[simulator]``, ``[faults]``, ``[replay]``, ``[relay]``).

Only ``cli.py`` reads argv, environment and files; everything else receives these objects.
Defaults are Binance's documented values (spec §2.4, §2.5).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tickerplant.clock import check_speed
from tickerplant.config_values import (
    latency_spec,
    markets,
    names,
    payload_format,
    positive_or_max,
    queue_model_name,
    time_ms,
    time_or_listing,
)
from tickerplant.market.messages import PARTIAL_DEPTH_LEVELS
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.protocol.limits import MAX_STREAMS_PER_CONNECTION, ConnectionRules
from tickerplant.protocol.request_weight import REQUEST_WEIGHT_PER_MINUTE

__all__ = [
    "MOST_ACTIONS_PER_S", "MOST_WORKERS", "FaultsConfig", "LimitsConfig", "RelayConfig", "ReplayConfig",
    "ServerConfig", "Setting", "SimulatorConfig",
]

_T = TypeVar("_T")
_BINANCE = ConnectionRules()  # Binance's documented connection rules: the limits' defaults
# A simulated book shallower than the largest partial depth (@depth20, spec §4.8) could not
# fill it (the simulator's own bound, feeds/book_shape.MIN_LEVELS).
_MIN_BOOK_LEVELS = PARTIAL_DEPTH_LEVELS[-1]
# Past these a number is a mistake: a rate no machine simulates (the warm start draws a day of
# it: minutes at 10⁷, a float's overflow at 10³⁰⁰; 'max' is as fast as the process can), and
# gateway processes that would hold a port each by the ten thousand.
MOST_ACTIONS_PER_S = 100_000.0
MOST_WORKERS = 256


# -- what a field is to a user -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting:
    """A field's user-facing side."""

    help: str  # what it is, with its unit
    flag: str | None = None  # its `tickerplant serve` flag; None: set in TOML only
    metavar: str | None = None
    parse: Callable[[Any], Any] | None = None  # a flag's text, or a TOML string or date, to the value
    nargs: str | None = None  # a flag taking several values ("+", "*")
    default_text: str | None = None  # the default as told, when its repr would not say it well


def setting(default: _T, help: str, **user: Any) -> _T:
    """A field with a default and its ``Setting``."""
    return field(default=default, metadata={"setting": Setting(help, **user)})


def section(title: str) -> dict[str, str]:
    """The metadata of a field holding a section of settings: its title in the help."""
    return {"section": title}


# -- the settings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """Per-connection limits of a market-stream connection (spec §2.4, §2.5)."""

    ping_interval_s: float = setting(
        _BINANCE.ping_interval_ms / 1000, "seconds between the server's pings (§2.4)",
        flag="--ping-interval", metavar="S",
    )
    pong_timeout_s: float = setting(
        _BINANCE.pong_timeout_ms / 1000, "seconds without a pong before the server closes (§2.4)",
        flag="--pong-timeout", metavar="S",
    )  # fmt: skip
    max_connection_age_s: float = setting(
        _BINANCE.max_age_ms / 1000, "seconds a connection lives at most (§2.4)",
        flag="--max-connection-age", metavar="S",
    )
    max_streams: int = setting(
        MAX_STREAMS_PER_CONNECTION, "streams per connection (§2.5)", flag="--max-streams", metavar="N"
    )
    max_incoming_rate: int = setting(
        _BINANCE.max_incoming_rate, "incoming messages (text, ping, pong) per second (§2.5)",
        flag="--max-incoming-rate", metavar="N",
    )
    send_buffer_bytes: int = setting(
        8 * 1024 * 1024, "unsent bytes before a slow client is closed",
        flag="--send-buffer", metavar="BYTES", default_text="8 MiB",
    )  # fmt: skip
    send_buffer_total_bytes: int = setting(
        0, "unsent bytes of every connection of a process together; past it the connections "
        "holding the most are aborted (0: a quarter of the machine's memory, at most 2 GiB)",
        flag="--send-buffer-total", metavar="BYTES", default_text="0",
    )  # fmt: skip
    subscription_bytes_total: int = setting(
        0, "bytes the stream names every connection of a process holds may take together, each "
        "name counted with what keeping it costs; past it a SUBSCRIBE is answered as stream 1025 is "
        "(0: an eighth of the machine's memory, at most 1 GiB)",
        flag="--subscription-bytes-total", metavar="BYTES", default_text="0",
    )  # fmt: skip
    close_timeout_s: float = setting(
        5.0, "seconds a closing connection may go without taking any of what is queued for it "
        "(the last data, then the close frame) before the server aborts it",
        flag="--close-timeout", metavar="S",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class FaultsConfig:
    """Faults the server injects into its own WebSocket connections, so that clients'
    recovery can be tested against the real thing. Off by default."""

    drop_after_s: float | None = setting(
        None, "testing aid: abort every WebSocket connection S seconds after it opens (no close frame)",
        flag="--fault-drop-after", metavar="S", default_text="off",
    )  # fmt: skip
    stall_after_s: float | None = setting(
        None, "testing aid: every WebSocket connection goes silent (no data, no pongs) "
        "S seconds after it opens",
        flag="--fault-stall-after", metavar="S", default_text="off",
    )  # fmt: skip
    profile: str = setting(
        "", "a fault profile: a built-in one (binance-bad-day, maintenance) or a TOML file of "
        "Binance's failures, seeded by --seed (docs/faults.md)",
        flag="--faults", metavar="NAME|FILE", default_text="none",
    )  # fmt: skip
    profile_text: str = setting(
        "", "a fault profile written here, as TOML text (a multi-line string), instead of --faults; "
        "--faults FILE is read into it", default_text="none",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    seed: int = setting(1, "simulator seed: the same seed, the same order flow", flag="--seed", metavar="N")
    actions_per_s: float | None = setting(
        400.0, "simulated order-flow actions per second across all symbols, or 'max' (as fast as it can): "
        "the week's mean, each hour as busy as the simulated past's (docs/simulator.md)",
        flag="--sim-rate", metavar="ACTIONS_PER_S|max", parse=positive_or_max,
    )  # fmt: skip
    steady_rate: bool = setting(False, "--sim-rate every hour, not the past's daily and weekly cycle",
                                flag="--steady-rate")  # fmt: skip
    batch_actions: int = setting(512, "actions per loop iteration at 'max'")
    history_start_ms: int | None = setting(
        None, "where the simulated past that REST answers begins: 'listing' (each symbol's "
        "onboardDate) or a date/time (the later of it and the listing); the past is the same "
        "whenever the server starts",
        flag="--history-start", metavar="DATE|listing", parse=time_or_listing, default_text="listing",
    )  # fmt: skip
    history_s: float = setting(
        86_400.0, "seconds of the past the plant is warmed with at start (the 24 h statistics "
        "and open candles; at most a day): less starts a server faster, the past answered is the same"
    )  # fmt: skip
    tick_interval_s: float = setting(
        0.001, "seconds between simulator steps; a busy loop stretches it, batching more per step"
    )
    step_slice_ms: float = setting(
        0.5, "milliseconds a step's parts (its actions, the second's sample, each family of pushes) "
        "run back to back on the wall clock before the event loop turns (0: a turn a part)"
    )  # fmt: skip
    book_levels: int = setting(
        1000, f"price levels each side of every simulated book holds at least (from "
        f"{_MIN_BOOK_LEVELS}): 1000 fills a limit=1000 depth answer; fewer start the server "
        "faster and make depth snapshots smaller",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.actions_per_s is not None and self.actions_per_s > MOST_ACTIONS_PER_S:
            raise ValueError(
                f"--sim-rate is at most {MOST_ACTIONS_PER_S:,.0f} actions a second ('max': as fast as the "
                f"process can), not {self.actions_per_s:g}"
            )  # fmt: skip
        if not (math.isfinite(self.history_s) and self.history_s >= 0):
            raise ValueError(f"history_s must be a number of seconds, not {self.history_s!r}")
        if type(self.book_levels) is not int or self.book_levels < _MIN_BOOK_LEVELS:
            levels, least = self.book_levels, _MIN_BOOK_LEVELS
            raise ValueError(f"book_levels must be a whole number of levels from {least}, not {levels!r}")


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """Replay of files instead of the simulator: Binance public files and recordings."""

    paths: tuple[str, ...] = setting(
        (), "Binance public files (bookTicker, aggTrades, trades, klines, markPriceKlines, "
        "indexPriceKlines, premiumIndexKlines, fundingRate; .csv or .zip) and tickerplant "
        "recordings, or folders of them, merged by time",
        flag="--replay", metavar="PATH", nargs="+", default_text="none: the simulator",
    )  # fmt: skip
    speed: float | None = setting(
        1.0, "replay seconds per second, or 'max' (as fast as it can)",
        flag="--speed", metavar="N|max", parse=positive_or_max,
    )  # fmt: skip
    start_ms: int | None = setting(
        None, "skip events before this time (ISO date/time, UTC unless it says, or Unix ms)",
        flag="--start", metavar="TIME", parse=time_ms, default_text="the first event",
    )  # fmt: skip
    end_ms: int | None = setting(
        None, "stop after this time (ISO date/time or Unix ms)",
        flag="--end", metavar="TIME", parse=time_ms, default_text="the last event",
    )  # fmt: skip
    paused: bool = setting(
        False, "wait for POST /api/replay/resume on the admin listener before playing", flag="--paused"
    )
    progress: bool | None = setting(
        None, "progress bar on stderr", flag="--progress", default_text="when stderr is a terminal"
    )
    exit_at_end: bool = setting(False, "stop serving once the replay has ended", flag="--exit-at-end")
    batch_events: int = setting(4096, "events per loop iteration at most")

    def __post_init__(self) -> None:
        if self.speed is not None:
            check_speed(self.speed)
        if self.batch_events < 1:
            raise ValueError("batch_events must be at least 1")
        if self.start_ms is not None and self.end_ms is not None and self.end_ms < self.start_ms:
            raise ValueError("the replay's end is before its start")


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """Relay of an upstream feed (Binance, or another tickerplant) instead of the simulator."""

    urls: tuple[str, ...] = setting(
        (), "upstream stream hosts to relay (none given: Binance's fstream and dstream), "
        "e.g. another tickerplant: --relay ws://host:8765 ws://host:8766",
        flag="--relay", metavar="URL", nargs="*",
    )  # fmt: skip
    enabled: bool = setting(False, "relay instead of simulating; giving urls (even none) sets it")
    symbols: tuple[str, ...] = setting(
        (), "symbols to relay", flag="--relay-symbols", metavar="S1,S2", parse=names,
        default_text="every symbol the upstream lists",
    )  # fmt: skip
    kinds: tuple[str, ...] = setting(
        (), "stream kinds to relay, e.g. bookTicker,aggTrade,!miniTicker@arr",
        flag="--relay-streams", metavar="KIND,…", parse=names, default_text="every kind tickerplant serves",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = setting("127.0.0.1", "address to listen on", flag="--host")
    um_port: int = setting(8765, "USDⓈ-M listener port", flag="--um-port", metavar="P")
    cm_port: int = setting(8766, "COIN-M listener port", flag="--cm-port", metavar="P")
    strict_routing: bool = setting(
        False, "unrouted USDⓈ-M paths serve only /public streams, as Binance does now (§2.2)",
        flag="--strict-routing",
    )  # fmt: skip
    legacy_fill_fields: bool = setting(
        False, "order placement, modify and cancel answers carry avgPrice and cumQuote (COIN-M "
        "cumBase), as Binance's did before 2026-06-30 (decision 1)", flag="--legacy-fill-fields",
    )  # fmt: skip
    legacy_conditional_orders: tuple[str, ...] = setting(
        (), "these markets (um, cm) take the five conditional order types on /v1/order as Binance did "
        "before 2025-12-09 (COIN-M: before its cutover), one order from placement to fill; else -4120 "
        "(decision 1)", flag="--legacy-conditional-orders", metavar="um,cm", parse=markets,
        default_text="none",
    )  # fmt: skip
    lenient_case: bool = setting(
        False, "uppercase symbols in stream names deliver (Binance: silent, §3.4)", flag="--lenient-case"
    )
    payload_format: PayloadFormat = setting(  # noqa: RUF009 (an enum: immutable)
        PayloadFormat.CLASSIC, "payloads as Binance's documentation shows them (classic), or as "
        "Binance writes them since its 2026 merge of the markets (2026: st last, and ps on USDⓈ-M "
        "too; §4.13); both listeners serve the format",
        flag="--payload-format", metavar="classic|2026", parse=payload_format,
    )  # fmt: skip
    tls_cert: str = setting(
        "", "PEM certificate chain: the market listeners speak TLS (https://, wss://) on their ports; "
        "tickerplant tls init DIR makes one", flag="--tls-cert", metavar="FILE", default_text="none",
    )  # fmt: skip
    tls_key: str = setting(
        "", "PEM private key of --tls-cert", flag="--tls-key", metavar="FILE", default_text="none"
    )
    admin_host: str = setting(
        "127.0.0.1", "address of the admin listener (dashboard, /metrics, /api/status): keep it private",
        flag="--admin-host", metavar="H",
    )  # fmt: skip
    admin_port: int = setting(
        8767, "admin listener port; 0 turns the admin listener off", flag="--admin-port", metavar="P"
    )
    admin_token: str = setting(
        "", "token every admin request must carry (Authorization: Bearer …); required when "
        "admin_host is not loopback. In the TOML file only, or admin_token_file",
    )  # fmt: skip
    admin_token_file: str = setting(
        "", "file whose first line is admin_token (or the environment's TICKERPLANT_ADMIN_TOKEN; "
        "never a flag, which any local user can read)",
        flag="--admin-token-file", metavar="FILE", default_text="none",
    )  # fmt: skip
    request_weight_per_min: int = setting(
        REQUEST_WEIGHT_PER_MINUTE, "REQUEST_WEIGHT per IP per minute, REST and WebSocket API (§5.5, §7.1)",
        flag="--request-weight", metavar="N",
    )  # fmt: skip
    rest_turn_ms: float = setting(
        2.0, "milliseconds of an event-loop turn REST answers may take; more waits for the next "
        "turn, so streams are pushed between them (0: one answer a turn)",
        flag="--rest-turn", metavar="MS",
    )  # fmt: skip
    queue_model: str = setting(
        "risk-averse", "how a resting venue order moves up its level's queue on a replay or relay, whose "
        "book cannot react: risk-averse (a cancel never comes from in front of it), or one of "
        "hftbacktest's probability models (log-prob, log-prob2, power-prob-1 … -3, power-prob2-2/-3, "
        "power-prob3-2/-3: a decrease split between in front and behind), as the depth changes; a "
        "replay of public files has no depth changes, so there the models all agree; docs/venue.md",
        flag="--queue-model", metavar="NAME", parse=queue_model_name,
    )  # fmt: skip
    latency: str = setting(
        "none", "order latency (the server's time; under run the market's), each signed request's entry "
        "and its answer's response: none, constant:ENTRY[,RESPONSE], lognormal:MEDIAN,SIGMA[,MAX] (seeded "
        "by --seed) or file:PATH (CSV time_ms,entry_ms,response_ms, interpolated), ms; docs/venue.md",
        flag="--latency", metavar="MODEL", parse=latency_spec,
    )  # fmt: skip
    clock_offset_ms: int = setting(
        0, "testing aid: milliseconds the server's clock runs ahead of the system's (negative: "
        "behind); the simulated market starts at that time and everything the server stamps, "
        "checks and tells (serverTime, recvWindow, funding times) runs on it",
        flag="--clock-offset", metavar="MS",
    )  # fmt: skip
    limits: LimitsConfig = field(
        default_factory=LimitsConfig, metadata=section("connection limits (spec §2.4, §2.5)")
    )
    simulator: SimulatorConfig = field(
        default_factory=SimulatorConfig, metadata=section("the simulated market (the default source)")
    )
    faults: FaultsConfig = field(
        default_factory=FaultsConfig, metadata=section("faults (testing aids, off by default)")
    )
    replay: ReplayConfig = field(
        default_factory=ReplayConfig, metadata=section("replay (instead of the simulator)")
    )
    relay: RelayConfig = field(
        default_factory=RelayConfig, metadata=section("relay (instead of the simulator)")
    )
    venue_db: str = setting(
        "tickerplant.db", "the venue's SQLite database: the accounts, balances and API keys (made by "
        "tickerplant accounts create, mode 0600), which the server reads, and the journal of its "
        "orders, fills and positions, which one server at a time writes; relative to the working "
        "directory", flag="--venue-db", metavar="FILE",
    )  # fmt: skip
    workers: int = setting(
        1, "gateway processes sharing the listener ports, fed by one plant process over NATS "
        "(docs/operations.md, Scale-out); 1: one process, no NATS", flag="--workers", metavar="N",
    )  # fmt: skip
    restart_delay_s: float = setting(
        1.0, "seconds serve --workers N waits before it starts a child that exited again, doubled "
        "for each exit in a row, up to 30 (docs/operations.md, Scale-out)",
    )  # fmt: skip
    nats_url: str = setting(
        "", "NATS server of plant and gateway (default nats://127.0.0.1:4222), and of serve "
        "--workers N instead of its own", flag="--nats", metavar="URL", default_text="none",
    )  # fmt: skip
    nats_token_file: str = setting(
        "", "file whose first line is the NATS server's authorization token (or the environment's "
        "TICKERPLANT_NATS_TOKEN; never a flag, which any local user can read)",
        flag="--nats-token-file", metavar="FILE", default_text="none",
    )  # fmt: skip
    nats_creds: str = setting(
        "", "NATS credentials file (a user JWT and its nkey seed) to connect with",
        flag="--nats-creds", metavar="FILE", default_text="none",
    )  # fmt: skip
    nats_tls_ca: str = setting(
        "", "PEM CA bundle the NATS server's certificate is checked against: TLS to NATS "
        "(a tls:// URL speaks TLS with the system's CAs)",
        flag="--nats-tls-ca", metavar="FILE", default_text="none",
    )  # fmt: skip
    nats_tls_cert: str = setting(
        "", "PEM client certificate for a NATS server that checks its clients",
        flag="--nats-tls-cert", metavar="FILE", default_text="none",
    )  # fmt: skip
    nats_tls_key: str = setting(
        "", "PEM private key of --nats-tls-cert", flag="--nats-tls-key", metavar="FILE", default_text="none"
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "queue_model", queue_model_name(self.queue_model))  # a TOML file's, checked
        object.__setattr__(self, "latency", latency_spec(self.latency))
        if type(self.payload_format) is not PayloadFormat:  # a TOML number, or a string
            object.__setattr__(self, "payload_format", payload_format(self.payload_format))
        if self.replay.paths and self.relay.enabled:
            raise ValueError("replay or relay, not both")
        if self.um_port and self.um_port == self.cm_port:
            raise ValueError(f"um_port and cm_port are both {self.um_port}: each market listens on its own")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("TLS takes both a certificate (--tls-cert) and its key (--tls-key)")
        if bool(self.nats_tls_cert) != bool(self.nats_tls_key):
            raise ValueError("a NATS client certificate takes its key: --nats-tls-cert and --nats-tls-key")
        if type(self.workers) is not int or not 1 <= self.workers <= MOST_WORKERS:
            raise ValueError(f"workers must be a whole number from 1 to {MOST_WORKERS}, not {self.workers!r}")
        if not self.restart_delay_s > 0:  # NaN too
            raise ValueError(f"restart_delay_s must be above 0 seconds, not {self.restart_delay_s!r}")

