"""👍/🔖 buttons and reactions on Slack, end to end: the real core behind the
Bolt app in HTTP mode, signed ``block_actions`` and ``reaction_added`` requests,
the fake Web API recording ``chat.update``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from paperpost.adapters.slack import SlackRuntime, start_slack
from paperpost.adapters.slack.buttons import SlackButtons
from paperpost.adapters.slack.delivery import EVENT_TYPE
from paperpost.adapters.slack.vote_blocks import papers_in
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.service import posting_platforms
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    action_body,
    reaction,
    share_click,
    sign,
    sign_json,
    vote_click,
)
from tests.fakes.slack_socket import FakeSocketServer

DAY = date(2026, 8, 21)  # the bundled snapshot's last day
CHANNEL = ChannelKey("slack", "T0TEST", "C0DIGEST1")
HOSTILE = "<!channel> @here <@U0ANA0001> *bold* <https://evil.example|click>"


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Paperpost]:
    paperpost = await Paperpost.open(Config(data_dir=tmp_path / "data"), source=BundledSnapshot())
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
    assert runtime.buttons is not None
    runtime.buttons.edits = type(runtime.buttons.edits)(  # quicker than 1 s for the tests
        runtime.buttons._edit, per_message=0.3, gap=0.0
    )
    yield runtime
    await runtime.stop()


async def send(slack: SlackRuntime, body: str, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(slack.url or "", data=body, headers=headers) as response,
    ):
        return response.status


async def press(slack: SlackRuntime, message: dict[str, Any], paper: str, **kw: Any) -> None:
    body = action_body(vote_click(message, paper, **kw))
    assert await send(slack, body, sign(body)) == 200


async def react(slack: SlackRuntime, ts: str, **kw: Any) -> None:
    body = json.dumps(reaction(ts, **kw))
    assert await send(slack, body, sign_json(body)) == 200


def digest_messages(api: FakeSlackAPI) -> list[dict[str, Any]]:
    return [
        m
        for m in api.messages("C0DIGEST1")
        if (m.get("metadata") or {}).get("event_type") == EVENT_TYPE
    ]


def labels(message: dict[str, Any], paper: str) -> list[str]:
    [block] = [b for b in message["blocks"] if b.get("block_id", "").endswith(":" + paper)]
    return [e["text"]["text"] for e in block["elements"]]


def buttons(slack: SlackRuntime) -> SlackButtons:
    assert slack.buttons is not None
    return slack.buttons


async def eventually(predicate: Any) -> None:
    """Until ``predicate()`` holds: a press is acked before its vote is stored."""
    for _ in range(250):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never happened")


async def post_digest(core: Paperpost, *settings: str) -> None:
    for line in settings:
        assert not (await core.handle(CHANNEL, line)).is_error
    [delivery] = await core.post_digests(day=DAY, channel=CHANNEL)
    assert delivery.outcome.value == "sent", delivery


async def test_pressing_save_lists_the_paper_and_pressing_again_takes_it_back(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    # Defects caught: no listener for the buttons (nothing saved); a press that does not
    # toggle; an edit without the part's metadata (crash recovery would lose the part).
    await post_digest(core, "set top 3")
    [message] = digest_messages(api)
    meta = message["metadata"]
    paper = papers_in(message["blocks"])[0]
    await press(slack, message, paper, action="paperpost_save")
    await api.wait_for(lambda: api.updates)
    saved = (await core.handle(CHANNEL, "saved")).text
    assert paper in json.dumps(saved) or core.library.get(paper).title[:40] in saved  # type: ignore[union-attr]
    assert "saved by u0ana0001 (1)" in saved  # the presser's name as the payload gives it
    [edited] = digest_messages(api)  # still found by its metadata
    assert edited["metadata"] == meta
    assert labels(edited, paper) == ["👍 Useful", "🔖 Save · 1"]

    await press(slack, edited, paper, action="paperpost_save")
    await api.wait_for(lambda: len(api.updates) == 2)
    assert (await core.handle(CHANNEL, "saved")).text.startswith("Nothing saved here yet")
    assert labels(digest_messages(api)[0], paper) == ["👍 Useful", "🔖 Save"]


async def test_a_burst_of_presses_is_a_few_edits_with_the_final_counts(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    # Defect caught: one chat.update per press (a burst would blow Slack's Tier 3 limit).
    await post_digest(core, "set top 3")
    [message] = digest_messages(api)
    paper = papers_in(message["blocks"])[1]
    await asyncio.gather(*(press(slack, message, paper, user=f"U{i:04d}") for i in range(40)))
    await asyncio.gather(*(press(slack, message, paper, user=f"U{i:04d}") for i in range(10)))
    await eventually(lambda: len(core.feedback.votes(CHANNEL)) == 30 and api.updates)
    # The last press asks for its edit after its vote is stored: wait for the labels.
    final = ["👍 Useful · 30", "🔖 Save"]
    await eventually(lambda: labels(digest_messages(api)[0], paper) == final)
    await buttons(slack).edits.drain()
    assert 1 <= len(api.updates) <= 4


async def test_a_resumed_digest_whose_parts_were_edited_posts_nothing_twice(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    # Defect caught: an edit that drops the message metadata: the resumed delivery no
    # longer recognises the part and posts it a second time.
    assert not (await core.handle(CHANNEL, "set top 20")).is_error
    [digest] = core.digests_for_day(DAY, [CHANNEL])
    await slack.platform.post_digest(digest, resume=False)
    parts = digest_messages(api)
    assert len(parts) >= 2  # 20 papers with their buttons: more than 50 blocks
    for part in parts:
        await press(slack, part, papers_in(part["blocks"])[0])
    await api.wait_for(lambda: len(api.updates) == len(parts))
    posts = len(api.posts)
    await slack.platform.post_digest(digest, resume=True)
    assert len(api.posts) == posts


async def test_hostile_titles_stay_inert_in_edited_messages(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    # Defect caught: an edit that re-renders the title unescaped (a <!channel> ping).
    top = dataclasses.replace(core.library.papers_on(DAY)[0], id="2608.99999", title=HOSTILE)
    core.library.add_papers([top])
    digest = Digest(CHANNEL, DAY, (DigestEntry(top),))
    await slack.platform.post_digest(digest, resume=False)
    [message] = digest_messages(api)
    await press(slack, message, top.id)
    await api.wait_for(lambda: api.updates)
    text = json.dumps(api.updates[0]["blocks"])
    assert "<!channel>" not in text and "<@U0ANA0001>" not in text
    assert "&lt;!channel&gt;" in text, text[:600]


async def test_reactions_on_a_thread_reply_count_like_the_buttons(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    # Defects caught: reactions not heard; a reaction on a message with several papers
    # (or an unrecorded one, or another emoji) counted for some paper.
    await post_digest(core, "set top 2", "set threads on")
    replies = [m for m in digest_messages(api) if m.get("thread_ts", m["ts"]) != m["ts"]]
    assert len(replies) == 2
    listing = next(m for m in digest_messages(api) if m not in replies)
    paper = papers_in(replies[0]["blocks"])[0]
    await react(slack, replies[0]["ts"], name="bookmark")
    await react(slack, replies[0]["ts"], name="+1::skin-tone-3", user="U0BOB0002")
    await react(slack, replies[0]["ts"], name="tada")
    await react(slack, listing["ts"], name="bookmark")
    await react(slack, "1699999999.000001", name="+1")
    await eventually(lambda: len(core.feedback.votes(CHANNEL)) >= 2)
    await asyncio.sleep(0.2)  # the ignored ones had their time too
    votes = core.feedback.votes(CHANNEL)
    assert sorted((v.paper_id, v.kind, v.user) for v in votes) == [
        (paper, "like", "U0BOB0002"),
        (paper, "save", "U0ANA0001"),
    ]

    def edited() -> Any:
        return next(m for m in digest_messages(api) if m["ts"] == replies[0]["ts"])

    # Each reaction asks for its edit after its vote is stored, so the second one may
    # come after a drain: wait for the labels (read back, relabelled), not the drain.
    await eventually(lambda: labels(edited(), paper) == ["👍 Useful · 1", "🔖 Save · 1"])
    await buttons(slack).edits.drain()
    assert edited()["metadata"] == replies[0]["metadata"]
    assert {u["ts"] for u in api.updates} == {replies[0]["ts"]}
    await react(slack, replies[0]["ts"], name="bookmark", added=False)
    await eventually(lambda: len(core.feedback.votes(CHANNEL)) == 1)
    assert [v.kind for v in core.feedback.votes(CHANNEL)] == ["like"]


async def test_forged_and_unknown_presses_change_nothing(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    # Defects caught: an unsigned press counted; a press naming a paper that is not
    # stored (or a malformed id) stored as a vote.
    await post_digest(core, "set top 1")
    [message] = digest_messages(api)
    paper = papers_in(message["blocks"])[0]
    body = action_body(vote_click(message, paper))
    assert await send(slack, body, sign(body, secret="not-the-secret")) == 401
    await press(slack, message, "2609.99999")
    await press(slack, message, "../../etc")
    await asyncio.sleep(0.2)
    assert core.feedback.votes(CHANNEL) == [] and api.updates == []


async def test_a_press_in_socket_mode_is_acked_and_counted(
    api: FakeSlackAPI, core: Paperpost, tmp_path: Path
) -> None:
    # Defect caught: presses wired for HTTP mode only (Socket Mode envelopes unanswered).
    async with FakeSocketServer() as sock:
        sock.attach(api)
        config = Config(
            data_dir=tmp_path / "data",
            slack_bot_token=BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_api_url=api.url,
        )
        runtime = await start_slack(core, config)
        try:
            await sock.connected()
            await post_digest(core, "set top 1")
            [message] = digest_messages(api)
            paper = papers_in(message["blocks"])[0]
            envelope = await sock.send_envelope("interactive", vote_click(message, paper))
            assert (await sock.ack(envelope))["envelope_id"] == envelope
            await api.wait_for(lambda: api.updates)
            assert [(v.paper_id, v.kind) for v in core.feedback.votes(CHANNEL)] == [(paper, "like")]
            assert digest_messages(api)[0]["metadata"] == message["metadata"]
        finally:
            await runtime.stop()


async def test_parts_posted_by_the_cron_command_are_recorded_for_reactions(
    api: FakeSlackAPI, core: Paperpost, tmp_path: Path
) -> None:
    # Defect caught: `paperpost digest` (cron) posting parts nobody recorded, so reactions
    # on them were ignored by `paperpost run` and edits could not restore their metadata.
    config = Config(data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN, slack_api_url=api.url)
    platforms = await posting_platforms(config, core.presses)
    for platform in platforms:
        core.register_platform(platform)
    try:
        await post_digest(core, "set top 2", "set threads on")
    finally:
        for platform in platforms:
            await platform.aclose()
    replies = [m for m in digest_messages(api) if m.get("thread_ts", m["ts"]) != m["ts"]]
    for reply in replies:
        recorded = await core.presses.message(CHANNEL, reply["ts"])
        assert recorded is not None and recorded.papers == tuple(papers_in(reply["blocks"]))
        assert recorded.metadata == reply["metadata"]


async def test_a_press_on_a_shared_result_relabels_it_through_the_response_url(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    # Defect caught: a shared result (posted through a response_url, not in the channel's
    # history as the bot's message) edited with chat.update, which cannot reach it.
    paper = core.library.papers_on(DAY)[0].id
    share = share_click(f"show {paper}", response_url=api.response_url("share"))
    body = action_body(share)
    assert await send(slack, body, sign(body)) == 200
    await api.wait_for(lambda: api.responses)
    shared = {"ts": "1700000300.000100", "blocks": api.responses[0]["blocks"], "text": "x"}
    click = vote_click(shared, paper, action="paperpost_save")
    click["response_url"] = api.response_url("vote")
    body = action_body(click)
    assert await send(slack, body, sign(body)) == 200
    await api.wait_for(lambda: any(r["key"] == "vote" for r in api.responses))
    [edit] = [r for r in api.responses if r["key"] == "vote"]
    assert edit["replace_original"] is True and api.updates == []
    assert labels(edit, paper) == ["👍 Useful", "🔖 Save · 1"]
