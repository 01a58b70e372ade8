"""The fakes refuse what real Slack and Discord refuse, with the platform's own error.

Each case sends a good payload (accepted) and the same payload made bad in one
way (refused), over the fakes' real HTTP, so a product change that starts
sending something the platforms reject turns a test red here and in every
test that posts through the fakes.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest

from paperpost.adapters.discord import open_discord_platform
from paperpost.adapters.slack.client import build_client
from paperpost.adapters.slack.delivery import SlackPlatform
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.errors import DeliveryError
from paperpost.bot.papers.model import Paper, papers_from_hf_day
from tests.conftest import no_sleep
from tests.fakes.discord_fake import CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.fakes.hf_server import load_day
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

# -- Discord ------------------------------------------------------------------------------


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    fake = await FakeDiscord().start()
    yield fake
    await fake.close()


def good_message() -> dict[str, Any]:
    return {
        "content": "Top papers",
        "nonce": "pp-0123456789abcdef-0",
        "enforce_nonce": True,
        "embeds": [{
            "title": "1. A paper", "url": "https://huggingface.co/papers/2608.19880",
            "description": "summary", "thumbnail": {"url": "https://cdn.example.org/t.png"},
            "fields": [{"name": "Upvotes", "value": "▲ 163", "inline": True},
                       {"name": "Links", "value": "[arXiv](https://arxiv.org/abs/2608.19880)"}],
            "footer": {"text": "Paperpost · part 1/1"},
        }],
    }  # fmt: skip


async def discord_post(fake: FakeDiscord, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    url = f"{fake.api_url}/channels/{CHANNEL_ID}/messages"
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, await response.json()


def bad(change: Any) -> dict[str, Any]:
    message = copy.deepcopy(good_message())
    change(message)
    return message


def field_of(m: dict[str, Any], i: int) -> dict[str, Any]:
    return m["embeds"][0]["fields"][i]  # type: ignore[no-any-return]


DISCORD_REFUSALS = {
    "nonce over 25 characters": (
        lambda m: m.update(nonce="n" * 26),
        ("nonce",), "NONCE_TYPE_TOO_LONG",
    ),
    "empty field name": (
        lambda m: field_of(m, 0).update(name=""),
        ("embeds", "0", "fields", "0", "name"), "BASE_TYPE_REQUIRED",
    ),
    "whitespace field value": (
        lambda m: field_of(m, 1).update(value="  "),
        ("embeds", "0", "fields", "1", "value"), "BASE_TYPE_REQUIRED",
    ),
    "embed url not a URL": (
        lambda m: m["embeds"][0].update(url="huggingface.co/papers/2608.19880"),
        ("embeds", "0", "url"), "URL_TYPE_INVALID_URL",
    ),
    "thumbnail url with a space": (
        lambda m: m["embeds"][0]["thumbnail"].update(url="https://cdn.example.org/a b.png"),
        ("embeds", "0", "thumbnail", "url"), "URL_TYPE_INVALID_URL",
    ),
    "javascript: url": (
        lambda m: m["embeds"][0].update(url="javascript:alert(1)"),
        ("embeds", "0", "url"), "URL_TYPE_INVALID_URL",
    ),
}  # fmt: skip


async def test_discord_accepts_a_good_message(discord_fake: FakeDiscord) -> None:
    status, message = await discord_post(discord_fake, good_message())
    assert status == 200 and message["nonce"] == "pp-0123456789abcdef-0"
    assert discord_fake.messages[CHANNEL_ID] == [message]


@pytest.mark.parametrize("case", DISCORD_REFUSALS)
async def test_discord_refuses_an_invalid_form_body(discord_fake: FakeDiscord, case: str) -> None:
    change, path, code = DISCORD_REFUSALS[case]
    status, answer = await discord_post(discord_fake, bad(change))
    assert (status, answer["code"], answer["message"]) == (400, 50035, "Invalid Form Body")
    errors = answer["errors"]
    for key in path:
        errors = errors[key]
    assert [e["code"] for e in errors["_errors"]] == [code]
    assert discord_fake.messages[CHANNEL_ID] == []


@pytest.mark.parametrize("content", ["", "   \n\t "])
async def test_discord_refuses_an_empty_message(discord_fake: FakeDiscord, content: str) -> None:
    status, answer = await discord_post(discord_fake, {"content": content})
    assert (status, answer["code"]) == (400, 50006)
    assert discord_fake.messages[CHANNEL_ID] == []
    status, _ = await discord_post(discord_fake, {"content": content, **bad(lambda m: None)})
    assert status == 200  # whitespace content is fine beside embeds


async def test_discord_nonce_repeats_only_within_the_window() -> None:
    now = [1000.0]
    fake = await FakeDiscord(nonce_window=300.0, clock=lambda: now[0]).start()
    try:
        _, first = await discord_post(fake, good_message())
        now[0] += 299.0
        _, again = await discord_post(fake, good_message())
        assert again["id"] == first["id"]  # deduplicated
        now[0] += 2.0
        _, late = await discord_post(fake, good_message())
        assert late["id"] != first["id"]  # the window has passed: a second message
        assert len(fake.messages[CHANNEL_ID]) == 2
    finally:
        await fake.close()


async def test_discord_history_honours_limit_before_and_after(discord_fake: FakeDiscord) -> None:
    for i in range(130):
        discord_fake.post_as_user(CHANNEL_ID, f"m{i}")
    held = discord_fake.messages[CHANNEL_ID]
    url = f"{discord_fake.api_url}/channels/{CHANNEL_ID}/messages"

    async def get(**query: str) -> Any:
        async with aiohttp.ClientSession() as session, session.get(url, params=query) as r:
            return r.status, await r.json()

    _, page = await get()
    assert [m["content"] for m in page] == [f"m{i}" for i in range(129, 79, -1)]  # 50 newest
    _, page = await get(limit="100", before=held[30]["id"])
    assert [m["content"] for m in page] == [f"m{i}" for i in range(29, -1, -1)]
    _, page = await get(limit="5", after=held[10]["id"])
    assert [m["content"] for m in page] == [f"m{i}" for i in range(15, 10, -1)]
    status, _ = await get(limit="101")
    assert status == 400


# -- Slack --------------------------------------------------------------------------------


async def slack_call(api: FakeSlackAPI, method: str, **params: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(api.url + method, json=params, headers=headers) as response,
    ):
        return await response.json()  # type: ignore[no-any-return]


def good_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Top papers"}},
        {"type": "section", "block_id": "p1", "text": {"type": "mrkdwn", "text": "*1.* A paper"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "▲ 163"}]},
        {"type": "divider"},
        {"type": "actions", "block_id": "share", "elements": [
            {"type": "button", "action_id": "paperpost_share", "value": "x",
             "text": {"type": "plain_text", "text": "Share in channel"}}]},
    ]  # fmt: skip


SLACK_BLOCK_REFUSALS = {
    "unknown block type": lambda b: b.append({"type": "table", "rows": []}),
    "unknown context element": lambda b: b[2]["elements"].append({"type": "button"}),
    "unknown actions element": lambda b: b[4]["elements"].append({"type": "link"}),
    "unknown text object": lambda b: b[1]["text"].update(type="markdown"),
    "header in mrkdwn": lambda b: b[0]["text"].update(type="mrkdwn"),
    "duplicate block_id": lambda b: b[4].update(block_id="p1"),
    "block_id over 255": lambda b: b[1].update(block_id="b" * 256),
    "empty context text": lambda b: b[2]["elements"][0].update(text=""),
    "section text over 3,000": lambda b: b[1]["text"].update(text="x" * 3001),
}


async def test_slack_accepts_good_blocks(api: FakeSlackAPI) -> None:
    answer = await slack_call(api, "chat.postMessage", channel="C1", text="t", blocks=good_blocks())
    assert answer["ok"] and [p.blocks for p in api.posts] == [good_blocks()]


@pytest.mark.parametrize("case", SLACK_BLOCK_REFUSALS)
async def test_slack_refuses_invalid_blocks(api: FakeSlackAPI, case: str) -> None:
    blocks = good_blocks()
    SLACK_BLOCK_REFUSALS[case](blocks)
    answer = await slack_call(api, "chat.postMessage", channel="C1", text="t", blocks=blocks)
    assert (answer["ok"], answer["error"]) == (False, "invalid_blocks")
    assert api.posts == []


async def test_slack_refuses_text_over_40000_chars(api: FakeSlackAPI) -> None:
    assert (await slack_call(api, "chat.postMessage", channel="C1", text="x" * 40_000))["ok"]
    answer = await slack_call(api, "chat.postMessage", channel="C1", text="x" * 40_001)
    assert answer == {"ok": False, "error": "msg_too_long"}
    assert len(api.posts) == 1


async def test_slack_refuses_a_thread_ts_that_is_not_a_message_of_the_channel(
    api: FakeSlackAPI,
) -> None:
    parent = await slack_call(api, "chat.postMessage", channel="C1", text="parent")
    reply = await slack_call(
        api, "chat.postMessage", channel="C1", text="r", thread_ts=parent["ts"]
    )
    assert reply["ok"]
    for channel, ts in [("C1", "1.000001"), ("C2", parent["ts"]), ("C1", reply["ts"])]:
        answer = await slack_call(api, "chat.postMessage", channel=channel, text="r", thread_ts=ts)
        assert answer == {"ok": False, "error": "invalid_thread_ts"}, (channel, ts)
    assert len(api.posts) == 2


async def test_slack_not_in_channel_until_joined(api: FakeSlackAPI) -> None:
    api.not_member("C2")
    for method in ("chat.postMessage", "conversations.history"):
        answer = await slack_call(api, method, channel="C2", text="t")
        assert answer == {"ok": False, "error": "not_in_channel"}
    info = await slack_call(api, "conversations.info", channel="C2")
    assert info["channel"]["is_member"] is False
    api.join("C2")
    assert (await slack_call(api, "chat.postMessage", channel="C2", text="t"))["ok"]
    assert (await slack_call(api, "conversations.history", channel="C2"))["ok"]


@pytest.mark.parametrize("channel,scope", [("C1", "channels:history"), ("G1", "groups:history")])
async def test_slack_history_reads_need_their_scope(
    api: FakeSlackAPI, channel: str, scope: str
) -> None:
    parent = await slack_call(api, "chat.postMessage", channel=channel, text="t")
    assert (await slack_call(api, "conversations.history", channel=channel))["ok"]
    api.revoke(scope)
    for method, extra in [("conversations.history", {}), ("conversations.replies",
                                                           {"ts": parent["ts"]})]:  # fmt: skip
        answer = await slack_call(api, method, channel=channel, **extra)
        assert (answer["ok"], answer["error"], answer["needed"]) == (False, "missing_scope", scope)
        assert scope not in answer["provided"].split(",")
    assert (await slack_call(api, "chat.postMessage", channel=channel, text="t"))["ok"]


# -- the product against the strict Slack fake --------------------------------------------


def slack_digest(papers: int, *, threads: bool) -> Digest:
    day = date(2026, 5, 12)
    ranked = sorted(papers_from_hf_day(load_day(day), requested_day=day), key=lambda p: -p.upvotes)
    key = ChannelKey("slack", "T0TEST", "C0DIGEST1")
    return Digest(key, day, tuple(DigestEntry(p) for p in ranked[:papers]), threads=threads)


async def test_a_resume_without_the_history_scope_is_a_permanent_error(api: FakeSlackAPI) -> None:
    platform = SlackPlatform(build_client(BOT_TOKEN, base_url=api.url, sleep=no_sleep),
                             sleep=no_sleep)  # fmt: skip
    api.revoke("channels:history")
    with pytest.raises(DeliveryError, match="missing_scope") as caught:
        await platform.post_digest(slack_digest(3, threads=False), resume=True)
    assert caught.value.permanent  # a person must add the scope: retrying cannot help
    assert api.posts == []  # never posted blind, which could post a part twice


async def test_a_threaded_digest_replies_under_its_own_list(api: FakeSlackAPI) -> None:
    platform = SlackPlatform(build_client(BOT_TOKEN, base_url=api.url, sleep=no_sleep),
                             sleep=no_sleep)  # fmt: skip
    await platform.post_digest(slack_digest(5, threads=True), resume=False)
    head, *replies = api.posts
    assert head.thread_ts is None and len(replies) == 5
    assert {r.thread_ts for r in replies} == {head.ts}  # accepted: a top-level ts of C0DIGEST1


async def test_discord_thread_names_are_1_to_100_characters(discord_fake: FakeDiscord) -> None:
    _, message = await discord_post(discord_fake, good_message())
    url = f"{discord_fake.api_url}/channels/{CHANNEL_ID}/messages/{message['id']}/threads"
    async with aiohttp.ClientSession() as session:
        for name, status in [("", 400), ("x" * 101, 400), ("Papers of Fri 21 Aug", 200)]:
            body = {"name": name, "auto_archive_duration": 1440}
            async with session.post(url, json=body) as response:
                assert response.status == status, name
                if status == 400:
                    assert (await response.json())["code"] == 50035


@pytest.mark.parametrize(
    "metadata",
    [{"event_payload": {}}, {"event_type": "has space", "event_payload": {}},
     {"event_type": "paperpost_digest", "event_payload": "x"}],
)  # fmt: skip
async def test_slack_refuses_malformed_metadata(api: FakeSlackAPI, metadata: Any) -> None:
    good = {"event_type": "paperpost_digest", "event_payload": {"part": 0}}
    assert (await slack_call(api, "chat.postMessage", channel="C1", text="t", metadata=good))["ok"]
    answer = await slack_call(api, "chat.postMessage", channel="C1", text="t", metadata=metadata)
    assert answer == {"ok": False, "error": "invalid_metadata_format"}


# -- the product against the strict Discord fake ------------------------------------------


async def test_a_whitespace_organisation_does_not_sink_a_discord_digest(
    discord_fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    config = Config(data_dir=tmp_path, discord_bot_token="t", discord_api_url=discord_fake.api_url)
    platform = await open_discord_platform(config)
    day = date(2026, 8, 21)
    paper = Paper("2608.19880", "EnvHarness", "summary", ("Ana",), (day,), upvotes=163,
                  organization=" ")  # fmt: skip
    key = ChannelKey("discord", str(GUILD_ID), str(CHANNEL_ID))
    try:
        await platform.post_digest(Digest(key, day, (DigestEntry(paper),)), resume=False)
    finally:
        await platform.aclose()
    assert len(discord_fake.messages[CHANNEL_ID]) == 1
