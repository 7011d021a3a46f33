"""A pickle that runs something when it is loaded, as a forged state or frame on the bus
would: it writes a marker file. A test that hands it to tickerplant checks that the file
never appears (nothing on the bus is unpickled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["Ran"]


class Ran:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "ran"))  # type: ignore[return-value]
