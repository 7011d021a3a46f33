"""The command line: the only place that reads argv, environment and files."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import sys
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import uvloop

from tickerplant import __version__, logs
from tickerplant.config import ServerConfig
from tickerplant.market.instruments import Market
from tickerplant.protocol.endpoints import BINANCE_STREAMS
from tickerplant.settings import SettingField, default_text, load, section_titles, settings

__all__ = ["build_config", "main"]

DEFAULT_NATS = "nats://127.0.0.1:4222"  # NATS's own default


def _flag_type(parse: Callable[[Any], Any]) -> Callable[[str], Any]:
    """``parse`` for argparse: its ValueError is the flag's error message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def _help(item: SettingField, split: bool = False) -> str:
    told = "0 (off)" if split and item.path in _SPLIT_DEFAULTS else default_text(item)
    return f"{item.setting.help} ({f'default {told}; ' if told else ''}TOML {item.toml_key})"


def _add_settings(
    serve: argparse.ArgumentParser,
    wanted: Callable[[SettingField], bool] = lambda item: True,
    split: bool = False,
) -> None:
    """A flag for every setting that has one (of those ``wanted``), from config.py's field
    knowledge."""
    groups: dict[str | None, Any] = {None: serve}
    for name, title in section_titles().items():
        groups[name] = serve.add_argument_group(title)
    toml_only: list[str] = []
    for item in settings():
        if not wanted(item):
            continue
        setting = item.setting
        if setting.flag is None:
            told = default_text(item)
            toml_only.append(f"{item.toml_key}: {setting.help}" + (f" (default {told})" if told else ""))
            continue
        options: dict[str, Any] = {"dest": item.path, "default": argparse.SUPPRESS}
        options["help"] = _help(item, split)
        if item.type is bool:
            options.update(action="store_const", const=True)
        elif not item.takes_value:  # on, off, or left to the default
            options.update(action=argparse.BooleanOptionalAction)
        else:
            if setting.metavar is not None:
                options["metavar"] = setting.metavar
            if setting.nargs is not None:
                options["nargs"] = setting.nargs
            elif setting.parse is not None:
                options["type"] = _flag_type(setting.parse)
            else:
                options["type"] = _value_type(item)
        groups[item.section].add_argument(setting.flag, **options)
    serve.epilog = "Settings in the --config TOML file only:\n" + "\n".join(f"  {line}" for line in toml_only)


def _value_type(item: SettingField) -> Callable[[str], Any]:
    """How argparse reads a plain number or string setting."""
    for kind in (int, float, str):
        if item.type is kind or item.type == (kind | None):
            return kind
    raise TypeError(f"{item.path}: no flag parser for {item.type}")


_LOG_FORMAT_HELP = "text lines (default) or JSON lines with timestamp, level, logger, message and fields"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tickerplant",
        description="Binance USDⓈ-M and COIN-M futures market data, byte for byte.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the market-data protocols (simulated market)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--config", type=Path, help="TOML file; flags given here override it")
    _add_log_options(serve, "INFO")
    _add_settings(serve)
    _add_scaleout_commands(commands)

    binance_um = BINANCE_STREAMS[Market.UM]
    watch = commands.add_parser("watch", help="show live streams in the terminal")
    watch.add_argument("streams", nargs="+", metavar="STREAM", help="btcusdt@bookTicker ethusdt@miniTicker …")
    watch.add_argument(
        "--url", default=binance_um,
        help="stream host (default Binance USDⓈ-M; tickerplant: ws://127.0.0.1:8765)",
    )  # fmt: skip
    watch.add_argument("--json", action="store_true", help="print line-delimited JSON instead of a table")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N messages")
    watch.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    _add_log_options(watch, "WARNING")

    book = commands.add_parser("book", help="keep a local order book and show it as a live ladder")
    book.add_argument("symbol", metavar="SYMBOL", help="BTCUSDT, BTCUSD_PERP …")
    book.add_argument(
        "--url", default=binance_um,
        help="stream host (default Binance USDⓈ-M; tickerplant: ws://127.0.0.1:8765)",
    )  # fmt: skip
    book.add_argument("--market", choices=("um", "cm"), help="default: asked of the URL")
    book.add_argument("--depth", type=int, default=10, metavar="N", help="levels a side shown (default 10)")
    book.add_argument("--json", action="store_true", help="print line-delimited JSON instead of a ladder")
    book.add_argument("--count", type=int, metavar="N", help="stop after N updates (a resync counts)")
    book.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    _add_log_options(book, "WARNING")

    record = commands.add_parser("record", help="record raw stream messages to compressed, rotated files")
    record.add_argument("streams", nargs="+", metavar="STREAM", help="btcusdt@bookTicker !miniTicker@arr …")
    record.add_argument(
        "--url", default=binance_um,
        help="stream host (default Binance USDⓈ-M; tickerplant: ws://127.0.0.1:8765)",
    )  # fmt: skip
    record.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the recording")
    record.add_argument("--market", choices=("um", "cm"), help="default: asked of the URL")
    record.add_argument(
        "--rotate-mb", type=float, default=256.0, metavar="MB", help="uncompressed size (default 256)"
    )
    record.add_argument("--rotate-s", type=float, default=3600.0, metavar="S", help="default 3600")
    record.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    _add_log_options(record, "INFO")
    return parser


