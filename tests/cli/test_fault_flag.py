"""``--faults``: a built-in profile by name, or a TOML file read and checked before the
server starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickerplant.cli import _parser, build_config
from tickerplant.faults.builtin import BUILTIN


def test_faults_names_a_built_in_profile_or_reads_a_file(tmp_path: Path) -> None:
    named = build_config(_parser().parse_args(["serve", "--faults", "binance-bad-day"]))
    assert named.faults.profile_text == BUILTIN["binance-bad-day"]
    written = tmp_path / "day.toml"
    written.write_text('[[fault]]\nkind = "timeout"\nrate = 0.1\n')
    assert build_config(_parser().parse_args(["serve", "--faults", str(written)])).faults.profile_text == (
        written.read_text()
    )
    written.write_text('[[fault]]\nkind = "timeout"\n')
    with pytest.raises(SystemExit, match="give a rate, a window"):
        build_config(_parser().parse_args(["serve", "--faults", str(written)]))
    with pytest.raises(SystemExit, match="No such file"):
        build_config(_parser().parse_args(["serve", "--faults", str(tmp_path / "none.toml")]))
