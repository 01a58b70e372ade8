"""``post``: a channel's next digest now, through the ledger and claims; again, nothing.
On the console (the core with a recording platform) and on Slack (a signed request
through the loopback fake); Discord's is in tests/test_discord_gateway.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperpost.adapters.slack import SlackRuntime, start_slack
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL
from paperpost.bot.config import Config
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.conftest import FakeClock, RecordingPlatform, no_sleep
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI
from tests.postgres import both_backends
from tests.test_slack_end_to_end import digest_posts, papers

FRIDAY = date(2026, 8, 21)  # the latest complete featured day on Monday 24 August


@both_backends
async def test_post_puts_the_latest_complete_day_in_a_fresh_channel_once(
    core: Paperpost, platform: RecordingPlatform
) -> None:
    reply = await core.handle(CONSOLE_CHANNEL, "post")
    assert not reply.is_error and reply.command == "post"
    assert reply.text.startswith("Posted this channel's digest: 5 papers, newest featured day Fri")
    [digest] = platform.posted
    assert (digest.day, len(digest.entries)) == (FRIDAY, 5)

    again = await core.handle(CONSOLE_CHANNEL, "/papers post")
    assert not again.is_error
    assert again.text.startswith("Nothing new to post: the last digest here carried Fri 21 Aug")
    assert "Mon 24 Aug completes at Tue 25 Aug 00:00 UTC" in again.text
    assert len(platform.posted) == 1
    # The scheduled digest of this morning has nothing new either.
    await core.post_digests()
    assert len(platform.posted) == 1


@both_backends
async def test_post_carries_every_day_completed_since_the_previous_digest(
    core: Paperpost, platform: RecordingPlatform, clock: FakeClock
) -> None:
    await core.post_digests(day=date(2026, 8, 19), channel=CONSOLE_CHANNEL)  # Wednesday
    reply = await core.handle(CONSOLE_CHANNEL, "post")
    assert reply.text.startswith("Posted"), reply.text
    assert platform.posted[-1].days == (date(2026, 8, 20), FRIDAY)


async def test_post_in_a_paused_channel_posts_nothing(
    core: Paperpost, platform: RecordingPlatform
) -> None:
    await core.handle(CONSOLE_CHANNEL, "pause")
    reply = await core.handle(CONSOLE_CHANNEL, "post")
    assert "paused" in reply.text and "/papers resume" in reply.text
    assert platform.posted == []


async def test_the_first_subscribe_says_when_the_first_digest_comes(core: Paperpost) -> None:
    await core.handle(CONSOLE_CHANNEL, "set tz Europe/Berlin")
    first = await core.handle(CONSOLE_CHANNEL, "subscribe agents")
    assert "The first digest comes Tue 25 Aug at 09:00 Europe/Berlin" in first.text
    assert "to post one now: /papers post" in first.text
    second = await core.handle(CONSOLE_CHANNEL, "subscribe robots")
    assert "first digest" not in second.text


# -- Slack ---------------------------------------------------------------------------------
@pytest.fixture
async def slack_core(tmp_path: Path) -> AsyncIterator[Paperpost]:
    core = await Paperpost.open(
        Config(data_dir=tmp_path / "data"), source=BundledSnapshot(),
        clock=FakeClock(datetime(2026, 8, 24, 9, 0, tzinfo=UTC)), outbox_sleep=no_sleep,
    )  # fmt: skip
    yield core
    core.close()


@pytest.fixture
async def slack(
    api: FakeSlackAPI, slack_core: Paperpost, tmp_path: Path
) -> AsyncIterator[SlackRuntime]:
    config = Config(
        data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET, slack_api_url=api.url, port=0,
    )  # fmt: skip
    runtime = await start_slack(slack_core, config)
    yield runtime
    await runtime.stop()


async def test_slack_post_puts_a_real_digest_in_the_channel_once(
    slack: SlackRuntime, api: FakeSlackAPI
) -> None:
    answer = await papers(slack, api, "post")
    assert "Posted this channel's digest" in json.dumps(answer)
    [digest] = digest_posts(api)
    assert digest.channel == "C0DIGEST1"
    assert FRIDAY.isoformat() in digest.metadata["event_payload"]["marker"]

    again = await papers(slack, api, "post")
    assert "Nothing new to post" in json.dumps(again)
    assert len(digest_posts(api)) == 1
