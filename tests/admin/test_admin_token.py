"""The admin listener's token (``--admin-token``, ``admin/guard.py``): required to listen
beyond loopback, then carried by every request, as a bearer token or the cookie the
dashboard is given once; over a real socket with aiohttp, and the rule without one."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest
from conftest import StartServer
from ports import free_port

from tickerplant.admin.guard import TOKEN_COOKIE, is_loopback, token_refusal
from tickerplant.admin.server import AdminServer, TokenRequired
from tickerplant.cli import ADMIN_TOKEN_VARIABLE, _parser, admin_token, build_config
from tickerplant.config import ServerConfig

TOKEN = "s3cret-admin-token"


@pytest.mark.parametrize(
    ("authorization", "cookie", "allowed"),
    [
        (f"Bearer {TOKEN}", None, True),
        (f"bearer {TOKEN}", None, True),
        (None, TOKEN, True),
        (None, None, False),
        ("Bearer wrong", None, False),
        (f"Basic {TOKEN}", None, False),
        (f"Bearer {TOKEN}x", None, False),
        (None, TOKEN[:-1], False),
    ],
)
def test_the_rule(authorization: str | None, cookie: str | None, allowed: bool) -> None:
    refused = token_refusal(TOKEN, authorization, cookie)
    assert (refused is None) == allowed
    assert token_refusal(None, None, None) is None  # no token set: nothing to carry
    if refused is not None:
        assert refused.status == 401


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.9", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("::", False), ("10.0.0.1", False), ("admin.example", False)],
)  # fmt: skip
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_beyond_loopback_without_a_token_is_not_a_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ADMIN_TOKEN_VARIABLE, raising=False)
    beyond = ["serve", "--admin-host", "0.0.0.0"]
    with pytest.raises(SystemExit, match="needs a token"):
        build_config(_parser().parse_args(beyond))
    assert build_config(_parser().parse_args([*beyond, "--admin-port", "0"])).admin_port == 0  # off
    toml = tmp_path / "tp.toml"
    toml.write_text(f'admin_host = "0.0.0.0"\nadmin_token = "{TOKEN}"\n')
    assert admin_token(build_config(_parser().parse_args(["serve", "--config", str(toml)]))).admin_token == TOKEN
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    with_file = build_config(_parser().parse_args([*beyond, "--admin-token-file", str(token_file)]))
    assert with_file.admin_token == "" and admin_token(with_file).admin_token == TOKEN  # read to serve
    monkeypatch.setenv(ADMIN_TOKEN_VARIABLE, "from-the-environment")
    assert admin_token(build_config(_parser().parse_args(beyond))).admin_token == "from-the-environment"
    assert ServerConfig(admin_host="0.0.0.0").admin_token == ""  # a program's config: start() refuses


async def test_an_admin_listener_beyond_loopback_will_not_start_without_a_token(start_server: StartServer) -> None:
    server = await start_server()
    with pytest.raises(TokenRequired):
        await AdminServer(server).start("0.0.0.0", 0)


async def test_every_request_carries_the_token(start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tickerplant.admin"):
        server = await start_server(admin_port=free_port(), admin_host="0.0.0.0", admin_token=TOKEN)
    assert any("reachable beyond this machine" in r.getMessage() for r in caplog.records)
    base = server.admin_url()
    assert base is not None
    base = base.replace("0.0.0.0", "127.0.0.1")
    json_post = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        # without it, or with another: 401, for every path and method
        for method, path in (("GET", "/"), ("GET", "/api/status"), ("GET", "/metrics"),
                             ("GET", "/static/overview.js"), ("POST", "/api/replay/pause")):  # fmt: skip
            for headers in ({}, {"Authorization": "Bearer nope"}):
                async with session.request(method, base + path, headers={**json_post, **headers}, data=b"{}") as r:
                    assert r.status == 401, (method, path, headers)
                    assert r.headers["WWW-Authenticate"].startswith("Bearer")
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with session.get(base + "/api/status", headers=bearer) as r:
            assert r.status == 200 and isinstance(await r.json(), dict)
        async with session.get(base + "/metrics", headers=bearer) as r:
            assert r.status == 200 and "tickerplant_" in await r.text()
        async with session.post(base + "/api/replay/pause", headers={**bearer, **json_post}, data=b"{}") as r:
            assert r.status == 409  # past the guard: not replaying
        # the probe's cross-site write, token or not: refused before it is read
        probe = {**bearer, "Content-Type": "text/plain", "Origin": "http://evil.example"}
        async with session.post(base + "/api/replay/speed", headers=probe, data=b'{"speed":100}') as r:
            assert r.status == 403
    # a browser: /?token=… once, then its cookie (HttpOnly, SameSite=Strict) carries it
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(base + "/?token=wrong", allow_redirects=False) as r:
            assert r.status == 401
        async with browser.get(base + f"/?token={TOKEN}", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/"
            cookie = r.headers["Set-Cookie"]
            assert cookie.startswith(f"{TOKEN_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with browser.get(base + "/") as r:
            assert r.status == 200 and "<html" in (await r.text()).lower()
        async with browser.get(base + "/api/status") as r:
            assert r.status == 200
