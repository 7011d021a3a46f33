"""The ``clientOrderId`` the engine makes for an order sent without one (part 2 §3.3)."""

from __future__ import annotations

import os
import re
from collections import Counter

import tickerplant.venue_engines  # noqa: F401  (the server's wiring: it clears them at a fork)
from tickerplant.venue.domain.orders import new_client_order_id, seeded_client_ids


def test_made_ids_are_22_letters_and_digits_each_its_own() -> None:
    ids = [new_client_order_id() for _ in range(5_000)]  # ten reads of the OS's randomness
    assert all(re.fullmatch(r"[A-Za-z0-9]{22}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert len(Counter("".join(ids))) == 62  # every letter and digit drawn


def test_a_forked_child_draws_its_own_ids_not_its_parents_next() -> None:
    new_client_order_id()  # the parent holds drawn bytes
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        os.write(write, new_client_order_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    theirs = os.read(read, 64).decode()
    os.close(read)
    assert len(theirs) == 22 and theirs != new_client_order_id()


def test_seeded_ids_replay() -> None:
    one, two = seeded_client_ids(7), seeded_client_ids(7)
    assert [one() for _ in range(3)] == [two() for _ in range(3)]