# What each scale-out process is configured by (docs/operations.md, Scale-out): the plant by its
# source's settings and the payload format it encodes in; a gateway by its listeners'.
_PLANT_SETTINGS = {"payload_format", "nats_url", "admin_host", "admin_port"}
_PLANT_SECTIONS = {"simulator", "replay", "relay"}
_GATEWAY_SECTIONS = {None, "limits", "faults"}
_NOT_GATEWAY = {"workers", "payload_format"}  # a gateway serves the plant's format (bus/listing.py)
# A split process' admin listener is off unless asked for: several on one host would meet on
# one default port, and serve --workers gives its children private ports itself.
_SPLIT_DEFAULTS = {"admin_port": 0}


def _add_log_options(command: argparse.ArgumentParser, level: str) -> None:
    command.add_argument("--log-level", default=level, help=f"default {level}")
    command.add_argument("--log-format", choices=logs.FORMATS, default="text", help=_LOG_FORMAT_HELP)


def _add_scaleout_commands(commands: Any) -> None:
    for name, wanted, about in (
        ("plant", lambda item: item.section in _PLANT_SECTIONS or item.name in _PLANT_SETTINGS,
         "run the source and the plants, publishing to gateways over NATS"),
        ("gateway", lambda item: item.section in _GATEWAY_SECTIONS and item.name not in _NOT_GATEWAY,
         "serve the protocols from a plant's data over NATS"),
    ):  # fmt: skip
        command = commands.add_parser(name, help=about, formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_argument("--config", type=Path, help="TOML file; flags given here override it")
        _add_log_options(command, "INFO")
        _add_settings(command, wanted, split=True)
        # serve --workers N hands its children the whole configuration as JSON on stdin,
        # and shares ports with them: the gateways' listener ports, each one's admin port
        command.add_argument("--config-stdin", action="store_true", help=argparse.SUPPRESS)
        command.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)


