"""Link cards end to end: a pasted paper link becomes the paper's card on Slack
(signed ``link_shared`` over HTTP mode, and a Socket Mode envelope → ``chat.unfurl``
on the fake Web API) and on Discord ("Show paper" on the message, through the fake
gateway). Unknown papers get no card and no message; hostile titles stay inert."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from paperpost.adapters.discord import DiscordRuntime
from paperpost.adapters.discord.context_menu import MENU_NAME, NO_LINKS
from paperpost.adapters.slack import SlackRuntime, render_reply, start_slack
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.replies import Reply
from paperpost.bot.config import Config
from paperpost.bot.papers.paper_api import UpstreamPapers
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.discord_harness import connected, served
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.discord_fake import CHANNEL_ID, EPHEMERAL, GUILD_ID, FakeDiscord, embed_problems
from tests.fakes.hf_server import FakeHFServer
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    action_body,
    block_kit_problems,
    link_shared,
    sign,
    sign_json,
    vote_click,
)
from tests.fakes.slack_socket import FakeSocketServer

PASTED = "https://arxiv.org/pdf/2608.19880v2"  # the example; in the bundled snapshot
PAPER_ID = "2608.19880"
UNKNOWN = "https://arxiv.org/abs/2609.00001"
HOSTILE = "<!channel> @everyone **Bold** <@U0ANA0001> [x](https://evil.example) `code`"


@pytest.fixture
def hf() -> Iterator[FakeHFServer]:
    with FakeHFServer() as server:
        yield server


@pytest.fixture
async def arxiv() -> AsyncIterator[FakeArxiv]:
    async with FakeArxiv() as fake:
        yield fake


@pytest.fixture
async def core(tmp_path: Path, hf: FakeHFServer, arxiv: FakeArxiv) -> AsyncIterator[Paperpost]:
    upstream = UpstreamPapers(hf_endpoint=hf.url, arxiv_endpoint=arxiv.url, arxiv_spacing=0)
    app = await Paperpost.open(
        Config(data_dir=tmp_path / "data"), source=BundledSnapshot(), upstream=upstream
    )
    yield app
    await app.aclose()


def slack_config(api: FakeSlackAPI, tmp_path: Path, **overrides: Any) -> Config:
    return Config(
        data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET, slack_api_url=api.url, port=0, **overrides,
    )  # fmt: skip


@pytest.fixture
async def slack(api: FakeSlackAPI, core: Paperpost, tmp_path: Path) -> AsyncIterator[SlackRuntime]:
    runtime = await start_slack(core, slack_config(api, tmp_path))
    yield runtime
    await runtime.stop()


async def paste(slack: SlackRuntime, urls: list[str], **event: Any) -> None:
    """Slack telling the app (HTTP mode, signed) that ``urls`` were pasted."""
    body = json.dumps(link_shared(urls, **event))
    async with (
        aiohttp.ClientSession() as http,
        http.post(slack.url or "", data=body, headers=sign_json(body)) as response,
    ):
        assert response.status == 200


def show_card(core: Paperpost, paper_id: str) -> list[dict[str, Any]]:
    paper = core.library.get(paper_id)
    assert paper is not None
    return list(render_reply(Reply(text="", papers=(paper,))).blocks)


# -- Slack -----------------------------------------------------------------------------
async def test_a_pasted_pdf_link_becomes_the_show_card_on_slack(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost, hf: FakeHFServer
) -> None:
    await paste(slack, [PASTED])
    await api.wait_for(lambda: api.unfurls)
    [call] = api.unfurls
    assert call["unfurl_id"].startswith("C0DIGEST1.") and call["source"] == "conversations_history"
    assert list(call["unfurls"]) == [PASTED]
    blocks = call["unfurls"][PASTED]["blocks"]
    assert blocks[:-1] == show_card(core, PAPER_ID)  # the card /papers show gives
    assert blocks[-1]["block_id"] == f"paperpost_votes:{PAPER_ID}"  # then its 👍/🔖 buttons
    assert block_kit_problems(blocks) == []
    assert f"huggingface.co/papers/{PAPER_ID}" in blocks[0]["text"]["text"]
    assert hf.requests == []  # stored: no lookup
    assert api.calls_of("chat.postMessage") == []  # a card, never a message


async def test_socket_mode_envelope_is_acked_and_unfurled(
    api: FakeSlackAPI, core: Paperpost, tmp_path: Path
) -> None:
    async with FakeSocketServer() as sock:
        sock.attach(api)
        config = slack_config(api, tmp_path, slack_app_token=APP_TOKEN)
        runtime = await start_slack(core, replace(config, slack_signing_secret=None))
        try:
            await sock.connected()
            payload = link_shared([PASTED], unfurl_id=None, source=None, message_ts="1700.0001")
            envelope_id = await sock.send_envelope("events_api", payload)
            assert (await sock.ack(envelope_id))["envelope_id"] == envelope_id
            await api.wait_for(lambda: api.unfurls)
            [call] = api.unfurls
            assert (call["channel"], call["ts"]) == ("C0DIGEST1", "1700.0001")  # no unfurl_id
            assert call["unfurls"][PASTED]["blocks"][:-1] == show_card(core, PAPER_ID)
        finally:
            await runtime.stop()


async def test_an_unknown_paper_gets_no_unfurl_and_no_message(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost, arxiv: FakeArxiv
) -> None:
    await paste(slack, [UNKNOWN, "https://example.org/x"])
    await api.wait_for(lambda: True)  # let Bolt start the listener
    for _ in range(500):  # until the lookup of the unknown paper has finished
        if arxiv.requests and not core.lookup._in_flight:
            break
        await asyncio.sleep(0.01)
    await paste(slack, [PASTED])  # a known one after it, so the first had its turn
    await api.wait_for(lambda: api.unfurls)
    await asyncio.sleep(0.05)
    assert [list(c.params["unfurls"]) for c in api.calls_of("chat.unfurl")] == [[PASTED]]
    assert api.calls_of("chat.postMessage") == [] and api.responses == []


async def test_ten_pastes_of_a_new_paper_make_one_lookup(
    slack: SlackRuntime, api: FakeSlackAPI, hf: FakeHFServer, arxiv: FakeArxiv
) -> None:
    arxiv.add("2609.00009", title="Fresh from arXiv", summary="New.", authors=["A. Person"])
    url = "https://arxiv.org/abs/2609.00009v1"
    await asyncio.gather(*(paste(slack, [url], unfurl_id=f"C0DIGEST1.{n}") for n in range(10)))
    await api.wait_for(lambda: len(api.unfurls) == 10)
    assert sum(r.path == "/api/papers/2609.00009" for r in hf.requests) == 1
    assert arxiv.requests == ["2609.00009"]
    assert all("Fresh from arXiv" in json.dumps(c["unfurls"]) for c in api.unfurls)


async def test_a_hostile_title_stays_inert_in_a_slack_card(
    slack: SlackRuntime, api: FakeSlackAPI, arxiv: FakeArxiv
) -> None:
    arxiv.add("2609.00010", title=HOSTILE, summary="<!here> too", authors=["<@U0ANA0001>"])
    await paste(slack, ["https://arxiv.org/abs/2609.00010"])
    await api.wait_for(lambda: api.unfurls)
    text = json.dumps(api.unfurls[0]["unfurls"])
    for ping in ("<!channel>", "<!here>", "<@U0ANA0001>", "<https://evil"):
        assert ping not in text
    assert "&lt;!channel&gt;" in text and "&lt;!here&gt;" in text


# -- Discord ---------------------------------------------------------------------------
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


async def answers(fake: FakeDiscord, interaction: int) -> list[dict[str, Any]]:
    token = f"token-{interaction}"
    return await fake.wait_for(lambda: [f for f in fake.followups if f["token"] == token])


async def test_show_paper_on_a_discord_message_answers_with_its_card(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    menu = next(c for c in fake.commands[GUILD_ID] if c["name"] == MENU_NAME)
    assert menu["type"] == 3  # a message context-menu command
    message = fake.post_as_user(CHANNEL_ID, f"worth reading: {PASTED} (v2)")
    interaction = await fake.invoke_on_message(MENU_NAME, message)
    [answer] = await answers(fake, interaction)
    callback = next(c for c in fake.callbacks if c["id"] == interaction)
    assert callback["type"] == 5 and callback["data"]["flags"] & EPHEMERAL  # deferred first
    assert answer["flags"] & EPHEMERAL and answer["allowed_mentions"] == {"parse": []}
    paper = core.library.get(PAPER_ID)
    assert paper is not None
    [card] = answer["embeds"]
    assert card["url"] == paper.hf_url and embed_problems(answer) == []
    assert len(fake.messages[CHANNEL_ID]) == 1  # nothing posted in the channel


async def test_show_paper_without_links_says_so_privately(
    fake: FakeDiscord, runtime: DiscordRuntime
) -> None:
    message = fake.post_as_user(CHANNEL_ID, "no links here, @everyone")
    interaction = await fake.invoke_on_message(MENU_NAME, message)
    callback = await fake.wait_for(lambda: [c for c in fake.callbacks if c["id"] == interaction])
    assert callback[0]["type"] == 4 and callback[0]["data"]["flags"] & EPHEMERAL
    assert callback[0]["data"]["content"] == NO_LINKS


async def test_a_hostile_title_stays_inert_in_a_discord_card(
    fake: FakeDiscord, runtime: DiscordRuntime, arxiv: FakeArxiv
) -> None:
    arxiv.add("2609.00011", title=HOSTILE, summary="@here", authors=["@everyone"])
    message = fake.post_as_user(CHANNEL_ID, "https://huggingface.co/papers/2609.00011")
    [answer] = await answers(fake, await fake.invoke_on_message(MENU_NAME, message))
    [card] = answer["embeds"]
    assert answer["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in card["title"] and "**Bold**" not in card["title"]
    assert "@here" not in (card.get("description") or "")


async def test_saving_from_a_discord_card_answers_with_the_new_count(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    # Defects caught: cards without buttons; a press on an ephemeral card unanswered (it
    # cannot be edited through the channel) or counted in no channel.
    message = fake.post_as_user(CHANNEL_ID, PASTED)
    [answer] = await answers(fake, await fake.invoke_on_message(MENU_NAME, message))
    ids = [c["custom_id"] for row in answer["components"] for c in row["components"]]
    assert ids == [f"pp:like:{PAPER_ID}", f"pp:save:{PAPER_ID}"]
    card = {**answer, "channel_id": str(CHANNEL_ID)}
    pressed = await fake.press(card, f"pp:save:{PAPER_ID}")
    [callback] = await fake.wait_for(lambda: [c for c in fake.callbacks if c["id"] == pressed])
    assert callback["type"] == 7  # the ephemeral card itself, relabelled
    labels = [c["label"] for row in callback["data"]["components"] for c in row["components"]]
    assert labels == ["Useful", "Save · 1"]
    key = ChannelKey("discord", str(GUILD_ID), str(CHANNEL_ID))
    assert "saved by" in (await core.handle(key, "saved")).text


async def test_saving_from_a_slack_card_updates_the_unfurl(
    slack: SlackRuntime, api: FakeSlackAPI, core: Paperpost
) -> None:
    # Defect caught: a press on a link card (an unfurl, not our message) not counted or
    # its counts sent to chat.update, which cannot edit someone else's message.
    assert slack.buttons is not None
    slack.buttons.edits = type(slack.buttons.edits)(slack.buttons._edit, per_message=0.1)
    await paste(slack, [PASTED])
    await api.wait_for(lambda: api.unfurls)
    blocks = api.unfurls[0]["unfurls"][PASTED]["blocks"]
    card = {"ts": "1700000100.000300", "blocks": blocks, "text": ""}
    payload = vote_click(card, PAPER_ID, action="paperpost_save", is_app_unfurl=True,
                         app_unfurl_url=PASTED, type="message_attachment")  # fmt: skip
    body = action_body(payload)
    async with (
        aiohttp.ClientSession() as http,
        http.post(slack.url or "", data=body, headers=sign(body)) as response,
    ):
        assert response.status == 200
    await api.wait_for(lambda: len(api.unfurls) == 2)
    again = api.unfurls[1]
    assert (again["channel"], again["ts"]) == ("C0DIGEST1", "1700000100.000300")
    assert "🔖 Save · 1" in json.dumps(again["unfurls"][PASTED], ensure_ascii=False)
    key = ChannelKey("slack", "T0TEST", "C0DIGEST1")
    assert PAPER_ID in json.dumps([v.paper_id for v in core.feedback.votes(key)])
    assert api.updates == []
