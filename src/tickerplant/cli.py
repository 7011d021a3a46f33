"""The command line: the only place that reads argv, environment and files."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import uvloop

from tickerplant import __version__, commands, logs
from tickerplant.admin.guard import is_loopback
from tickerplant.config import ServerConfig
from tickerplant.faults.builtin import BUILTIN
from tickerplant.faults.profile import ProfileError, parse_profile
from tickerplant.market.instruments import Market
from tickerplant.protocol.endpoints import BINANCE_STREAMS
from tickerplant.settings import SettingField, default_text, load, section_titles, settings

__all__ = ["ADMIN_TOKEN_VARIABLE", "NATS_TOKEN_VARIABLE", "admin_token", "build_config", "main", "nats_token"]

NATS_TOKEN_VARIABLE = "TICKERPLANT_NATS_TOKEN"  # the NATS token, when no nats_token_file names one
ADMIN_TOKEN_VARIABLE = "TICKERPLANT_ADMIN_TOKEN"  # the admin token, when neither TOML key gives one

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
    _add_run_command(commands)

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

    tls = commands.add_parser("tls", help="TLS for the listeners: a local CA and a certificate for testers")
    tls.add_argument("action", choices=("init",), help="init: write ca.pem, cert.pem and key.pem into DIR")
    tls.add_argument("dir", type=Path, metavar="DIR")
    tls.add_argument("--name", action="append", default=[], metavar="HOST", help="another DNS name to cover")
    _add_log_options(tls, "WARNING")
    _add_accounts_command(commands)
    report = commands.add_parser("report", help="an account's trading report: HTML (charts) and JSON")
    report.add_argument("--db", required=True, metavar="FILE", help="the accounts database (venue_db)")
    report.add_argument("--account", required=True, type=int, metavar="ID")
    report.add_argument("--from", dest="start", metavar="T", help="ms since the epoch or ISO 8601 (UTC)")
    report.add_argument("--to", dest="end", metavar="T", help="the end, inclusive (default: the last row)")
    report.add_argument("--asset", help="the margin asset (default: the one most fills settle in)")
    report.add_argument("--out", required=True, type=Path, metavar="DIR", help="where the two files go")
    _add_log_options(report, "WARNING")
    return parser


def _add_run_command(commands: Any) -> None:
    """``tickerplant run [serve's flags] -- COMMAND…``: a bot on a replay, its clock the
    market's (docs/run.md)."""
    run = commands.add_parser(
        "run",
        help="serve a replay and run a bot's command beside it, the bot's clock the market's",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--config", type=Path, help="TOML file; flags given here override it")
    _add_log_options(run, "WARNING")
    _add_settings(run)
    run.add_argument(
        "--max-lag", type=int, default=1000, metavar="MS",
        help="the bot's clock may lag the market's this much (market ms) before the run stops (default 1000)",
    )  # fmt: skip
    run.add_argument(
        "--faketime-lib", metavar="FILE",
        help="the libfaketime library to run the bot under (default: Debian's libfaketime when installed, "
        "else the libfaketime package's, which fakes clocks but not sleeps)",
    )  # fmt: skip
    run.add_argument("bot", nargs=argparse.REMAINDER, metavar="-- COMMAND …", help="the bot's command")


def _add_accounts_command(commands: Any) -> None:
    """``tickerplant accounts …``: the venue's accounts and API keys (docs/venue.md)."""
    accounts = commands.add_parser("accounts", help="the venue's accounts, balances and API keys")
    accounts.add_argument(
        "--db", metavar="FILE", help="the database (default: --config's venue_db, or tickerplant.db)"
    )
    accounts.add_argument("--config", type=Path, help="TOML file whose venue_db names the database")
    _add_log_options(accounts, "WARNING")
    action = accounts.add_subparsers(dest="action", required=True)
    create = action.add_parser("create", help="a new account and its first API key, printed once")
    create.add_argument("--name", default="", help="a name for the operator's eyes")
    create.add_argument("--balance", default="", metavar="ASSET=AMOUNT,…", help=_BALANCE_HELP)
    _add_key_options(create)
    action.add_parser("list", help="every account, one a line")
    show = action.add_parser("show", help="an account: its balances and keys (never a secret)")
    show.add_argument("account", type=int, metavar="ID")
    for name, about in (("deposit", "add to balances"), ("withdraw", "take from balances")):
        move = action.add_parser(name, help=about)
        move.add_argument("account", type=int, metavar="ID")
        move.add_argument("amounts", metavar="ASSET=AMOUNT,…", help=_BALANCE_HELP)
    for name, about in (
        ("disable", "refuse the account's keys (-2015) until enabled"), ("enable", "accept them again"),
        ("delete", "delete the account, its balances and its keys"),
    ):  # fmt: skip
        action.add_parser(name, help=about).add_argument("account", type=int, metavar="ID")
    action.add_parser(
        "verify", help="check that the journal adds up: wallets to income, positions and orders to fills"
    )
    keys_command = action.add_parser("keys", help="an account's API keys")
    keys = keys_command.add_subparsers(dest="keys_action", required=True)
    add = keys.add_parser("add", help="another API key for an account, printed once")
    add.add_argument("account", type=int, metavar="ID")
    _add_key_options(add)
    keys.add_parser("list", help="an account's keys").add_argument("account", type=int, metavar="ID")
    revoke = keys.add_parser("revoke", help="delete a key: it is unknown from now on")
    revoke.add_argument("api_key", metavar="KEY")


_BALANCE_HELP = (
    "e.g. USDT=10000,BTC=1: a coin COIN-M is margined in goes to the COIN-M wallet, others to USDⓈ-M; "
    "um:/cm: chooses"
)


def _add_key_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--public-key", type=Path, metavar="FILE",
        help="an Ed25519 or RSA public key in PEM (its type is read from it); default: an HMAC secret",
    )  # fmt: skip
    command.add_argument(
        "--permissions", default="reading,trading", metavar="reading[,trading]",
        help="what the key may do (default reading,trading)",
    )  # fmt: skip
    command.add_argument(
        "--ip", default="", metavar="ADDR[/BITS],…", help="addresses the key may be used from (default any)"
    )


# What each scale-out process is configured by (docs/operations.md, Scale-out): the plant by its
# source's settings and the payload format it encodes in; a gateway by its listeners'.
_NATS_SETTINGS = {"nats_url", "nats_token_file", "nats_creds", "nats_tls_ca", "nats_tls_cert", "nats_tls_key"}
_ADMIN_SETTINGS = {"admin_host", "admin_port", "admin_token", "admin_token_file"}
_PLANT_SETTINGS = {"payload_format", "clock_offset_ms", "queue_model", *_ADMIN_SETTINGS, *_NATS_SETTINGS}
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
        # serve --workers N hands its children the whole configuration and the NATS token as
        # JSON on stdin, which stays open as their lifeline (scaleout/lifeline.py), and
        # shares ports with them: the gateways' listener ports, each one's admin port
        command.add_argument("--config-stdin", action="store_true", help=argparse.SUPPRESS)
        command.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)


