"""``tickerplant run``'s command line: serve's flags, its own, and the bot's command after
``--`` kept whole (its own flags too); what it refuses before it starts anything."""

from __future__ import annotations

from pathlib import Path

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
        # serve's message about --paused (its resume is the admin listener's) is not run's: one answer
        (["run", "--replay", "x", "--paused", "--admin-port", "0", "--", "true"], "--paused is serve's alone"),
    ],
)
def test_what_run_refuses_before_it_starts(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert said in str(stopped.value.code) + capsys.readouterr().err


def test_a_library_that_is_not_libfaketime_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Preloaded, any other library (libc, say) leaves the bot's clock the wall's while the run
    says it starts at the replay's: refused, as a file that is not there is."""
    other = tmp_path / "libother.so.1"
    other.write_bytes(b"\x7fELF" + b"\x00clock_gettime\x00epoll_wait\x00" * 4)
    with pytest.raises(SystemExit) as stopped:
        main(["run", "--replay", "x", "--faketime-lib", str(other), "--", "true"])
    said = str(stopped.value.code) + capsys.readouterr().err
    assert f"tickerplant run: {other} is not a libfaketime library (it reads no FAKETIME variable)" in said
