"""The weekly roundup, channel deletion and display names on the loopback fakes:
Slack in HTTP mode (signed requests) and a real discord.Client on the fake gateway.

Hostile titles and names (mentions, markup) must stay inert wherever they are shown."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from paperpost.adapters.discord import DiscordRuntime
from paperpost.adapters.slack import SlackRuntime, start_slack
from paperpost.adapters.slack.roundup import EVENT_TYPE
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.config import Config
from paperpost.bot.delivery.weekly import RoundupOutcome
from paperpost.bot.papers.model import Paper
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.conftest import FakeClock, no_sleep
from tests.discord_harness import connected, served
from tests.fakes.discord_fake import CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    Fault,
    block_kit_problems,
    form_body,
    sign,
    sign_json,
    slash_command,
)

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 8, 24, 9, 0, tzinfo=UTC)
FRIDAY_1600 = datetime(2026, 8, 28, 16, 0, tzinfo=BERLIN)
HOSTILE = "<!channel> **Bold** @everyone <@U0ANA0001> [x](https://evil.example) _it_"
HOSTILE_ID, MISSED_ID = "2608.99001", "2608.99002"
SLACK_KEY = ChannelKey("slack", "T0TEST", "C0DIGEST1")
OTHER_SLACK = ChannelKey("slack", "T0TEST", "C0OTHER01")
DISCORD_KEY = ChannelKey("discord", str(GUILD_ID), str(CHANNEL_ID))
# A raw mention anywhere: Slack's <!channel>/<@U…>/<!everyone>, Discord's @everyone/@here/<@…>.
SLACK_PING = re.compile(r"<[!@#]")
DISCORD_PING = re.compile(r"@(everyone|here)|<@[!&]?\d")


def hostile_papers() -> list[Paper]:
    return [
        Paper(HOSTILE_ID, HOSTILE, "A study.", ("<!everyone>",), (date(2026, 8, 26),), upvotes=7),
        Paper(MISSED_ID, "@here " + HOSTILE, "x", ("A",), (date(2026, 8, 27),), upvotes=900),
    ]


@pytest.fixture
async def core(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Paperpost]:
    clock.now = MONDAY
    app = await Paperpost.open(
        Config(data_dir=tmp_path / "data"), source=BundledSnapshot(), clock=clock,
        outbox_sleep=no_sleep,
    )  # fmt: skip
    for paper in hostile_papers():  # two featured days of the roundup's week
        app.library.add_day(paper.featured_days[0], [paper])
    yield app
    app.close()


def texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in ([v] if k == "text" and isinstance(v, str)
                                                      else texts(v))]  # fmt: skip
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async def loop() -> None:
        while not check():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(loop(), timeout)


# -- Slack ----------------------------------------------------------------------------
@pytest.fixture
async def slack(api: FakeSlackAPI, core: Paperpost, tmp_path: Path) -> AsyncIterator[SlackRuntime]:
    config = Config(
        data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET, slack_api_url=api.url, port=0,
    )  # fmt: skip
    runtime = await start_slack(core, config)
    yield runtime
    await runtime.stop()


async def slash(
    slack: SlackRuntime, api: FakeSlackAPI, text: str, *, channel: str = "C0DIGEST1", **fields: str
) -> str:
    """A signed /papers command; the text of its ephemeral answer."""
    key = f"r{len(api.responses)}"
    payload = slash_command(text, response_url=api.response_url(key), channel_id=channel, **fields)
    body = form_body(payload)
    async with (
        aiohttp.ClientSession() as http,
        http.post(slack.url or "", data=body, headers=sign(body)) as response,
    ):
        assert response.status == 200
    await api.wait_for(lambda: any(r["key"] == key for r in api.responses))
    answer = next(r for r in api.responses if r["key"] == key and r["response_type"] == "ephemeral")
    return "\n".join(texts(answer["blocks"]))


async def slack_event(slack: SlackRuntime, event: dict[str, Any]) -> None:
    body = json.dumps({
        "token": "x", "team_id": "T0TEST", "api_app_id": "A0TEST", "event": event,
        "type": "event_callback", "event_id": "Ev0DELETE01", "event_time": 1700000100,
    })  # fmt: skip
    async with (
        aiohttp.ClientSession() as http,
        http.post(slack.url or "", data=body, headers=sign_json(body)) as response,
    ):
        assert response.status == 200


async def test_slack_roundup_posted_once_tagged_inert_and_resumed_after_a_lost_answer(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost, clock: FakeClock
) -> None:
    for line in ("set tz Europe/Berlin", "set weekly fri 16:00", f"like {HOSTILE_ID}"):
        await slash(slack, api, line)
    clock.now = FRIDAY_1600.astimezone(UTC)
    api.fail("chat.postMessage", Fault.server_error(posted=True))  # posted, answer lost
    failed = await core.weekly.run_due(SLACK_KEY)
    assert failed is not None and failed.outcome is RoundupOutcome.FAILED
    [done] = await core.weekly.catch_up()  # the sweep: looks first, finds it
    assert done.outcome is RoundupOutcome.SENT
    [post] = [p for p in api.posts if p.metadata and p.metadata["event_type"] == EVENT_TYPE]
    assert post.channel == "C0DIGEST1" and block_kit_problems(post.blocks) == []
    shown = "\n".join(texts(post.blocks))
    assert "The team's most liked and saved" in shown and "👍 1 · 🔖 0" in shown
    assert "Most upvoted this week, not shown here" in shown and "▲ 900" in shown
    assert "&lt;!channel&gt;" in shown and not SLACK_PING.search(shown)
    assert not SLACK_PING.search(post.text)


async def test_slack_names_in_saved_and_top_team_ping_nobody(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    await slash(slack, api, f"save {HOSTILE_ID}", user_name="<!everyone> ada")
    await slash(slack, api, f"save {HOSTILE_ID}", user_id="U0BOB0002", user_name="bob")
    saved = await slash(slack, api, "saved")
    assert "saved by &lt;!everyone&gt; ada, bob (2)" in saved
    assert not SLACK_PING.search(saved) and "saved by U0ANA0001" not in saved
    top = await slash(slack, api, "top team week")
    assert "👍 0 · 🔖 2 · by &lt;!everyone&gt; ada, bob" in top and not SLACK_PING.search(top)
    [vote, _] = core.export_channels()["feedback"]
    assert vote[3:5] == ["U0ANA0001", "<!everyone> ada"]  # export carries the name


async def test_slack_channel_deleted_forgets_that_channel_only(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    for channel in ("C0DIGEST1", "C0OTHER01"):
        await slash(slack, api, f"save {HOSTILE_ID}", channel=channel)
        await slash(slack, api, "subscribe agents", channel=channel)
        await slash(slack, api, "set weekly fri 16:00", channel=channel)
    # Neither unsubscribing everything nor a posting error removes votes.
    await slash(slack, api, "unsubscribe all")
    api.not_member("C0DIGEST1")
    await core.post_now(SLACK_KEY)
    assert core.channels.get(SLACK_KEY).paused and len(core.feedback.votes(SLACK_KEY)) == 1
    await slack_event(slack, {"type": "channel_deleted", "channel": "C0DIGEST1"})
    await eventually(lambda: not core.feedback.votes(SLACK_KEY))
    await eventually(lambda: SLACK_KEY not in dict(core.channel_list()))
    assert core.channels.get(SLACK_KEY) == ChannelSettings()
    assert len(core.feedback.votes(OTHER_SLACK)) == 1
    assert core.channels.get(OTHER_SLACK).subscriptions == ("agents",)
    # A forged event (unsigned) removes nothing.
    body = json.dumps({"type": "event_callback", "team_id": "T0TEST",
                       "event": {"type": "channel_deleted", "channel": "C0OTHER01"}})  # fmt: skip
    async with aiohttp.ClientSession() as http:
        headers = {"Content-Type": "application/json"}
        async with http.post(slack.url or "", data=body, headers=headers) as response:
            assert response.status == 401
    assert len(core.feedback.votes(OTHER_SLACK)) == 1


# -- Discord --------------------------------------------------------------------------
@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with served(monkeypatch) as server:
        yield server


@pytest.fixture
async def runtime(
    fake: FakeDiscord, core: Paperpost, tmp_path: Path
) -> AsyncIterator[DiscordRuntime]:
    running = await connected(fake, core, tmp_path)
    yield running
    await running.stop()


async def run(fake: FakeDiscord, *path: str, **options: Any) -> dict[str, Any]:
    """One slash command over the gateway; its (first) follow-up."""
    name = options.pop("global_name", "Ana")
    interaction = await fake.invoke(*path, options=options or None, global_name=name)
    token = f"token-{interaction}"
    return await fake.wait_for(
        lambda: next((f for f in fake.followups if f["token"] == token), None)
    )


async def test_discord_roundup_names_and_channel_delete(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost, clock: FakeClock
) -> None:
    await run(fake, "papers-admin", "set", "tz", zone="Europe/Berlin")
    answer = await run(fake, "papers-admin", "set", "weekly", when="fri 16:00")
    assert "Fridays at 16:00 (Europe/Berlin)" in answer["content"]
    await run(fake, "papers", "save", paper=HOSTILE_ID, global_name="@everyone Ana")
    saved = await run(fake, "papers", "saved")
    assert "Ana" in saved["content"] and not DISCORD_PING.search(saved["content"])
    assert saved["allowed_mentions"] == {"parse": []}
    assert core.feedback.votes(DISCORD_KEY)[0].name == "@everyone Ana"

    clock.now = FRIDAY_1600.astimezone(UTC)
    delivered = await core.weekly.run_due(DISCORD_KEY)
    assert delivered is not None and delivered.outcome is RoundupOutcome.SENT
    [message] = [m for m in fake.messages[CHANNEL_ID] if m.get("embeds")]
    assert message["allowed_mentions"] == {"parse": []} and message["nonce"]
    [embed] = message["embeds"]
    shown = json.dumps([message.get("content"), embed], ensure_ascii=False)
    assert "Weekly roundup" in shown and "🔖 1" in shown and "▲ 900" in shown
    assert not DISCORD_PING.search(shown) and "\\\\*\\\\*Bold" in shown
    assert (await core.weekly.run_due(DISCORD_KEY)).outcome is RoundupOutcome.ALREADY_SENT  # type: ignore[union-attr]

    await fake.dispatch("CHANNEL_DELETE", fake.channels[CHANNEL_ID])
    await eventually(lambda: not core.feedback.votes(DISCORD_KEY))
    assert DISCORD_KEY not in dict(core.channel_list())
    assert core.weekly.next_run(DISCORD_KEY) is None
