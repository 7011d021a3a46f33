"""Which admin requests are refused before they reach a handler: writes from other sites, and
requests for another host (DNS rebinding).

The admin listener changes the server's state (the replay's pause, resume and speed). A web
page the operator opens elsewhere can make the browser send it requests: a "simple" POST
(``text/plain``, no preflight) is sent cross-site without asking, and a page on a domain the
attacker points at 127.0.0.1 (DNS rebinding) is same-origin with it. So:

- every request must name this listener as its ``Host``: a loopback name (``localhost``,
  ``127.0.0.1``, ``[::1]``) or the address it was bound to, with its port; on a wildcard
  address (``0.0.0.0``, ``::``) any IP literal, never a domain name it could be rebound to
  (reach a wildcard-bound listener by its address): else 403;
- a request that says where it comes from (``Origin``, which browsers send with every POST
  and every cross-origin request) must come from this listener's own origin: else 403;
- a request that changes state is a POST of ``application/json``, a type no page can send
  cross-site without a preflight the listener never grants: else 415.

Sans-I/O: the shell (``admin/server.py``) passes the request's parts and writes the answer.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

__all__ = ["Refused", "refusal"]

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_WILDCARDS = {"0.0.0.0", "::", ""}


class Refused(NamedTuple):
    status: int
    msg: str


def _host_and_port(host: str) -> tuple[str, str]:
    """``host``'s name (brackets of an IPv6 literal dropped) and port text."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest.removeprefix(":")
    name, _, port = host.rpartition(":")
    return (name, port) if name else (port, "")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def refusal(
    method: str, host: str | None, origin: str | None, content_type: str, bound_host: str, port: int
) -> Refused | None:
    """Why the admin listener bound to ``bound_host``:``port`` refuses a request, or None."""
    name, host_port = _host_and_port(host or "")
    if host_port != str(port) or not (
        name.lower() in _LOOPBACK_NAMES or name == bound_host or (bound_host in _WILDCARDS and _is_ip(name))
    ):
        return Refused(403, f"Host {host!r} is not this admin listener")
    if origin is not None and origin != f"http://{host}":
        return Refused(403, f"a request from {origin!r} is refused: the admin listener takes its own only")
    if method == "POST" and content_type != "application/json":
        return Refused(415, "a POST to the admin listener is application/json")
    return None
