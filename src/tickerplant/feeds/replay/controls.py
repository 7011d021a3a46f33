"""The admin listener's replay controls (``admin/server.py``'s ``/api/replay/…``), one home
for the server in one process (``app.py``) and for the plant under ``--workers``
(``scaleout/plant_admin.py``): None, which the admin answers 409, when the source is no
replay or one that has finished."""

from __future__ import annotations

from typing import Any

from tickerplant.feeds.replay.player import ReplaySource

__all__ = ["control", "set_speed"]


def control(source: object, action: str) -> dict[str, Any] | None:
    """The admin's ``pause`` or ``resume`` of ``source``: its status after, or None when it is
    no replay or one that has finished (nothing left to pause or play: 409)."""
    if not isinstance(source, ReplaySource) or source.state == "finished":
        return None
    if action == "pause":
        source.pause()
    elif action == "resume":
        source.resume()
    else:
        raise ValueError(f"unknown replay control {action!r}")
    return source.status()


def set_speed(source: object, speed: float | None) -> dict[str, Any] | None:
    """The admin's speed for ``source`` (None: as fast as it goes): its status after, or None
    as ``control``'s. A speed outside ``clock.SPEEDS`` raises ValueError."""
    if not isinstance(source, ReplaySource) or source.state == "finished":
        return None
    source.set_speed(speed)
    return source.status()
