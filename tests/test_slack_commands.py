"""``/papers`` over real HTTP (signed like Slack signs) and over a fake Socket
Mode connection, with a stand-in core; the Web API is the loopback fake."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from paperpost.adapters.slack import SlackPlatform, SlackRuntime, start_slack
from paperpost.adapters.slack.slash_commands import INVITE_HINT
from paperpost.bot.channels.grammar import Command
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.replies import Reply
from paperpost.bot.config import Config
from paperpost.bot.errors import UserError
from paperpost.bot.papers.model import papers_from_hf_day
from tests.fakes.hf_server import load_day
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    action_body,
    block_kit_problems,
    form_body,
    share_click,
    sign,
    slash_command,
)
from tests.fakes.slack_socket import FakeSocketServer

CHANNEL = ChannelKey("slack", "T0TEST", "C0DIGEST1")
DAY = date(2026, 5, 12)
PAPERS = tuple(papers_from_hf_day(load_day(DAY), requested_day=DAY)[:3])


class FakeCore:
    """Answers like the core would; records what it was asked."""

    def __init__(self, answer: Callable[[str], Reply] | None = None) -> None:
        self.calls: list[tuple[ChannelKey, str, str | None]] = []
        self.platforms: list[Any] = []
        self.answer = answer or self.default
        self.presses: Any = None  # no 👍/🔖 presses in these tests

    @staticmethod
    def default(text: str) -> Reply:
        word = text.split()[0] if text.split() else "help"
        if word == "search":
            return Reply(f"3 papers match “{text[7:]}”", papers=PAPERS, shareable=True)
        if word == "subscribe":
            return Reply(
                f"Subscribed. Preview with /papers search {text[10:]}",
                announcement=f"subscribed this channel to “{text[10:]}”",
                command="subscribe",
                changed_channel=True,
            )
        return Reply("/papers search QUERY        search every paper seen")

    def register_platform(self, platform: Any) -> None:
        self.platforms.append(platform)

    async def handle(
        self, channel: ChannelKey, text: str, *, user: str | None = None, name: str | None = None
    ) -> Reply:
        self.calls.append((channel, text, user))
        return self.answer(text)

    async def execute(
        self, channel: ChannelKey, command: Command, *, user: str | None = None,
        name: str | None = None,
    ) -> Reply:  # fmt: skip
        return await self.handle(channel, f"{command.name} {command.arg}".strip(), user=user)


def config(api: FakeSlackAPI, tmp_path: Path, **changes: Any) -> Config:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": api.url,
        "host": "127.0.0.1",
        "port": 0,
    }
    return Config(**(values | changes))


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
async def slack(api: FakeSlackAPI, core: FakeCore, tmp_path: Path) -> AsyncIterator[SlackRuntime]:
    runtime = await start_slack(core, config(api, tmp_path))
    yield runtime
    await runtime.stop()


async def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.text()


async def command(slack: SlackRuntime, api: FakeSlackAPI, text: str, **fields: str) -> None:
    body = form_body(slash_command(text, response_url=api.response_url(), **fields))
    status, answer = await post(slack.url or "", body, sign(body))
    assert (status, answer) == (200, "")  # acknowledged, empty: the answer comes later


# -- start-up ------------------------------------------------------------------------
async def test_http_mode_listens_where_told_and_registers_the_platform(
    slack: SlackRuntime, core: FakeCore
):
    assert slack.mode == "http"
    assert slack.url and slack.url.startswith("http://127.0.0.1:")
    assert slack.url.endswith("/slack/events")
    assert [type(p) for p in core.platforms] == [SlackPlatform]


async def test_start_up_refuses_an_incomplete_configuration(api: FakeSlackAPI, tmp_path: Path):
    with pytest.raises(UserError, match="SLACK_APP_TOKEN"):
        await start_slack(FakeCore(), config(api, tmp_path, slack_signing_secret=None))
    with pytest.raises(UserError, match="invalid_auth"):
        await start_slack(FakeCore(), config(api, tmp_path, slack_bot_token="xoxb-wrong"))


async def test_extra_routes_live_next_to_slacks(api: FakeSlackAPI, tmp_path: Path):
    web_app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app.router.add_get("/healthz", healthz)
    runtime = await start_slack(FakeCore(), config(api, tmp_path), web_app=web_app)
    try:
        base = (runtime.url or "").removesuffix("/slack/events")
        async with aiohttp.ClientSession() as http, http.get(base + "/healthz") as r:
            assert (r.status, await r.text()) == (200, "ok")
    finally:
        await runtime.stop()


# -- signatures ----------------------------------------------------------------------
async def test_a_forged_signature_gets_401(slack: SlackRuntime, api: FakeSlackAPI, core: FakeCore):
    body = form_body(slash_command("search agents", response_url=api.response_url()))
    status, _ = await post(slack.url or "", body, sign(body, secret="not-the-secret"))
    assert status == 401
    tampered = body.replace("agents", "robots")
    status, _ = await post(slack.url or "", tampered, sign(body))
    assert status == 401
    assert core.calls == []


async def test_a_six_minute_old_request_gets_401(
    slack: SlackRuntime, api: FakeSlackAPI, core: FakeCore
):
    body = form_body(slash_command("search agents", response_url=api.response_url()))
    status, _ = await post(slack.url or "", body, sign(body, timestamp=int(time.time()) - 360))
    assert status == 401 and core.calls == []


# -- answers -------------------------------------------------------------------------
async def test_answers_share_one_connection(slack: SlackRuntime, api: FakeSlackAPI):
    # Defect caught: Bolt's respond opens a new HTTP session per answer (a new TCP and
    # TLS connection to Slack each time): 50 concurrent searches waited on connects.
    for n, text in enumerate(("search agents", "search robots", "search diffusion")):
        await command(slack, api, text)
        await api.wait_for(lambda n=n: len(api.responses) > n)
    assert len(set(api.response_peers)) == 1


async def test_search_is_answered_ephemerally_with_a_share_button(
    slack: SlackRuntime, api: FakeSlackAPI, core: FakeCore
):
    await command(slack, api, "search agents")
    await api.wait_for(lambda: api.responses)
    [response] = api.responses
    assert core.calls == [(CHANNEL, "search agents", "U0ANA0001")]
    assert response["response_type"] == "ephemeral"
    assert block_kit_problems(response["blocks"]) == []
    button = response["blocks"][-1]["elements"][0]
    assert (button["action_id"], button["value"]) == ("paperpost_share", "search agents")
    assert api.posts == []  # nothing public


async def test_share_reposts_the_result_in_the_channel(
    slack: SlackRuntime, api: FakeSlackAPI, core: FakeCore
):
    body = action_body(share_click("search agents", response_url=api.response_url("share")))
    status, _ = await post(slack.url or "", body, sign(body))
    assert status == 200
    await api.wait_for(lambda: api.responses)
    [shared] = api.responses
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert "<@U0ANA0001> shared `/papers search agents`" in json.dumps(shared["blocks"])
    # No Share button any more: each paper's 👍/🔖 buttons instead
    actions = [b for b in shared["blocks"] if b["type"] == "actions"]
    assert [b["block_id"] for b in actions] == [f"paperpost_votes:{p.id}" for p in PAPERS]
    assert core.calls == [(CHANNEL, "search agents", "U0ANA0001")]


async def test_share_refuses_to_rerun_a_command_that_changes_things(
    slack: SlackRuntime, api: FakeSlackAPI, core: FakeCore
):
    body = action_body(share_click("unsubscribe all", response_url=api.response_url("share")))
    status, _ = await post(slack.url or "", body, sign(body))
    assert status == 200 and core.calls == []


async def test_subscribe_is_announced_in_the_channel(
    slack: SlackRuntime, api: FakeSlackAPI, core: FakeCore
):
    await command(slack, api, "subscribe <!channel> agents")
    await api.wait_for(lambda: api.responses)
    [announcement] = api.posts
    assert announcement.channel == "C0DIGEST1"
    assert announcement.text == "<@U0ANA0001> subscribed this channel to “&lt;!channel&gt; agents”"
    assert INVITE_HINT not in json.dumps(api.responses)


async def test_subscribe_where_the_bot_is_not_a_member_says_how_to_invite_it(
    slack: SlackRuntime, api: FakeSlackAPI, core: FakeCore
):
    api.not_member("C0DIGEST1")
    await command(slack, api, "subscribe agents")
    await api.wait_for(lambda: len(api.responses) == 2)
    public, private = api.responses  # the announcement went through the response_url
    assert public["response_type"] == "in_channel"
    assert public["text"].startswith("<@U0ANA0001> subscribed")
    assert private["response_type"] == "ephemeral"
    assert INVITE_HINT in json.dumps(private)
    assert api.posts == []


async def test_help_is_a_plain_ephemeral_answer(
    slack: SlackRuntime, api: FakeSlackAPI, core: FakeCore
):
    await command(slack, api, "")
    await api.wait_for(lambda: api.responses)
    [response] = api.responses
    assert response["response_type"] == "ephemeral"
    assert all(b["type"] != "actions" for b in response["blocks"])


# -- Socket Mode ---------------------------------------------------------------------
async def test_socket_mode_acks_the_envelope_then_answers(
    api: FakeSlackAPI, core: FakeCore, tmp_path: Path
):
    async with FakeSocketServer() as sock:
        sock.attach(api)
        cfg = config(api, tmp_path, slack_app_token=APP_TOKEN, slack_signing_secret=None)
        runtime = await start_slack(core, cfg)
        try:
            assert runtime.mode == "socket" and runtime.url is None
            await sock.connected()
            payload = slash_command("search agents", response_url=api.response_url())
            envelope_id = await sock.send_envelope("slash_commands", payload)
            ack = await sock.ack(envelope_id)
            assert ack["envelope_id"] == envelope_id
            await api.wait_for(lambda: api.responses)
            assert core.calls == [(CHANNEL, "search agents", "U0ANA0001")]
            assert api.responses[0]["response_type"] == "ephemeral"
        finally:
            await runtime.stop()
