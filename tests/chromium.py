"""Headless Chromium for the tests that open a page: Debian's browser at ``/usr/bin/chromium``
through Playwright, which downloads no browser of its own (``.ci/run`` installs both).

Outside CI a machine without the browser (or the ``playwright`` package) skips those tests
and says why; in CI (``CI=true``) that is a failure."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from timing import SECONDS

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "DEADLINE_MS", "VIEWPORT", "browser"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
VIEWPORT = {"width": 1366, "height": 768}
DEADLINE_MS = 10 * SECONDS * 1000  # Playwright's waits take milliseconds


def _missing_browser() -> str:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    return ""


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    missing = _missing_browser()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the browser for the browser tests: {missing}")
        pytest.skip(f"no headless browser: {missing}")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
