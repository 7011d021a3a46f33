"""`tickerplant plant` and `tickerplant gateway`: each takes its own process's settings."""

from __future__ import annotations

import pytest

from tickerplant.cli import _parser, build_config
from tickerplant.market.payloads.events import PayloadFormat


def test_the_plant_takes_the_sources_settings_and_the_gateway_the_listeners() -> None:
    plant = build_config(
        _parser().parse_args(["plant", "--nats", "nats://h:4222", "--seed", "7", "--payload-format", "2026"])
    )
    assert (plant.nats_url, plant.simulator.seed, plant.payload_format) == (
        "nats://h:4222",
        7,
        PayloadFormat.Y2026,
    )
    args = _parser().parse_args(
        ["gateway", "--nats", "nats://h:4222", "--um-port", "9000", "--max-streams", "10"]
    )
    gateway = build_config(args)
    assert (gateway.nats_url, gateway.um_port, gateway.limits.max_streams) == ("nats://h:4222", 9000, 10)
    assert args.reuse_port is False


@pytest.mark.parametrize(
    "argv", [["plant", "--um-port", "1"], ["gateway", "--seed", "1"], ["gateway", "--payload-format", "2026"],
             ["gateway", "--workers", "2"], ["plant", "--workers", "2"]],
)  # fmt: skip
def test_neither_takes_the_others_settings(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)


def test_workers_are_at_least_one() -> None:
    assert build_config(_parser().parse_args(["serve", "--workers", "3"])).workers == 3
    with pytest.raises(SystemExit, match="workers must be a whole number from 1"):
        build_config(_parser().parse_args(["serve", "--workers", "0"]))
