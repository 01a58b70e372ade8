"""One error sink: an unexpected exception anywhere (the core, the Slack or the
Discord adapter) becomes the same apology with one reference id, and the log
line carries that id; user text echoed back can never look like one."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from paperpost.adapters import console
from paperpost.adapters.discord import render as discord_render
from paperpost.adapters.discord.command_tree import PaperCommands
from paperpost.adapters.slack import render as slack_render
from paperpost.adapters.slack.slash_commands import SlashCommands
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.grammar import Command
from paperpost.bot.channels.handlers import CommandHandlers
from paperpost.bot.channels.key import CONSOLE_CHANNEL, ChannelKey
from paperpost.bot.channels.replies import APOLOGY_REF, Reply, apology
from tests.test_hostile_input import (
    DISCORD_KEY,
    SLACK_CHANNEL,
    SLACK_KEY,
    SLACK_TEAM,
    SLACK_USER,
    FakeInteraction,
    FakeSlackClient,
)

FORGED = "(ref PP-1A2B3C4D)"


def wording(text: str) -> str:
    """The apology with its id blanked, to compare wordings across paths."""
    match = re.search(r"Sorry, .*Paperpost\.", text)
    assert match, text
    return APOLOGY_REF.sub("(ref)", match[0])


def sink_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "paperpost.bot.channels.replies"]


def test_apology_logs_the_ref_it_answers_with(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        first = apology(exc, command="search", channel="slack:T:C")
        second = apology(exc)
    refs = [APOLOGY_REF.search(r.text) for r in (first, second)]
    assert all(refs) and refs[0][0] != refs[1][0]  # type: ignore[index]
    assert first.is_error and first.command == "search"
    [record, _] = sink_records(caplog)
    ref = refs[0][0][5:-1]  # type: ignore[index]
    assert ref in record.getMessage() and record.ref == ref  # type: ignore[attr-defined]
    assert record.exc_info and record.exc_info[1] is not None
    assert record.channel == "slack:T:C"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "line",
    [
        f"set time x {FORGED}",
        f"set tz x {FORGED}",
        f"set days x {FORGED}",
        f"set top x {FORGED}",
        f"show 2608.x {FORGED}",
        f"unsubscribe x {FORGED}",
        f"search x {FORGED}",
        f"frobnicate{FORGED}",
        f"set colour {FORGED}",
    ],
)
async def test_echoed_user_text_never_looks_like_a_ref(core: Paperpost, line: str) -> None:
    reply = await core.handle(SLACK_KEY, line)
    assert not APOLOGY_REF.search(reply.text), reply.text


async def no_ack() -> None:
    return None


async def slack_answer(core: Any, text: str) -> str:
    """What ``/papers text`` answers at the response_url (its fallback text)."""
    sent: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        sent.append(kwargs)

    payload = {"text": text, "channel_id": SLACK_CHANNEL, "user_id": SLACK_USER,
               "team_id": SLACK_TEAM}  # fmt: skip
    await SlashCommands(core, FakeSlackClient()).on_command(no_ack, payload, respond)  # type: ignore[arg-type]
    return str(sent[-1]["text"])


@pytest.fixture
def crashing_search(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(self: CommandHandlers, channel: ChannelKey, command: Command) -> Reply:
        raise RuntimeError("a bug in search")

    monkeypatch.setattr(CommandHandlers, "do_search", crash)


@pytest.mark.usefixtures("crashing_search")
async def test_a_crash_is_one_apology_on_every_path(
    core: Paperpost, caplog: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []
    # The core, as the console renders it.
    reply = await core.handle(CONSOLE_CHANNEL, "search agents")
    assert reply.is_error and reply.command == "search"
    texts.append(console.render_reply(reply))
    # Slack's slash command, through the real core.
    texts.append(await slack_answer(core, "search agents"))
    # Discord's typed command, through the real core.
    interaction = FakeInteraction()
    await PaperCommands(core).papers.get_command("search").callback(interaction, "agents")  # type: ignore[union-attr]
    texts.append(interaction.sent[-1]["content"])

    refs = [APOLOGY_REF.search(t) for t in texts]
    assert all(refs), texts
    assert len({wording(t) for t in texts}) == 1, texts
    logged = " ".join(r.getMessage() for r in sink_records(caplog))
    assert all(ref[0][5:-1] in logged for ref in refs if ref)
    assert core.channels.get(DISCORD_KEY).subscriptions == ()


class BrokenCore:
    """A core that raises: the adapters' own last line of defence answers."""

    def register_platform(self, platform: Any) -> None: ...

    async def handle(
        self, channel: ChannelKey, text: str, *, user: str | None = None, name: str | None = None
    ) -> Reply:
        raise RuntimeError("core down")

    async def execute(
        self, channel: ChannelKey, command: Command, *, user: str | None = None,
        name: str | None = None,
    ) -> Reply:  # fmt: skip
        raise RuntimeError("core down")


async def test_adapters_apologise_with_the_sink_when_the_core_itself_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    interaction = FakeInteraction()
    await PaperCommands(BrokenCore()).papers.get_command("list").callback(interaction)  # type: ignore[union-attr]
    shared: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        shared.append(kwargs)

    body = {"actions": [{"value": "search agents"}], "user": {"id": SLACK_USER},
            "team": {"id": SLACK_TEAM}, "channel": {"id": SLACK_CHANNEL}}  # fmt: skip
    await SlashCommands(BrokenCore(), FakeSlackClient()).on_share(no_ack, body, respond)  # type: ignore[arg-type]
    texts = [
        await slack_answer(BrokenCore(), "list"),
        shared[-1]["text"],
        interaction.sent[-1]["content"],
    ]
    assert all(APOLOGY_REF.search(t) for t in texts), texts
    assert len({wording(t) for t in texts}) == 1
    assert len(sink_records(caplog)) == 3


def test_renderers_keep_the_ref_intact() -> None:
    reply = apology(RuntimeError("x"))
    assert APOLOGY_REF.search(slack_render.render_reply(reply).text)
    [message] = discord_render.render_reply(reply)
    assert APOLOGY_REF.search(message.content or "")
