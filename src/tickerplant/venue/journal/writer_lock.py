"""One writer of a venue database's journal: the process that journals it holds a lock on
it, so that a second server on the same file refuses to start instead of losing orders.

Two servers on one database each number their algo orders from what they read at start (the
same ``algoId`` for two orders, one of them lost at the next start), keep leverage and orders
the other never sees, and one stops on the other's rows. So the journal of a server
(``SqliteJournal(exclusive=True)``: ``serve``'s, a scale-out plant's) holds, while it is
open, an exclusive lock (``flock``) on ``venue-<device>-<inode>.lock`` in a folder of the
user's own (``$TMPDIR/tickerplant-<uid>``, mode 0700, the listener ports' locks' too:
``port_lock.py``), keyed by the file itself (two paths to one file are one database), which
says its pid. A second journal refuses to open (``DatabaseHeld``, an
``sqlite3.OperationalError``): at start, ``serve`` cannot start; on a database made after both
started, the second's first commit fails and it stops, as on any commit that fails, having
acknowledged nothing it did not journal. The kernel releases the lock with the process,
however it ends (``kill -9`` included). The operator's ``tickerplant accounts`` take no lock:
they write beside a serving server by design.

A lock's file is removed with it (unlinked while still held: the folder keeps no file per
database ever served), and a lock taken on a file that is no longer at its name is taken
again, so two processes never both hold one database's. Systems without ``fcntl`` (Windows)
take no lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None  # type: ignore[assignment]

__all__ = ["DatabaseHeld", "WriterLock", "claim_database", "journaled", "lock_folder", "try_lock"]


class DatabaseHeld(sqlite3.OperationalError):
    """Another process journals this venue database (an error of the database's, as SQLite's own)."""


def lock_folder() -> Path:
    """The user's own folder of locks, made if absent; ``PermissionError`` if it is somebody
    else's (another user could otherwise make it and hold every lock)."""
    folder = Path(tempfile.gettempdir()) / f"tickerplant-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    held = folder.lstat()
    if not stat.S_ISDIR(held.st_mode) or held.st_uid != os.getuid() or held.st_mode & 0o077:
        raise PermissionError(f"{folder} is not a private folder of this user's: remove it")
    return folder


def _lock_path(folder: Path, database: Path) -> Path:
    """The lock file of ``database``, by the file it is (its device and inode), not its path."""
    found = database.stat()
    return folder / f"venue-{found.st_dev}-{found.st_ino}.lock"


def try_lock(path: Path) -> tuple[IO[str] | None, str]:
    """``path``'s lock (``flock``, exclusive), held: the open file, with this process's pid
    written in it; else None and the pid its holder wrote (a port's lock too: ``port_lock.py``)."""
    held = path.open("a+")  # opened without truncating: a holder's pid stays readable
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        held.seek(0)
        holder = held.read().strip() or "unknown"
        held.close()
        return None, holder
    held.seek(0)
    held.truncate()
    held.write(f"{os.getpid()}\n")
    held.flush()
    return held, str(os.getpid())


class WriterLock:
    """A venue database's lock, held until ``release`` or the process's end."""

    def __init__(self, held: IO[str] | None = None, path: Path | None = None) -> None:
        self._held, self._path = held, path

    def release(self) -> None:
        if self._held is None:
            return
        if self._path is not None:  # unlinked while held: no lock is taken on a file being removed
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
        self._held.close()
        self._held = None


def claim_database(database: Path, tries: int = 3) -> WriterLock:
    """Hold ``database``'s lock (the file exists); ``DatabaseHeld`` naming the pid that
    journals it."""
    if fcntl is None:
        return WriterLock()
    try:
        folder = lock_folder()
    except PermissionError as exc:
        raise DatabaseHeld(str(exc)) from None
    for _ in range(tries):
        path = _lock_path(folder, database)
        held, holder = try_lock(path)
        if held is None:
            raise DatabaseHeld(
                f"the venue database {database} is journaled by another tickerplant, pid {holder}: one "
                "server a database (stop that one, or give this one a --venue-db of its own)"
            )
        try:  # the file locked is still the one at its name, not one its last holder removed
            same = os.fstat(held.fileno()).st_ino == path.stat().st_ino
        except FileNotFoundError:
            same = False
        if same:
            return WriterLock(held, path)
        held.close()
    raise DatabaseHeld(f"the venue database {database}: its lock changed hands {tries} times; try again")


def journaled(database: Path) -> bool:
    """Whether a server journals ``database`` now, read without taking its lock (which a server
    starting at that moment would be refused): its lock file names a live process. A pid a
    process killed left behind and another took since reads as journaled: the operator's
    ``accounts delete`` then waits a second it need not (``AccountStore.delete``)."""
    if fcntl is None or not database.exists():
        return False
    try:
        pid = int(_lock_path(lock_folder(), database).read_text().strip() or "0")
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
