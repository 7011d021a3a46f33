"""Where an order and its cancel spend the server's time, from a py-spy profile of the flat-out
part (``--profile FILE``): each sample of the server's loop thread is put in the first part
whose frame it holds, in ``PARTS``' order, and each part's share of the samples is turned
into µs of an order and its cancel at the rate the profiled run reached.

The parts follow the request's way through the server: the HTTP head read and routed
(``front_door``, ``server``), the key and signature checked (``PrivateRest.admit``), the
engine's command (``Engine.apply``) less the journal's rows it stages (``SqliteJournal.stage``),
the group commit (``GroupCommit.flush``: the ``COMMIT``, then the answers it held), the
simulated market beside it, and the loop's own C code (epoll, socket reads and writes: the
samples whose innermost Python frame is the loop's ``run``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

__all__ = ["PARTS", "print_split", "split"]

# (part, a frame's text that puts a sample in it): the first found, in this order, wins
PARTS: tuple[tuple[str, str], ...] = (
    ("journal: COMMIT", "SqliteJournal.commit_staged"),
    ("journal: rows staged", "SqliteJournal.stage"),
    ("engine (the command)", "Engine.apply"),
    ("key and signature (admit)", "PrivateRest.admit"),
    ("answers released after the commit", "GroupCommit.flush"),
    ("simulated market and its streams", "Tickerplant._run_source"),
    ("simulated market and its streams", "SimulatedMarket."),
    ("user data stream", "UserData."),
    ("request read, routed, answer made", "PrivateRest."),
    ("request read, routed, answer made", "Listener."),
    ("request read, routed, answer made", "FrontDoor."),
    ("request read, routed, answer made", "RestTurns."),
)
LOOP = "event loop's C code (epoll, socket I/O, idle)"
OTHER = "other Python"


def split(raw: Path) -> tuple[int, Counter[str]]:
    """(samples of the main thread, samples per part) of a py-spy raw file recorded with
    ``--threads``: any thread beside the loop is left out (the journal's checkpoint is a
    process of its own, which py-spy does not sample)."""
    parts: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or "MainThread" not in frames[0]:
            continue
        n = int(count)
        samples += n
        parts[_part(frames[1:])] += n
    return samples, parts


def _part(frames: list[str]) -> str:
    if not frames or frames[-1].startswith("Runner.run") or frames[-1].startswith("run ("):
        return LOOP
    for name, marker in PARTS:
        if any(marker in frame for frame in frames):
            return name
    return OTHER


def print_split(raw: Path, pairs_per_s: float) -> None:
    """The parts' shares of the loop thread, and µs of an order and its cancel each."""
    samples, parts = split(raw)
    if not samples or pairs_per_s <= 0:
        print("  where the time went: no samples")
        return
    per_pair = 1e6 / pairs_per_s
    print(f"\n  where an order and its cancel spend the server's loop ({samples:,} samples of its thread,"
          f" {pairs_per_s:,.0f} pairs/s profiled: {per_pair:.0f} µs a pair):")  # fmt: skip
    for name, n in parts.most_common():
        print(f"    {n / samples:6.1%}  {n / samples * per_pair:6.1f} µs  {name}")
