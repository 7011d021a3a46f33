"""Which forms of libfaketime keep a bot's clock and waits at the market's time and speed.

    python -m benchmarks botclock [--quick] [--speeds 1,20,100] [--wait-s 2] [--timeout 3]

For each libfaketime build found (Debian's full one, the PyPI ``libfaketime`` package's
clock-only one: ``tickerplant.bot.faketime``), each form of setting the time
(``@<time> x<speed>``; ``+<offset> x<speed>``; the same ``@`` text in a timestamp file read
afresh, ``FAKETIME_NO_CACHE=1``), CLOCK_MONOTONIC faked or not (``FAKETIME_DONT_FAKE_MONOTONIC=1``)
and each speed, a Python asyncio probe (``probe.py``) and a Node probe (``probe.js``, when
``/usr/bin/node`` is there) wait ``--wait-s`` seconds of their own clock in each of their
ways. Read against the wall clock of this process, each row says:

- ``start``: the probe's clock at its first line against the market's (the start time plus
  the wall time since the probe was spawned, ×speed), in market ms: how late its clock
  starts (its start-up, ×speed);
- ``rate``: its clock's market seconds per wall second, from its first wait's end to its last;
- each wait: ``ok`` when it lasted its time on the probe's clock (within half of it),
  ``wall`` when it lasted its time on the wall's (×speed on its own clock), ``hung`` when it
  had not ended ``--timeout`` wall seconds after the previous line, ``error`` when the probe
  died (its stderr's last line is shown).

``coherent``: the rate is the speed and every wait ``ok``. docs/run.md holds the figures.
It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from tickerplant.bot.faketime import FULL_PATHS, packaged_library

HERE = Path(__file__).parent
NODE = "/usr/bin/node"
MARKET_S = 1_704_153_600  # 2024-01-02 00:00 UTC
FORMS = ("@", "+", "file")
PYTHON_WAITS = ("asyncio.sleep", "call_later", "wait_for", "time.sleep")
NODE_WAITS = ("setTimeout", "setInterval")


class Row(NamedTuple):
    library: str
    form: str
    monotonic: bool
    speed: float
    program: str
    start_ms: float | None
    rate: float | None
    waits: dict[str, str]
    error: str


def _environment(library: str, form: str, monotonic: bool, speed: float, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME") and k != "DONT_FAKE_MONOTONIC"}
    env["LD_PRELOAD"] = library
    at = "@" + datetime.fromtimestamp(MARKET_S).strftime("%Y-%m-%d %H:%M:%S") + f" x{speed:g}"
    if form == "@":
        env["FAKETIME"] = at
    elif form == "+":
        env["FAKETIME"] = f"{MARKET_S - time.time():+.3f} x{speed:g}"
    else:
        (folder / "faketimerc").write_text(at + "\n")
        env["FAKETIME_TIMESTAMP_FILE"] = str(folder / "faketimerc")
        env["FAKETIME_NO_CACHE"] = "1"
    if not monotonic:
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    return env


def probe(
    library: str, form: str, monotonic: bool, speed: float, program: str, wait_s: float, timeout_s: float
) -> Row:
    with tempfile.TemporaryDirectory() as folder:
        env = _environment(library, form, monotonic, speed, Path(folder))
        script = "probe.py" if program == "python" else "probe.js"
        command = [sys.executable if program == "python" else NODE, str(HERE / script), str(wait_s)]
        spawned = time.time()
        # unbuffered: a line read is stamped when it is written, not when the next one is
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        lines: list[tuple[float, dict[str, Any]]] = []
        hung = False
        assert child.stdout is not None and child.stderr is not None
        with selectors.DefaultSelector() as selector:
            selector.register(child.stdout, selectors.EVENT_READ)
            while True:
                if not selector.select(timeout_s):
                    hung = True
                    break
                line = child.stdout.readline()
                if not line:
                    break
                lines.append((time.time(), json.loads(line)))
                if lines[-1][1]["kind"] == "end":
                    break
        child.kill()
        child.wait()
        error = child.stderr.read().decode(errors="replace").strip().splitlines()[-1:] if not hung else []
    waits: dict[str, str] = {}
    for _, line in lines[1:]:
        if "took" in line:
            took = line["took"]
            kept = abs(took - wait_s) <= wait_s / 2
            waits[line["kind"]] = "ok" if kept else "wall" if took > wait_s * speed / 2 else f"{took:.2f}s"
    names = PYTHON_WAITS if program == "python" else NODE_WAITS
    for name in names:
        waits.setdefault(name, "hung" if hung else "error")
    start_ms = rate = None
    if lines:
        wall, first = lines[0]
        start_ms = (first["t"] - (MARKET_S + (wall - spawned) * speed)) * 1000
        # from the first wait's end: Node writes to a pipe asynchronously, so its first
        # line can come late, which would make its clock look faster
        if len(lines) > 2:
            (since, second), (until, last) = lines[1], lines[-1]
            rate = (last["t"] - second["t"]) / (until - since)
    said = " ".join(error)[-80:]
    return Row(Path(library).parent.name, form, monotonic, speed, program, start_ms, rate, waits, said)


def libraries() -> dict[str, str]:
    found = {f"full ({path})": path for path in FULL_PATHS if Path(path).is_file()}
    packaged = packaged_library()
    if packaged is not None:
        found["clock-only (PyPI libfaketime)"] = packaged
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks botclock")
    parser.add_argument("--quick", action="store_true", help="x20 only, the @ form, CLOCK_MONOTONIC faked")
    parser.add_argument("--speeds", default="1,20,100")
    parser.add_argument("--wait-s", type=float, default=2.0, help="each wait, seconds of the probe's clock")
    parser.add_argument("--timeout", type=float, default=3.0, help="wall seconds a probe may stay silent")
    args = parser.parse_args(argv)
    speeds = [20.0] if args.quick else [float(s) for s in args.speeds.split(",")]
    forms = ("@",) if args.quick else FORMS
    monotonics = (True,) if args.quick else (True, False)
    programs = ["python", *(["node"] if Path(NODE).exists() else [])]
    found = libraries()
    if not found:
        print("no libfaketime library: pip install libfaketime, or apt install libfaketime")
        return 0
    for title, library in found.items():
        print(f"\n{title}")
        print(f"{'form':<5} {'monotonic':<9} {'speed':>5} {'program':<7} {'start ms':>9} {'rate':>6}  waits")
        for form in forms:
            for monotonic in monotonics:
                for speed in speeds:
                    for program in programs:
                        row = probe(library, form, monotonic, speed, program, args.wait_s, args.timeout)
                        print(_line(row), flush=True)
    return 0


def _line(row: Row) -> str:
    coherent = row.rate is not None and abs(row.rate - row.speed) <= row.speed * 0.15
    coherent = coherent and all(v == "ok" for v in row.waits.values())
    start = f"{row.start_ms:9.0f}" if row.start_ms is not None else f"{'-':>9}"
    rate = f"{row.rate:6.1f}" if row.rate is not None else f"{'-':>6}"
    waits = " ".join(f"{k}={v}" for k, v in row.waits.items())
    faked = "faked" if row.monotonic else "real"
    verdict = "coherent" if coherent else "NOT coherent"
    said = f"  ({row.error})" if row.error else ""
    head = f"{row.form:<5} {faked:<9} {row.speed:>5g} {row.program:<7} {start} {rate}"
    return f"{head}  {waits}  {verdict}{said}"
