"""``tickerplant run``'s command line: serve's flags, its own, and the bot's command after
``--`` kept whole (its own flags too); what it refuses before it starts anything."""

from __future__ import annotations

import pytest

from tickerplant.cli import _parser, build_config, main


def test_the_bots_command_follows_the_double_dash_with_its_own_flags() -> None:
    args = _parser().parse_args(
        ["run", "--replay", "a", "b", "--speed", "20", "--max-lag", "500", "--", "python", "bot.py", "--speed", "3"]
    )
    assert args.bot == ["--", "python", "bot.py", "--speed", "3"] and args.max_lag == 500
    config = build_config(args)
    assert (config.replay.paths, config.replay.speed) == (("a", "b"), 20.0)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["run", "--", "python", "bot.py"], "a replay to run the bot on"),
        (["run", "--replay", "x", "--speed", "max", "--", "python", "bot.py"], "--speed max has no pace"),
        (["run", "--replay", "x", "--speed", "20"], "the bot's command after --"),
        (["run", "--replay", "x", "--max-lag", "0", "--", "python", "bot.py"], "--max-lag is a positive"),
        (["run", "--replay", "x", "--workers", "2", "--", "python", "bot.py"], "--workers is serve's alone"),
        (["run", "--replay", "x", "--speed", "20", "--paused", "--", "python", "bot.py"], "--paused is serve's alone"),
        (["run", "--replay", "x", "--faketime-lib", "/no/such.so", "--", "true"], "no libfaketime library at"),
    ],
)
def test_what_run_refuses_before_it_starts(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert said in str(stopped.value.code) + capsys.readouterr().err
