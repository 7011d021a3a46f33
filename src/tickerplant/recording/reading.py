"""Reading recordings (the format is ``format.py``'s): a file's header and its items, a file
cut short read to its last whole line (its recorder was killed), the recording files of a
directory, and the bytes read so far for a replay's progress."""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tickerplant.recording.format import (
    SUFFIX,
    Item,
    RecordedLoss,
    RecordingHeader,
    decode_header,
    decode_item,
)

__all__ = ["is_recording", "read_recording", "recording_files", "size_on_disk", "why_not_recording"]

log = logging.getLogger("tickerplant.recording")


def read_recording(
    path: Path, *, cut_is_loss: bool = False, progress: list[int] | None = None
) -> tuple[RecordingHeader, Iterator[Item]]:
    """The header of the recording file ``path`` and an iterator of its items.

    ``ValueError`` if it has no header. A file that ends early (its recorder was killed) is
    read up to its last whole line, with a warning; with ``cut_is_loss`` (a file that more
    of the same recording follows) its end is then a ``RecordedLoss`` of every stream, at
    its last item's time: what the recorder received after it never reached the disk.
    ``progress``: ``[bytes]``, advanced by the compressed bytes read as the items are (a
    replay's progress). The file is closed when the iterator is exhausted or collected.
    """
    raw = path.open("rb")  # the iterator closes it, and the gzip reader over it
    file = gzip.GzipFile(fileobj=raw, mode="rb")
    try:
        first = file.readline()
        if not first.endswith(b"\n"):
            raise ValueError(f"{path}: no header line")
        header = decode_header(first)
    except (EOFError, OSError, zlib.error) as exc:
        file.close()
        raw.close()
        raise ValueError(f"{path}: no header line ({exc})") from None
    except BaseException:
        file.close()
        raw.close()
        raise
    return header, _items(raw, file, path, header.streams if cut_is_loss else None, progress)


def _items(
    raw: BinaryIO, file: gzip.GzipFile, path: Path, lost: tuple[str, ...] | None, progress: list[int] | None
) -> Iterator[Item]:
    number, last_us, told = 1, 0, 0  # told: compressed bytes added to ``progress`` so far
    with raw, file:
        try:
            for line in file:
                number += 1
                if progress is not None and not number % _PROGRESS_LINES:
                    at = raw.tell()
                    progress[0] += at - told
                    told = at
                if not line.endswith(b"\n"):
                    log.warning("%s: line %d is cut short; the recording stops before it", path, number)
                    break
                try:
                    item = decode_item(line)
                except ValueError as exc:
                    raise ValueError(f"{path}, line {number}: {exc}") from None
                last_us = item.received_us
                yield item
            else:
                return
        except EOFError:
            # No gzip trailer: the recorder was stopped without closing the file. What it
            # flushed is readable; the rest never reached the disk.
            log.warning("%s ends early (its recorder did not close it): %d lines read", path, number - 1)
        finally:
            if progress is not None:
                progress[0] += size_on_disk(path) - told  # the whole file, however it ended
        if lost is not None:
            yield RecordedLoss(last_us, lost)


_PROGRESS_LINES = 1024  # lines read between two looks at the file's position


def size_on_disk(path: Path) -> int:
    """The recording file's size, 0 when it cannot be read."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _header_of(path: Path) -> RecordingHeader | None:
    header, _ = _read_header(path)
    return header


def _read_header(path: Path) -> tuple[RecordingHeader | None, str]:
    """The recording's header, or None and why it has none."""
    if not path.name.endswith(SUFFIX) or not path.is_file():
        return None, f"not a file named …{SUFFIX}"
    try:
        with gzip.GzipFile(path, "rb") as file:
            first = file.readline()
        if not first.endswith(b"\n"):
            return None, "no header line"
        return decode_header(first), ""
    except (EOFError, OSError, ValueError, zlib.error) as exc:
        return None, str(exc) or type(exc).__name__


def why_not_recording(path: Path) -> str | None:
    """Why ``path`` cannot be read as a recording (not gzip, cut before its header, a header
    that is not one); None: it is one."""
    header, why = _read_header(Path(path))
    return None if header is not None else why


def is_recording(path: Path) -> bool:
    """``path`` is named ``….jsonl.gz`` and starts with a recording header."""
    return _header_of(Path(path)) is not None


def recording_files(directory: Path) -> list[Path]:
    """The recording files in ``directory``, in order of their start times."""
    found = []
    for path in Path(directory).iterdir():
        header = _header_of(path)
        if header is not None:
            found.append((header.started_us, path.name, path))
    return [path for _, _, path in sorted(found)]
