"""A connection as the front door sees it, recording what is done to it: the bytes written,
reading paused and resumed, a close (the front door's tests)."""

from __future__ import annotations

import asyncio

__all__ = ["Recorded"]


class Recorded(asyncio.Transport):
    """What the front door does to its connection: bytes written, reading paused."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.calls: list[str] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def writelines(self, list_of_data: object) -> None:
        for data in list_of_data:  # type: ignore[attr-defined]
            self.written += data

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if name == "peername" else default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        self.calls.append("close")