def build_config(args: argparse.Namespace) -> ServerConfig:
    """Defaults, then the TOML file, then the flags (or a whole configuration on stdin)."""
    if getattr(args, "config_stdin", False):
        try:
            return msgspec.json.decode(sys.stdin.buffer.read(), type=ServerConfig)
        except msgspec.ValidationError as exc:
            raise SystemExit(f"configuration: {exc}") from None
    toml: dict[str, Any] = {}
    if args.config is not None:
        try:
            toml = tomllib.loads(args.config.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SystemExit(f"{args.config}: {exc}") from None
    given = vars(args)
    flags = {item.path: given[item.path] for item in settings() if item.path in given}
    if args.command in ("plant", "gateway"):
        toml = {**_SPLIT_DEFAULTS, **toml}
    try:
        return load(toml, flags)
    except ValueError as exc:
        raise SystemExit(f"configuration: {exc}") from None


async def _serve_workers(config: ServerConfig, log_level: str, log_format: str) -> None:
    from tickerplant.scaleout.nats_server import NatsServerMissing
    from tickerplant.scaleout.supervisor import Supervisor, SupervisorFailed

    stop = _stop_on_signals()
    supervisor = Supervisor(config, log_level=log_level, log_format=log_format)
    try:
        await supervisor.start()
    except (OSError, NatsServerMissing, SupervisorFailed) as exc:
        await supervisor.close()
        raise SystemExit(f"tickerplant: cannot start: {exc}") from None
    head = f"tickerplant serving from {config.workers} gateway processes, fed over {supervisor.nats_url}"
    logs.say(*_listeners(head, supervisor.url(Market.UM), supervisor.url(Market.CM), supervisor.admin_url()))
    failed = asyncio.ensure_future(supervisor.failed.wait())
    await asyncio.wait([asyncio.ensure_future(stop.wait()), failed], return_when=asyncio.FIRST_COMPLETED)
    await supervisor.close()
    if supervisor.failed.is_set():
        raise SystemExit(f"tickerplant: {supervisor.failure}")


def _listeners(head: str, um: str, cm: str, admin: str | None) -> list[str]:
    """The start-up banner: what is served, then where."""
    lines = [
        head,
        f"  USDⓈ-M streams  {um}/ws/<stream>  {um}/stream?streams=<a>/<b>  (also /public, /market)",
        f"  COIN-M streams  {cm}/ws/<stream>  {cm}/stream?streams=<a>/<b>",
    ]
    if admin is not None:
        lines.append(f"  admin           {admin}/  (dashboard)  {admin}/metrics  {admin}/api/status")
    return [*lines, "Ctrl-C stops."]


_YOUNG_COLLECTION = 10_000  # container objects made between collections of the youngest


def _settle_heap() -> None:
    """The objects a started server holds (its books, klines, windows, views: some 300,000
    that the cyclic garbage collector tracks) are moved out of its reach (``gc.freeze``),
    once start-up's garbage is collected. They live as long as the process; left tracked,
    every full collection walked them all, about 100 ms with the loop held, a few times a
    minute under load (3 % of a core serving WebSocket API requests, and their p99).

    The youngest generation is collected every ``_YOUNG_COLLECTION`` container objects
    made instead of every 700: a replay at ``--speed max`` makes a tracked message per
    event (and a block of rows is a few lists of ~15,000 ints, which each full collection
    walks while it lives), so collections took 0.3-0.6 s of a 1.2 M-event replay; they
    take ~0.02 s so. The collector still runs; cyclic garbage waits a little longer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNG_COLLECTION, *gc.get_threshold()[1:])


async def _serve(config: ServerConfig) -> None:
    from tickerplant.app import Tickerplant
    from tickerplant.feeds.relay.relay import RelayError

    plant = Tickerplant(config)
    try:
        await plant.start()
    except (OSError, ValueError, zipfile.BadZipFile, RelayError) as exc:
        await plant.close()
        raise SystemExit(f"tickerplant: cannot start: {exc}") from None
    _settle_heap()
    um, cm = plant.url(Market.UM), plant.url(Market.CM)
    admin = plant.admin_url()
    head = f"tickerplant serving a simulated market (seed {config.simulator.seed})"
    if config.replay.paths:
        speed = "max" if config.replay.speed is None else f"×{config.replay.speed:g}"
        # the admin listener's POST controls; the market listeners' GET paths are deprecated
        resume = f"POST {admin}/api/replay/resume" if admin else "GET /tickerplant/v1/replay/resume"
        state = f"paused: {resume} starts it" if config.replay.paused else "playing"
        status = f"{admin}/api/status" if admin else f"{um.replace('ws://', 'http://')}/tickerplant/v1/replay"
        paths = ", ".join(config.replay.paths)
        head = f"tickerplant replaying {paths} at {speed} ({state})\n  replay status   {status}"
    elif config.relay.enabled:
        head = f"tickerplant relaying {', '.join(config.relay.urls) or 'Binance (fstream, dstream)'}"
    logs.say(*_listeners(head, um, cm, admin))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    waits = [asyncio.ensure_future(stop.wait())]
    if config.replay.exit_at_end:
        waits.append(asyncio.ensure_future(plant.done.wait()))
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    if plant.done.is_set():
        logs.say(f"tickerplant: {plant.finish_reason}")
    await plant.close()
    if plant.failed and plant.done.is_set():
        raise SystemExit(1)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def _plant(config: ServerConfig, reuse_port: bool) -> None:
    import nats.errors  # NATS only for the scale-out commands

    from tickerplant.bus.nats import NatsBus
    from tickerplant.feeds.relay.relay import RelayError
    from tickerplant.scaleout.plant_admin import PlantAdmin
    from tickerplant.scaleout.plant_process import PlantProcess

    stop = _stop_on_signals()
    url = config.nats_url or DEFAULT_NATS
    try:
        plant = PlantProcess(config, await NatsBus.connect(url, name="tickerplant plant"))
    except (OSError, nats.errors.Error) as exc:
        raise SystemExit(f"tickerplant plant: cannot reach NATS at {url}: {exc!r}") from None
    try:
        await plant.start()
    except (OSError, ValueError, zipfile.BadZipFile, RelayError) as exc:
        await plant.close()
        raise SystemExit(f"tickerplant plant: cannot start: {exc}") from None
    _settle_heap()
    admin = PlantAdmin(plant, plant.clock)
    said = ""
    if config.admin_port:
        try:
            said = f"; admin {await admin.start(config.admin_host, config.admin_port, reuse_port=reuse_port)}"
        except OSError as exc:
            await plant.close()
            raise SystemExit(f"tickerplant plant: cannot start its admin listener: {exc}") from None
    logs.say(f"tickerplant plant publishing to {url}{said}")
    await stop.wait()
    await admin.close()
    await plant.close()


async def _gateway(config: ServerConfig, reuse_port: bool) -> None:
    import nats.errors

    from tickerplant.bus.nats import NatsBus
    from tickerplant.scaleout.gateway_process import GatewayProcess

    stop = _stop_on_signals()
    url = config.nats_url or DEFAULT_NATS
    try:
        gateway = GatewayProcess(
            config, await NatsBus.connect(url, name="tickerplant gateway"), reuse_port=reuse_port
        )
    except (OSError, nats.errors.Error) as exc:
        raise SystemExit(f"tickerplant gateway: cannot reach NATS at {url}: {exc!r}") from None
    starting = asyncio.ensure_future(gateway.start())
    await asyncio.wait([starting, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    if starting.done() and starting.exception() is None:
        _settle_heap()
        um, cm = gateway.url(Market.UM), gateway.url(Market.CM)
        said = ""
        if config.admin_port:
            try:
                admin = await gateway.start_admin(config.admin_host, config.admin_port, reuse_port=reuse_port)
                said = f"; admin {admin}"
            except OSError as exc:
                await gateway.close()
                raise SystemExit(f"tickerplant gateway: cannot start its admin listener: {exc}") from None
        logs.say(f"tickerplant gateway on {um} (USDⓈ-M) and {cm} (COIN-M), fed from {url}{said}")
        await stop.wait()
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    await gateway.close()


async def _record(args: argparse.Namespace) -> None:
    from tickerplant.recording.recorder import record

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if args.seconds is not None:
        loop.call_later(args.seconds, stop.set)
    files = await record(
        args.url,
        args.streams,
        args.out,
        market=Market(args.market) if args.market else None,
        rotate_bytes=int(args.rotate_mb * 1024 * 1024),
        rotate_s=args.rotate_s,
        stop=stop,
    )
    for path in files:
        print(path, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    if args.command == "serve":
        config = build_config(args)
        if config.workers == 1:
            uvloop.run(_serve(config))
        else:
            uvloop.run(_serve_workers(config, args.log_level, args.log_format))
    elif args.command == "plant":
        uvloop.run(_plant(build_config(args), args.reuse_port))
    elif args.command == "gateway":
        uvloop.run(_gateway(build_config(args), args.reuse_port))
    elif args.command == "record":
        uvloop.run(_record(args))
    elif args.command == "watch":
        from tickerplant.client.watch import watch

        with contextlib.suppress(KeyboardInterrupt):
            seen = watch(args.url, args.streams, as_json=args.json, count=args.count, seconds=args.seconds)
            uvloop.run(seen)
    elif args.command == "book":
        from tickerplant.client.ladder import show_book

        with contextlib.suppress(KeyboardInterrupt):
            shown = show_book(
                args.url,
                args.symbol,
                market=Market(args.market) if args.market else None,
                depth=args.depth,
                as_json=args.json,
                count=args.count,
                seconds=args.seconds,
            )
            try:
                uvloop.run(shown)
            except OSError as exc:
                raise SystemExit(f"tickerplant book: {exc}") from None


if __name__ == "__main__":
    main()
