"""The public archive's files as the market listeners write them (``protocol/archive.py``
makes their rows): each a zip of one CSV, made in memory a piece at a time.

A zip is the same bytes for the same CSV: its one entry is dated the file's first day at
00:00, deflated at zlib's default level, with Unix permissions 0644, as ``zipfile`` writes
it; so a file's ``.CHECKSUM`` holds across servers of one seed.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

from tickerplant.clock import Clock
from tickerplant.gateway.picows_server import LaterRoute, Routed
from tickerplant.gateway.responses import file_response
from tickerplant.gateway.traffic import Traffic
from tickerplant.protocol.archive import Archive, ArchiveAnswer, missing_file
from tickerplant.protocol.later import Later

__all__ = ["ZipPacking", "archive_route"]


def archive_route(
    archive: Archive | None, clock: Clock, traffic: Traffic, path: str, ip: str
) -> Routed | LaterRoute:
    """A file of the public archive's layout (``protocol/archive.py``) for ``ip``; without a
    past (a replay, a relay), every one is missing."""
    started_ns = clock.now_ns()

    def done(answer: ArchiveAnswer) -> Routed:
        # one label for every file: a path is the client's text, never a label
        traffic.request("rest", "/data/futures", answer.status, clock.now_ns() - started_ns)
        return file_response(answer)

    begun = archive.begin(path) if archive is not None else missing_file()
    if isinstance(begun, Later):
        made = begun
        return LaterRoute(made.step, lambda: done(made.result), lambda: made.waiting, ip)
    return done(begun)


class ZipPacking:
    """A zip of one CSV being written (``protocol.archive.Packing``)."""

    __slots__ = ("_buffer", "_csv", "_zip")

    def __init__(self, csv_name: str, day: date) -> None:
        self._buffer = io.BytesIO()
        self._zip = zipfile.ZipFile(self._buffer, "w")
        entry = zipfile.ZipInfo(csv_name, date_time=(day.year, day.month, day.day, 0, 0, 0))
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o644 << 16
        self._csv = self._zip.open(entry, "w")

    def write(self, data: bytes) -> None:
        self._csv.write(data)

    def finish(self) -> bytes:
        self._csv.close()
        self._zip.close()
        return self._buffer.getvalue()

    def discard(self) -> None:
        """Closed unread (its client left): nothing is left open for the collector."""
        self.finish()
