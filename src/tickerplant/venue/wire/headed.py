"""An endpoint's answer with header lines of its own: an order's counts
(``X-MBX-ORDER-COUNT-10S``/``-1M``, trading part 1 §7.4), which ``rest.PrivateRest`` writes."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Headed"]

_LINES: dict[str, bytes] = {}  # a header's name -> its line's format (a few names, made once)


class Headed(NamedTuple):
    value: Any
    headers: list[tuple[str, int]]

    def header_lines(self) -> bytes:
        """The headers as HTTP field lines, each ending CRLF."""
        made = []
        for name, value in self.headers:
            line = _LINES.get(name)
            if line is None:
                line = _LINES[name] = b"%b: %%d\r\n" % name.encode()
            made.append(line % value)
        return b"".join(made)
