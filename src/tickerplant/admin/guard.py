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
  cross-site without a preflight the listener never grants: else 415;
- with a token (``--admin-token``, which a listener beyond loopback must have), every
  request carries it: ``Authorization: Bearer <token>``, or the cookie a browser is given
  when it opens the dashboard once as ``/?token=<token>`` (HttpOnly, SameSite=Strict: no
  other site's page can send it): else 401. Compared in constant time.

Sans-I/O: the shell (``admin/server.py``) passes the request's parts and writes the answer.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import NamedTuple

__all__ = [
    "TOKEN_COOKIE", "Refused", "TokenRequired", "check_token", "is_loopback", "refusal", "token_matches",
    "token_refusal",
]  # fmt: skip

TOKEN_COOKIE = "tickerplant_admin"

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


def is_loopback(host: str) -> bool:
    """Whether an admin listener bound to ``host`` is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TokenRequired(ValueError):
    """An admin listener beyond loopback without a token: anyone who reaches it could drive
    the server."""


def check_token(host: str, token: str | None) -> None:
    """``TokenRequired`` for an admin listener on ``host`` beyond loopback without a token:
    asked before a server starts anything (its ports, its source's warm start), as well as
    by the listener itself."""
    if not token and not is_loopback(host):
        raise TokenRequired(
            f"the admin listener on {host} needs a token (admin_token in the config file, or "
            "--admin-token-file): it drives the server, and anyone who reaches it could drive it"
        )


def token_matches(token: str, offered: str | None) -> bool:
    return offered is not None and hmac.compare_digest(offered.encode(), token.encode())


def token_refusal(token: str | None, authorization: str | None, cookie: str | None) -> Refused | None:
    """Why a request is refused for want of the listener's ``token`` (None: no token set,
    or the request carries it)."""
    if token is None:
        return None
    scheme, _, offered = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token_matches(token, offered.strip()):
        return None
    if token_matches(token, cookie):
        return None
    return Refused(
        401, "the admin listener takes requests that carry its token: Authorization: Bearer <token>, "
        "or open /?token=<token> once in a browser",
    )  # fmt: skip
