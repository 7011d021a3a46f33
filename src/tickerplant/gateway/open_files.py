"""The open-file limit every connection counts against.

Each connection holds a file descriptor, and many systems start a process with a soft
limit of 1,024 while allowing far more: a server left at that soft limit turns away its
1,000-and-somethingth client with a reset. So the server raises its soft limit to the
hard limit when it starts, and says the figure in its log.
"""

from __future__ import annotations

import logging
import resource

__all__ = ["raise_open_files_limit"]

log = logging.getLogger("tickerplant")

_LINUX_NR_OPEN = 1_048_576  # the kernel's usual ceiling when the hard limit says "unlimited"


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one (as far as the system allows) and log
    it; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _LINUX_NR_OPEN if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as exc:
            log.warning("open files: could not raise the limit from %d to %d: %s", soft, wanted, exc)
        else:
            soft = wanted
    log.info("open files: at most %s (the soft limit, hard limit %s)", _text(soft), _text(hard))
    return soft


def _text(limit: int) -> str:
    return "unlimited" if limit == resource.RLIM_INFINITY else f"{limit:,}"
