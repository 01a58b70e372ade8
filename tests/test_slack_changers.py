"""PAPERPOST_SLACK_CHANGERS: who may change a Slack channel's digest. Signed
slash commands over HTTP to the real core; users.info and
usergroups.users.list from the loopback fake Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from paperpost.adapters.slack import SlackRuntime, build_client, start_slack
from paperpost.adapters.slack.changers import ChangerCheck
from paperpost.bot.app import Paperpost
from paperpost.bot.config import Config, ConfigError, SlackChangers
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM_ID,
    FakeSlackAPI,
    block_kit_problems,
    form_body,
    sign,
    slash_command,
)

ANA = "U0ANA0001"  # the payload's own user: an ordinary member
ADMIN, OWNER, LISTED, IN_GROUP = "U0ADMIN01", "U0OWNER01", "U0LISTED1", "U0INGRP01"
GROUP = "S0EDITORS"


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Paperpost]:
    paperpost = await Paperpost.open(Config(data_dir=tmp_path / "data"), source=BundledSnapshot())
    yield paperpost
    paperpost.close()


def people(api: FakeSlackAPI) -> None:
    api.users |= {ANA: {}, ADMIN: {"is_admin": True}, OWNER: {"is_primary_owner": True}}
    api.users |= {LISTED: {}, IN_GROUP: {}}
    api.usergroups[GROUP] = [IN_GROUP, "U0SOMEONE"]


async def started(
    api: FakeSlackAPI, core: Paperpost, tmp_path: Path, changers: str
) -> SlackRuntime:
    people(api)
    config = Config.from_env(
        {
            "PAPERPOST_DATA_DIR": str(tmp_path / "data"),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api.url,
            "PORT": "0",
            "PAPERPOST_SLACK_CHANGERS": changers,
        }
    )
    return await start_slack(core, config)


@pytest.fixture
async def admins_only(
    api: FakeSlackAPI, core: Paperpost, tmp_path: Path
) -> AsyncIterator[SlackRuntime]:
    runtime = await started(api, core, tmp_path, "admins")
    yield runtime
    await runtime.stop()


@pytest.fixture
async def listed(api: FakeSlackAPI, core: Paperpost, tmp_path: Path) -> AsyncIterator[SlackRuntime]:
    runtime = await started(api, core, tmp_path, f" {LISTED}, {GROUP} ")
    yield runtime
    await runtime.stop()


async def papers(slack: SlackRuntime, api: FakeSlackAPI, text: str, user: str) -> dict[str, Any]:
    key = f"r{len(api.responses)}"
    payload = slash_command(text, response_url=api.response_url(key), user_id=user)
    body = form_body(payload)
    async with (
        aiohttp.ClientSession() as http,
        http.post(slack.url or "", data=body, headers=sign(body)) as response,
    ):
        assert response.status == 200
    await api.wait_for(lambda: any(r["key"] == key for r in api.responses))
    return next(r for r in api.responses if r["key"] == key and r["response_type"] == "ephemeral")


def subscriptions(core: Paperpost) -> list[str]:
    return [q for _key, s in core.channel_list() for q in s.subscriptions]


async def test_admins_only_refuses_a_member_and_changes_nothing(
    admins_only: SlackRuntime, api: FakeSlackAPI, core: Paperpost
):
    for text in ("subscribe agents", "set time 08:30", "pause", "unsubscribe all"):
        answer = await papers(admins_only, api, text, ANA)
        assert "Only this workspace's admins and owners may change" in answer["text"]
        assert "\n" not in answer["text"]  # one line
        assert block_kit_problems(answer["blocks"]) == []
    assert subscriptions(core) == [] and core.channel_list() == []
    assert api.posts == []  # no announcement either
    # reading is for everyone
    answer = await papers(admins_only, api, "search agents", ANA)
    assert "Only" not in answer["text"]


async def test_admins_and_owners_may_change_the_channel(
    admins_only: SlackRuntime, api: FakeSlackAPI, core: Paperpost
):
    await papers(admins_only, api, "subscribe agents", ADMIN)
    await papers(admins_only, api, "subscribe robots", OWNER)
    assert subscriptions(core) == ["agents", "robots"]


async def test_listed_users_and_group_members_may_change_others_may_not(
    listed: SlackRuntime, api: FakeSlackAPI, core: Paperpost
):
    await papers(listed, api, "subscribe agents", LISTED)
    await papers(listed, api, "subscribe robots", IN_GROUP)
    refused = await papers(listed, api, "subscribe diffusion", ADMIN)  # admins are not listed
    assert f"<@{LISTED}>" in refused["blocks"][0]["text"]["text"]
    assert f"<!subteam^{GROUP}>" in refused["blocks"][0]["text"]["text"]
    assert subscriptions(core) == ["agents", "robots"]
    assert api.calls_of("users.info") == []  # admins are not asked about


async def test_answers_are_cached_per_user_for_ten_minutes(api: FakeSlackAPI):
    people(api)
    now = [0.0]
    policy = SlackChangers(anyone=False, admins=True, groups=frozenset({GROUP}))
    check = ChangerCheck(policy, build_client(BOT_TOKEN, base_url=api.url), clock=lambda: now[0])
    assert await check.allows(TEAM_ID, ADMIN) and not await check.allows(TEAM_ID, ANA)
    assert await check.allows(TEAM_ID, IN_GROUP)
    for _ in range(5):
        assert await check.allows(TEAM_ID, ADMIN) and not await check.allows(TEAM_ID, ANA)
    assert len(api.calls_of("users.info")) == 2
    assert len(api.calls_of("usergroups.users.list")) == 1
    now[0] = 601.0
    api.users[ANA] = {"is_owner": True}  # promoted: seen once the cache expires
    assert await check.allows(TEAM_ID, ANA)
    assert len(api.calls_of("users.info")) == 3


async def test_a_failed_lookup_refuses_and_is_not_cached(api: FakeSlackAPI):
    people(api)
    api.revoke("users:read")
    check = ChangerCheck(
        SlackChangers(anyone=False, admins=True), build_client(BOT_TOKEN, base_url=api.url)
    )
    assert not await check.allows(TEAM_ID, ADMIN)
    api.scopes.add("users:read")
    assert await check.allows(TEAM_ID, ADMIN)


def test_the_setting_parses_or_names_itself():
    def parse(value: str) -> SlackChangers:
        return Config.from_env({"PAPERPOST_SLACK_CHANGERS": value}).slack_changers

    assert parse("anyone") == SlackChangers() == Config.from_env({}).slack_changers
    assert parse("Admins") == SlackChangers(anyone=False, admins=True)
    assert parse("U0A1,S0B2, admins") == SlackChangers(
        False, True, frozenset({"U0A1"}), frozenset({"S0B2"})
    )
    for bad in ("everyone", "anyone,admins", "@ana", "C0CHANNEL", ","):
        with pytest.raises(ConfigError, match="PAPERPOST_SLACK_CHANGERS"):
            parse(bad)