def build_config(args: argparse.Namespace) -> ServerConfig:
    """Defaults, then the TOML file, then the flags."""
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
        config = load(toml, flags)
    except ValueError as exc:
        raise SystemExit(f"configuration: {exc}") from None
    _admin_guarded(config)
    config = _fault_profile(config)
    if config.replay.paused and not config.admin_port:
        # its resume is the admin listener's (the market port changes no state)
        raise SystemExit("configuration: --paused waits for POST /api/replay/resume: it takes --admin-port")
    return config


def _fault_profile(config: ServerConfig) -> ServerConfig:
    """``config`` with its fault profile's text: a built-in one's, or its file's, checked."""
    named, text = config.faults.profile, config.faults.profile_text
    if not named and not text:
        return config
    try:
        if named:
            text = BUILTIN[named] if named in BUILTIN else Path(named).read_text()
        parse_profile(text)
    except (OSError, ProfileError) as exc:
        raise SystemExit(f"--faults {named}: {exc}") from None
    return dataclasses.replace(config, faults=dataclasses.replace(config.faults, profile_text=text))


def admin_token(config: ServerConfig) -> ServerConfig:
    """``config`` with its admin token read: ``admin_token``, else the first line of
    ``admin_token_file``, else the environment's ``TICKERPLANT_ADMIN_TOKEN``."""
    token = config.admin_token
    if not token and config.admin_token_file:
        try:
            lines = Path(config.admin_token_file).read_text().splitlines()
        except OSError as exc:
            raise SystemExit(f"admin_token_file: {exc}") from None
        token = lines[0].strip() if lines else ""
    token = token or os.environ.get(ADMIN_TOKEN_VARIABLE, "")
    return dataclasses.replace(config, admin_token=token) if token != config.admin_token else config


