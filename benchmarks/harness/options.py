"""The sizes a benchmark's options take when not given: the full run's, or ``--quick``'s."""

from __future__ import annotations

import argparse
from collections.abc import Iterable


def fill_sizes(args: argparse.Namespace, sizes: Iterable[tuple[str, object, object]]) -> None:
    """Each (option, full, quick) left None on the command line set to its full size, or its
    quick one with ``--quick``."""
    for name, full, small in sizes:
        if getattr(args, name) is None:
            setattr(args, name, small if args.quick else full)
