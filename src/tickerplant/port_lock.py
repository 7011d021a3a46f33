"""Which tickerplant serves a listener port: a lock per port, so that a second ``serve``
refuses to start beside a live one and says which process to stop.

``SO_REUSEPORT`` lets every process of one user bind a port another of its processes
listens on: it is how ``serve --workers N``'s gateways share theirs, and so a second
``serve --workers N`` on the same ports would start without complaint and take a share of
the first one's connections. So ``serve`` holds, for as long as it runs, an exclusive lock
(``flock``) on a file per listener port, ``port-<port>.lock`` in a folder of the user's own
(``$TMPDIR/tickerplant-<uid>``, mode 0700), which says its pid; a ``serve`` that cannot
take the lock raises ``PortHeld`` naming that pid. The kernel releases the lock with the
process, however it ends (``kill -9`` included), so a file left behind never blocks
anyone, and the children of a ``serve`` that was killed stop on their lifeline
(``scaleout/lifeline.py``) rather than hold the ports.

Why a lock rather than a probe of the port: a connection to it tells that something
listens, not which process, nor whether it is a tickerplant; the lock names the process.
The lock is keyed by port alone, not by address: two tickerplants on one port of two
addresses of one host are refused too, where the kernel would have let them share.
Systems without ``fcntl`` (Windows) take no lock; their ``SO_REUSEPORT`` does not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None  # type: ignore[assignment]

from tickerplant.venue.journal.writer_lock import lock_folder, try_lock

__all__ = ["PortHeld", "PortLocks"]


class PortHeld(RuntimeError):
    pass


def _folder() -> Path:
    """The user's own folder of locks (``lock_folder``, the venue databases' too); ``PortHeld``
    if it is somebody else's."""
    try:
        return lock_folder()
    except PermissionError as exc:
        raise PortHeld(str(exc)) from None


class PortLocks:
    """The ports this process claimed, held until ``release`` or its end."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        self._held: list[IO[str]] = []

    def claim(self, port: int, what: str = "") -> None:
        """Hold ``port``'s lock (0: a port the OS chooses, nobody else's: none);
        ``PortHeld`` naming the pid that holds it."""
        if not port or fcntl is None:
            return
        folder = self._folder or _folder()
        held, holder = try_lock(folder / f"port-{port}.lock")
        if held is None:
            raise PortHeld(
                f"port {port}{f' ({what})' if what else ''} is served by another tickerplant, pid {holder}: "
                "stop it first (SO_REUSEPORT would let both serve it, each a share of the connections)"
            )
        self._held.append(held)

    def release(self) -> None:
        for held in self._held:
            held.close()  # the lock goes with the descriptor
        self._held.clear()
