"""The build: pure Python, unless ``TICKERPLANT_COMPILE=1`` asks for a wheel with the venue's
core compiled by mypyc (docs/venue.md, "A compiled core").

    TICKERPLANT_COMPILE=1 pip install .     # needs a C compiler and Python's headers

Everything else is in pyproject.toml. Without the variable this file adds nothing: the wheel
is the pure one, and the editable install is always pure Python (a compiled module in ``src/``
would shadow its source for every run from the checkout). With it, the compiled modules'
sources stay in the wheel beside them; Python imports the compiled one first.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
VENUE = "src/tickerplant/venue"
COMPILED = ("core", "engine", "ledger", "book", "risk", "domain")  # the packages a command runs
# Left pure, each for a reason mypyc gives or a test run against the compiled build shows; none
# is hot in the matching benchmark's profile (compiling kept_figures too measured the same).
PURE = {
    "domain/orders.py": "IllegalTransition subclasses RuntimeError: no native class may",
    "ledger/stamped.py": "StampedSet subclasses set: no native class may",
    "domain/algo_order.py": "msgspec decodes AlgoOrder by its annotations, which mypyc alters",
    "book/maker_index.py": "tests/venue/test_maker_index.py subclasses MakerIndex",
    "risk/adl.py": "tests/venue/test_adl.py passes a stand-in for Authorized",
    "ledger/kept_figures.py": "tests/venue/test_kept_figures.py puts Fractions where ints are typed",
    "domain/position.py": "tests/venue/test_journal_from_events.py gives a Position an int cost",
}
MYPY = "mypy==2.4.1"  # the compiler (mypyc ships with mypy) the compiled build was tested with


def compiled_sources() -> list[str]:
    """The compiled packages' modules but ``PURE``'s, as paths from the root."""
    names = [f"{pkg}/{path.name}" for pkg in COMPILED for path in (ROOT / VENUE / pkg).glob("*.py")]
    return sorted(f"{VENUE}/{name}" for name in names if name not in PURE)


if os.environ.get("TICKERPLANT_COMPILE") != "1":
    setup()
else:
    # mypyc type-checks what it compiles (pyproject's [tool.mypy]), so the build needs the
    # packages the sources import, with their types, beside mypy itself.
    needs = [MYPY, *tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    # Compile only when building: pip first asks what the build needs (mypy not there yet),
    # then the metadata, then the wheel; mypyc's minute of work belongs to the last alone.
    if not {"bdist_wheel", "build_ext", "build"} & set(sys.argv):
        setup(setup_requires=needs)
    else:
        from mypyc.build import mypycify

        setup(setup_requires=needs, ext_modules=mypycify(compiled_sources(), opt_level="3"))
