"""libfaketime for the bot: which library, and the environment that runs a command's clock at
the market's time and speed (docs/run.md says what was measured, and where it holds).

Two builds of libfaketime 0.9.10 are met:

- **full** (Debian's ``libfaketime`` package, a ``make`` of the upstream source): it fakes
  the clocks (``clock_gettime``, ``gettimeofday``, ``time``) and scales the waits
  (``nanosleep``, ``clock_nanosleep``, ``epoll_wait``, ``poll``, ``select``, timers), so a
  program's sleeps and event-loop timers run at the market's speed too. Measured coherent
  for Python asyncio and Node at ×1, ×20 and ×100 with CLOCK_MONOTONIC faked, in each of the
  forms ``@<time> x<speed>``, ``+<offset> x<speed>`` and a timestamp file. With
  ``DONT_FAKE_MONOTONIC=1`` its waits are still scaled while the loop's clock is not: an
  asyncio sleep or a Node timer takes the wall's time, and Python's ``time.sleep`` fails
  (EINVAL).
- **clock-only** (the PyPI ``libfaketime`` package's ``vendor/libfaketime/src/libfaketime.so.1``,
  a dependency of tickerplant): it fakes the clocks alone. Sleeps and timers take wall time
  (a 0.5 s sleep is 10 market seconds at ×20), and with CLOCK_MONOTONIC faked Python's
  ``time.sleep`` never returns (its deadline, an absolute time on the faked clock, goes to
  the kernel unchanged): so it is run with ``DONT_FAKE_MONOTONIC=1``, where time and dates
  read the market's time at its speed and waits are the wall's.

The form used is ``@<time> x<speed>``: each process' clock reads ``<time>`` at the
instant libfaketime starts in it (as the process is loaded) and runs ×speed from there, so
``run`` starts the market's clock as the bot's process starts and the two agree to within
that instant. (``+<offset> x<speed>`` starts the clock at ``start + offset``: the time the
process took to start counts once at ×1 and the market's ×speed rate is lost for it.) The
time is written in local time, as libfaketime reads it (``mktime``), in the time zone the
bot is handed; in the hour a daylight-saving change repeats it is ambiguous.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

__all__ = ["FULL_PATHS", "Faketime", "bot_environment", "find_library", "packaged_library"]

# where Debian's (and a ``make install``'s) full build lives
FULL_PATHS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)
# A wait the full build scales: its name is in the library's dynamic symbols, never in the
# clock-only build's.
_SCALES_WAITS = b"\x00epoll_wait\x00"
# What every build reads its start and rate from (``bot_environment``): a library without the
# name is not libfaketime, and the bot's clock would be the wall's
_READS_FAKETIME = b"FAKETIME"


class Faketime(NamedTuple):
    path: str
    waits: bool  # whether it scales sleeps and timers too (the full build)


def packaged_library() -> str | None:
    """The PyPI ``libfaketime`` package's library, found without importing the package."""
    spec = importlib.util.find_spec("libfaketime")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    path = package / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"
    return str(path) if path.is_file() else None


def find_library(given: str | None = None) -> Faketime:
    """``given``, else the first full build installed, else the packaged clock-only one.
    Raises ValueError when there is none, or ``given`` is not a file or not libfaketime."""
    if given:
        if not Path(given).is_file():
            raise ValueError(f"no libfaketime library at {given}")
        candidates = [given]
    else:
        candidates = [path for path in FULL_PATHS if Path(path).is_file()]
        packaged = packaged_library()
        if packaged is not None:
            candidates.append(packaged)
    if not candidates:
        raise ValueError("no libfaketime library: pip install libfaketime, or apt install libfaketime")
    path = candidates[0]
    read = Path(path).read_bytes()
    if _READS_FAKETIME not in read:  # libc, a text file: preloaded, it would leave the clock the wall's
        raise ValueError(f"{path} is not a libfaketime library (it reads no FAKETIME variable)")
    return Faketime(path, _SCALES_WAITS in read)


def bot_environment(
    base: Mapping[str, str], library: Faketime, market_ms: int, speed: float
) -> dict[str, str]:
    """``base`` with libfaketime preloaded: a process started with it reads ``market_ms`` as
    it starts, and its clock runs ×``speed`` from there."""
    env = dict(base)
    preload = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = f"{library.path}:{preload}" if preload else library.path
    seconds, ms = divmod(market_ms, 1000)
    local = datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")  # naive: local time
    env["FAKETIME"] = f"@{local}.{ms:03d} x{speed:g}"
    env.pop("FAKETIME_TIMESTAMP_FILE", None)  # a file would win over the variable
    if library.waits:
        env.pop("DONT_FAKE_MONOTONIC", None)
        env.pop("FAKETIME_DONT_FAKE_MONOTONIC", None)
    else:
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"  # else Python's time.sleep never returns (above)
    return env
