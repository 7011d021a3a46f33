"""The venue's unit tests' shared fixtures: ``test_engine``'s hand-made book and a journal
that keeps its batches (each module makes its own ``engine`` from them)."""

from __future__ import annotations

import pytest
from test_engine import Book, Kept


@pytest.fixture
def book() -> Book:
    return Book()


@pytest.fixture
def journal() -> Kept:
    return Kept()