def _admin_guarded(config: ServerConfig) -> None:
    """An admin listener beyond loopback takes a token, or the configuration is refused:
    anyone who reaches it could drive the server."""
    has_token = config.admin_token or config.admin_token_file or os.environ.get(ADMIN_TOKEN_VARIABLE)
    if config.admin_port and not has_token and not is_loopback(config.admin_host):
        raise SystemExit(
            f"configuration: the admin listener on {config.admin_host} needs a token (admin_token in "
            f"the config file, --admin-token-file, or {ADMIN_TOKEN_VARIABLE}): it drives the server"
        )


def nats_token(config: ServerConfig) -> str:
    """The NATS server's token: the first line of ``nats_token_file``, else the environment's
    ``TICKERPLANT_NATS_TOKEN``, else none."""
    if config.nats_token_file:
        try:
            lines = Path(config.nats_token_file).read_text().splitlines()
        except OSError as exc:
            raise SystemExit(f"nats_token_file: {exc}") from None
        return lines[0].strip() if lines else ""
    return os.environ.get(NATS_TOKEN_VARIABLE, "")


def _split(args: argparse.Namespace) -> tuple[ServerConfig, str]:
    """A plant's or gateway's configuration and NATS token: from the flags, the TOML file,
    the token file or the environment; or as serve --workers hands them over on stdin."""
    if not args.config_stdin:
        config = admin_token(build_config(args))
        return config, nats_token(config)
    from tickerplant.scaleout.lifeline import read_handover

    try:
        handover = read_handover(sys.stdin.buffer)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    return handover.config, handover.nats_token


def _venue_db(args: argparse.Namespace) -> str:
    """``accounts``' database: ``--db``, else the configuration's ``venue_db``."""
    if args.db:
        return str(args.db)
    toml: dict[str, Any] = {}
    if args.config is not None:
        try:
            toml = tomllib.loads(args.config.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SystemExit(f"{args.config}: {exc}") from None
    try:
        return load(toml, {}).venue_db
    except ValueError as exc:
        raise SystemExit(f"configuration: {exc}") from None


def _display(config: ServerConfig, log_format: str) -> ServerConfig:
    """A replay's progress bar, a terminal's display, is off in the JSON format unless
    ``--progress`` asks for it: everything else on stderr is a JSON line."""
    if log_format != "json" or config.replay.progress is not None:
        return config
    return dataclasses.replace(config, replay=dataclasses.replace(config.replay, progress=False))


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    with logs.exits_logged():
        _run(args)


def _run(args: argparse.Namespace) -> None:
    if args.command == "serve":
        config = _display(admin_token(build_config(args)), args.log_format)
        if config.workers == 1:
            uvloop.run(commands.serve(config))
        else:
            uvloop.run(commands.serve_workers(config, args.log_level, args.log_format, nats_token(config)))
    elif args.command in ("plant", "gateway"):
        config, token = _split(args)
        config = _display(config, args.log_format)
        lifeline = sys.stdin.buffer if args.config_stdin else None
        run = commands.plant if args.command == "plant" else commands.gateway
        uvloop.run(run(config, args.reuse_port, token, lifeline))
    elif args.command == "run":
        from tickerplant.bot.faketime import find_library
        from tickerplant.bot.run import run_bot

        config = _display(admin_token(build_config(args)), args.log_format)
        bot = args.bot[1:] if args.bot[:1] == ["--"] else args.bot
        try:
            library = find_library(args.faketime_lib)
        except ValueError as exc:
            raise SystemExit(f"tickerplant run: {exc}") from None
        raise SystemExit(uvloop.run(run_bot(config, bot, library, args.max_lag, os.environ)))
    elif args.command == "record":
        uvloop.run(commands.record_streams(args))
    elif args.command == "tls":
        commands.tls_init(args.dir, tuple(args.name))
    elif args.command == "accounts":
        commands.accounts(args, _venue_db(args))
    elif args.command == "report":
        commands.report(args.db, args.account, args.out, args.start, args.end, args.asset)
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
