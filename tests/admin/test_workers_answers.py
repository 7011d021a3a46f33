"""The admin listener of ``serve --workers N`` when its children do not answer (the
supervisor's ``WorkersAnswers`` over a real socket): the scrape and the status still
answer, saying who is down; the replay controls are 503 while the plant is away. And the
split processes' admin settings: off unless asked for."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from ports import free_port
from prometheus_client.parser import text_string_to_metric_families

from tickerplant.admin.server import AdminServer
from tickerplant.admin.workers import Worker, WorkersAnswers
from tickerplant.cli import _parser, admin_token, build_config

pytestmark = pytest.mark.loopback


@pytest.fixture
async def admin() -> AsyncIterator[str]:
    nobody = [
        Worker("plant", f"http://127.0.0.1:{free_port()}"),
        Worker("gateway", f"http://127.0.0.1:{free_port()}"),
    ]
    answers = WorkersAnswers(lambda: nobody)
    server = AdminServer(answers)
    await server.start("127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.port}"
    await server.close()
    await answers.close()


async def _request(method: str, url: str) -> tuple[int, str]:
    body = {} if method == "POST" else None  # the admin takes JSON POSTs only
    async with aiohttp.ClientSession() as session, session.request(method, url, json=body) as response:
        return response.status, await response.text()


async def test_children_that_do_not_answer_leave_the_scrape_and_status_whole(admin: str) -> None:
    code, text = await _request("GET", f"{admin}/metrics")
    assert code == 200
    samples = {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples["tickerplant_workers", ("gateway",)] == 1
    assert samples["tickerplant_workers_up", ("gateway",)] == 0
    assert samples["tickerplant_workers_up", ("plant",)] == 0
    code, text = await _request("GET", f"{admin}/api/status")
    status = json.loads(text)
    assert code == 200 and status["listeners"] == {} and status["replay"] is None
    assert [(worker["role"], worker["up"]) for worker in status["workers"]] == [
        ("plant", False),
        ("gateway", False),
    ]


async def test_the_replay_controls_are_503_while_the_plant_is_away(admin: str) -> None:
    code, text = await _request("POST", f"{admin}/api/replay/pause")
    assert code == 503 and "the plant did not answer" in json.loads(text)["msg"]


@pytest.mark.parametrize("command", ["plant", "gateway"])
def test_a_split_process_serves_an_admin_listener_only_when_asked(command: str, tmp_path: Path) -> None:
    assert build_config(_parser().parse_args([command])).admin_port == 0
    beyond = [command, "--admin-port", "9100", "--admin-host", "0.0.0.0"]
    with pytest.raises(SystemExit, match="needs a token"):  # beyond loopback: a token, or no start
        build_config(_parser().parse_args(beyond))
    token = tmp_path / "admin-token"
    token.write_text("s3cret\n")
    asked = admin_token(build_config(_parser().parse_args([*beyond, "--admin-token-file", str(token)])))
    assert (asked.admin_host, asked.admin_port, asked.admin_token) == ("0.0.0.0", 9100, "s3cret")
    assert build_config(_parser().parse_args(["serve"])).admin_port == 8767
