"""The real core behind the Slack adapter: signed slash commands over HTTP,
then the core's digest posting through the loopback fake Web API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from paperpost.adapters.slack import SlackRuntime, start_slack
from paperpost.adapters.slack.delivery import EVENT_TYPE
from paperpost.bot.app import Paperpost
from paperpost.bot.config import Config
from paperpost.bot.delivery.outbox import Outcome
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.conftest import Sleeps
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    Fault,
    block_kit_problems,
    form_body,
    sign,
    slash_command,
)

DAY = date(2026, 8, 21)  # the bundled snapshot's last day


@pytest.fixture
def outbox_sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def core(tmp_path: Path, outbox_sleeps: Sleeps) -> AsyncIterator[Paperpost]:
    paperpost = await Paperpost.open(
        Config(data_dir=tmp_path / "data"), source=BundledSnapshot(), outbox_sleep=outbox_sleeps
    )
    yield paperpost
    paperpost.close()


@pytest.fixture
async def slack(api: FakeSlackAPI, core: Paperpost, tmp_path: Path) -> AsyncIterator[SlackRuntime]:
    config = Config(
        data_dir=tmp_path / "data",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api.url,
        port=0,
    )
    runtime = await start_slack(core, config)
    yield runtime
    await runtime.stop()


async def papers(slack: SlackRuntime, api: FakeSlackAPI, text: str) -> dict[str, Any]:
    """Send a signed ``/papers text`` and return what came back at its response_url."""
    key = f"r{len(api.responses)}"
    body = form_body(slash_command(text, response_url=api.response_url(key)))
    async with (
        aiohttp.ClientSession() as http,
        http.post(slack.url or "", data=body, headers=sign(body)) as response,
    ):
        assert response.status == 200
    await api.wait_for(lambda: any(r["key"] == key for r in api.responses))
    return next(r for r in api.responses if r["key"] == key and r["response_type"] == "ephemeral")


def digest_posts(api: FakeSlackAPI) -> list[Any]:
    return [p for p in api.posts if p.metadata and p.metadata["event_type"] == EVENT_TYPE]


async def test_search_answers_at_the_response_url(slack: SlackRuntime, api: FakeSlackAPI):
    answer = await papers(slack, api, "search agents")
    assert block_kit_problems(answer["blocks"]) == []
    sections = [b for b in answer["blocks"] if b["type"] == "section"]
    assert any("huggingface.co/papers/" in b["text"]["text"] for b in sections)
    assert answer["blocks"][-1]["elements"][0]["value"] == "search agents"


async def test_subscribe_then_the_digest_is_posted_exactly_once(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
):
    answer = await papers(slack, api, "subscribe agents")
    assert "agents" in json.dumps(answer)
    [announcement] = api.posts
    assert announcement.text.startswith("<@U0ANA0001> subscribed this channel to")

    deliveries = await core.post_digests(day=DAY)
    assert [d.outcome for d in deliveries] == [Outcome.SENT]
    [digest] = digest_posts(api)
    assert digest.channel == "C0DIGEST1"
    assert block_kit_problems(digest.blocks) == []
    assert digest.metadata["event_payload"]["parts"] == 1
    assert "agents" in json.dumps(digest.blocks)

    again = await core.post_digests(day=DAY)
    assert [d.outcome for d in again] == [Outcome.ALREADY_SENT]
    assert len(digest_posts(api)) == 1


async def test_a_rate_limited_digest_waits_and_is_posted_once(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost, outbox_sleeps: Sleeps
):
    await papers(slack, api, "subscribe agents")
    api.fail("chat.postMessage", Fault.rate_limited(retry_after=900))  # too long to wait inline
    deliveries = await core.post_digests(day=DAY)
    assert [d.outcome for d in deliveries] == [Outcome.SENT]
    # The outbox waited Retry-After, capped at its longest backoff (120 s), then resumed.
    assert outbox_sleeps.waits == [120.0]
    assert len(digest_posts(api)) == 1


async def test_a_channel_the_bot_left_is_paused_not_retried(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
):
    await papers(slack, api, "subscribe agents")
    api.missing("C0DIGEST1")
    deliveries = await core.post_digests(day=DAY)
    assert [d.outcome for d in deliveries] == [Outcome.PAUSED]
    assert len(api.calls_of("chat.postMessage")) == 2  # the announcement, one refused try
