"""Timeouts in tests: multiples of one unit, scaled by an environment variable.

As websockets does: a loaded or slow machine sets ``TICKERPLANT_TESTS_TIMEOUT_FACTOR``
(say 4) instead of tests growing their own margins. These are deadlines for something
that must happen, never waits for something to happen: a test that needs time to pass
drives a manual clock instead of sleeping.
"""

from __future__ import annotations

import os

__all__ = ["FACTOR", "MS", "SECONDS"]

FACTOR = float(os.environ.get("TICKERPLANT_TESTS_TIMEOUT_FACTOR", "1"))
MS = 0.001 * FACTOR
SECONDS = 1000 * MS
