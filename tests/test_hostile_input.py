"""Hostile input: Hypothesis-generated command lines through each adapter's
translation layer and the real core.

For every generated line, per adapter (Slack, Discord, console):

- nothing raises, and nothing is swallowed either: a crash turned into the
  apology by the error sink (its ``(ref PP-…)`` id, which echoed user text
  cannot produce) fails the test;
- what the adapter would send carries no live mention: for Slack no ``<!…>``
  and no ``<…>`` except the acting user's ``<@U…>`` and ``<https://…|label>``
  links the adapter builds; for Discord no raw ``@everyone``/``@here``/role or
  user mention outside the escaped form (but the adapter's own ``<@user>``
  prefix of an announcement), and every message is sent with
  ``AllowedMentions.none()``;
- what is sent is within the platform's limits (Slack Block Kit, Discord
  embeds), so hostile text cannot make a post fail either.

Each adapter test runs >= 10,000 examples on one core built once for the
module, on a loop of its own (the core's ``handle`` is async).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError

from paperpost.adapters import console
from paperpost.adapters.discord import render as discord_render
from paperpost.adapters.discord.command_tree import DAY_CHOICES, PaperCommands
from paperpost.adapters.discord.delivery import DiscordPlatform
from paperpost.adapters.slack import render as slack_render
from paperpost.adapters.slack.delivery import SlackPlatform
from paperpost.adapters.slack.render import SlackMessage
from paperpost.adapters.slack.slash_commands import SlashCommands
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.grammar import MAX_COMMAND_LENGTH, Command
from paperpost.bot.channels.key import CONSOLE_CHANNEL, ChannelKey
from paperpost.bot.channels.replies import APOLOGY_REF, Reply
from paperpost.bot.channels.settings import MAX_SUBSCRIPTION_LENGTH, MAX_TOP_N
from paperpost.bot.config import Config
from paperpost.bot.papers.model import Paper
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.conftest import FakeClock, no_sleep
from tests.fakes.discord_fake import embed_problems
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    block_kit_problems,
    form_body,
    sign,
    slash_command,
)
from tests.scale import rounds

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", rounds(small=400, full=10_000)))
SLACK_TEAM, SLACK_CHANNEL, SLACK_USER = "T0TEST", "C0DIGEST1", "U0ANA0001"
DISCORD_GUILD, DISCORD_CHANNEL, DISCORD_USER = (
    1200000000000000001,
    1300000000000000001,
    1400000000000000001,
)
SLACK_KEY = ChannelKey("slack", SLACK_TEAM, SLACK_CHANNEL)
DISCORD_KEY = ChannelKey("discord", str(DISCORD_GUILD), str(DISCORD_CHANNEL))
HIDDEN_CRASH = APOLOGY_REF  # the error sink's reference id: a swallowed crash
OVERSIZE = "<!channel> @everyone " * 1_905  # 40,005 characters of hostile text


# -- the strategy -----------------------------------------------------------------
COMMAND_WORDS = [
    "search",
    "find",
    "show",
    "top",
    "top week",
    "top month",
    "subscribe",
    "sub",
    "unsubscribe",
    "unsub",
    "unsubscribe all",
    "list",
    "subs",
    "settings",
    "preview",
    "why",
    "help",
    "?",
    "pause",
    "resume",
    "set tz",
    "set timezone",
    "set time",
    "set top",
    "set days",
    "set threads",
    "set min-upvotes",
    "set min_upvotes",
    "set",
    "set colour",
    "/papers",
    "/papers search",
    "/PAPERS subscribe",
    "SEARCH",
    "frobnicate",
]
QUERY_FRAGMENTS = [
    "agents",
    "diffusion video",
    '"world model"',
    "OR",
    "AND",
    "NOT",
    "-survey",
    "transform*",
    "a*",
    "*",
    '"',
    '""',
    "(",
    ")",
    "((",
    "))",
    "-(",
    "-",
    "--",
    ":",
    'author:"Zifeng Wang"',
    "author:",
    "org:google",
    "org:",
    "title:benchmark",
    "title:",
    "upvotes:>=20",
    "upvotes:>=",
    "upvotes:abc",
    "upvotes:<=-1",
    "upvotes:99999999999999999999",
    "since:2026-08-01",
    "before:2026-09-01",
    "since:2026-13-40",
    "since:",
    "cat:cs.CL",
    "2608.19880",
    "2608.19880v2",
    "https://arxiv.org/abs/2608.19880",
    "huggingface.co/papers/2608.19880",
    "arxiv.org/pdf/2608.19880v1.pdf",
    "Europe/Berlin",
    "08:30",
    "25:99",
    "mon-fri",
    "daily",
    "mon,wed,fri",
    "on",
    "off",
    "0",
    "-1",
    "20",
    "21",
    "1e9",
    "all",
    "3",
    "week",
]
MENTIONS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!channel|channel>",
    "<!here|here>",
    "<!subteam^S0123ABC|@team>",
    "<!date^1392734382^{date}|x>",
    "<@U123>",
    "<@U0ANA0001>",
    "<@W123|ana>",
    "<#C1>",
    "<#C1|general>",
    "@everyone",
    "@here",
    "@channel",
    "<@&123>",
    "<@&123456789012345678>",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "@123456789012345678",
    "@&123456789012345678",
    "<https://evil.example|click>",
    "<javascript:alert(1)|x>",
    "<mailto:a@b.c>",
    "&lt;!channel&gt;",
    "&lt;",
    "&gt;",
    "&amp;",
    "&",
    "<",
    ">",
    "<<!channel>>",
    "<!channel",
    "!channel>",
    "@\u200beveryone",
    "@ everyone",
    "＠everyone",
    "\\@everyone",
    "@@everyone",
    "<@U123>>",
    "<<@U123>",
]
MARKDOWN = [
    "*bold*",
    "_it_",
    "~s~",
    "`code`",
    "```",
    "```block```",
    "> quote",
    ">>> quote",
    "[x](https://evil.example)",
    "||spoiler||",
    "# head",
    "\\",
    "\\\\",
    "__u__",
    "**b**",
    "<https://ok.example>",
    "https://a.example/?a=1&b=<2>|3",
]
CONTROL = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r",
    "\n",
    "\t",
    "\u200b",
    "\u202e",
    "\u2028",
    "\ufeff",
    "\x85",
    "\u00a0",
    "\U0001f4da",
    "e\u0301",
    "\ud7ff",
]

tokens = st.one_of(
    st.sampled_from(QUERY_FRAGMENTS),
    st.sampled_from(MENTIONS),
    st.sampled_from(MARKDOWN),
    st.sampled_from(CONTROL),
    st.text(max_size=12),  # any unicode, control characters included
    st.text(alphabet=st.characters(codec="ascii"), max_size=12),
    st.builds(lambda c, n: c * n, st.sampled_from('a<@!&*"(x-é'), st.integers(50, 2_500)),
)
separators = st.sampled_from([" ", " ", " ", "", "\n", "\t", "  "])


@st.composite
def command_lines(draw: st.DrawFn) -> str:
    head = draw(st.one_of(st.sampled_from(COMMAND_WORDS), st.just(""), tokens))
    parts = draw(st.lists(st.tuples(separators, tokens), max_size=8))
    return head + "".join(sep + token for sep, token in parts)


HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- one core for the module, on a loop of its own ---------------------------------------
@dataclasses.dataclass
class Env:
    loop: asyncio.AbstractEventLoop
    core: Paperpost

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    loop = asyncio.new_event_loop()
    core = loop.run_until_complete(
        Paperpost.open(
            Config(data_dir=tmp_path_factory.mktemp("hostile") / "data"),
            source=BundledSnapshot(),
            clock=FakeClock(),
            outbox_sleep=no_sleep,
        )
    )
    yield Env(loop, core)
    core.close()
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def run_examples(test: Any) -> int:
    """Run a Hypothesis test and return how many examples it ran."""
    counter = {"n": 0}

    @HYPOTHESIS
    @given(line=command_lines(), flags=st.tuples(st.booleans(), st.booleans()))
    def wrapped(line: str, flags: tuple[bool, bool]) -> None:
        test(line, flags)
        counter["n"] += 1

    wrapped()
    return counter["n"]


# -- Slack ---------------------------------------------------------------------------------
_SLACK_ALLOWED = re.compile(rf"<@{SLACK_USER}>|<https?://[^<>|\s]+\|[^<>]*>")


def _texts(value: Any) -> Iterator[str]:
    """Every text string of a Block Kit structure (values of ``text`` keys)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "text" and isinstance(v, str):
                yield v
            else:
                yield from _texts(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _texts(v)


def slack_problems(text: str, blocks: Any) -> list[str]:
    problems = []
    for t in [text, *_texts(blocks)]:
        if "<!" in t:
            problems.append(f"broadcast mention in {t!r}")
        if "<" in _SLACK_ALLOWED.sub("", t):
            problems.append(f"unescaped '<' in {t!r}")
        if HIDDEN_CRASH.search(t):
            problems.append(f"a crash was swallowed: {t!r}")
    problems += block_kit_problems(list(blocks))
    return problems


def check_slack_message(message: SlackMessage) -> None:
    assert slack_problems(message.text, message.blocks) == []


class FakeSlackClient:
    """The two Web API calls the slash-command listener makes, recorded."""

    def __init__(self) -> None:
        self.member = True
        self.posts: list[dict[str, Any]] = []

    def _refuse(self) -> SlackApiError:
        response = SimpleNamespace(data={"ok": False, "error": "not_in_channel"}, status_code=200)
        return SlackApiError("not_in_channel", response)  # type: ignore[arg-type]

    async def conversations_info(self, *, channel: str) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": channel, "is_member": self.member}}

    async def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        if not self.member:
            raise self._refuse()
        self.posts.append(kwargs)
        return {"ok": True, "ts": "1700000000.000001"}


def test_slack_slash_command_lines_never_leak_mentions(env: Env) -> None:
    client = FakeSlackClient()
    commands = SlashCommands(env.core, client)  # type: ignore[arg-type]

    def one(line: str, flags: tuple[bool, bool]) -> None:
        client.member, use_share = flags
        client.posts.clear()
        sent: list[dict[str, Any]] = []
        acks: list[bool] = []

        async def ack(*args: Any, **kwargs: Any) -> None:
            acks.append(True)

        async def respond(**kwargs: Any) -> None:
            sent.append(kwargs)

        payload = {
            "text": line,
            "channel_id": SLACK_CHANNEL,
            "user_id": SLACK_USER,
            "team_id": SLACK_TEAM,
        }
        env.run(commands.on_command(ack, payload, respond))
        assert acks == [True]
        assert sent, "the user always hears back"
        for message in [*client.posts, *sent]:
            assert slack_problems(message["text"], message["blocks"]) == [], line
        # The "Share in channel" button re-runs the command and posts it publicly.
        answer = sent[-1]
        buttons = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
        if use_share and buttons:
            body = {
                "actions": [{"value": buttons[0]["value"]}],
                "user": {"id": SLACK_USER},
                "team": {"id": SLACK_TEAM},
                "channel": {"id": SLACK_CHANNEL},
            }
            shared: list[dict[str, Any]] = []

            async def respond_share(**kwargs: Any) -> None:
                shared.append(kwargs)

            env.run(commands.on_share(ack, body, respond_share))
            for message in shared:
                assert slack_problems(message["text"], message["blocks"]) == [], line

    assert run_examples(one) >= EXAMPLES


# -- Discord -------------------------------------------------------------------------------
_DISCORD_MENTION = re.compile(r"@(everyone|here|[!&]?[0-9]{17,20})")
ANNOUNCE_PREFIX = f"<@{DISCORD_USER}> "
NO_MENTIONS = discord.AllowedMentions.none().to_dict()


class FakeInteraction:
    """What ``PaperCommands.run``/``announce`` touch on a ``discord.Interaction``."""

    def __init__(self, can_post: bool = True) -> None:
        self.id = 1500000000000000001
        self.guild_id = DISCORD_GUILD
        self.channel_id = DISCORD_CHANNEL
        self.user = SimpleNamespace(id=DISCORD_USER, display_name="ana")
        self.sent: list[dict[str, Any]] = []  # followups and channel posts, as send kwargs
        self.announcements: list[dict[str, Any]] = []
        self.can_post = can_post
        interaction = self

        class Response:
            async def defer(self, **kwargs: Any) -> None:
                pass

            async def send_message(self, content: str, **kwargs: Any) -> None:
                interaction.sent.append({"content": content, **kwargs})

        class Followup:
            async def send(self, **kwargs: Any) -> None:
                interaction.sent.append(kwargs)

        class Channel:
            async def send(self, content: str, **kwargs: Any) -> None:
                if not interaction.can_post:
                    raise discord.Forbidden(
                        SimpleNamespace(status=403, reason="no"), "Missing Access"
                    )
                interaction.announcements.append({"content": content, **kwargs})

        self.response = Response()
        self.followup = Followup()
        self.client = SimpleNamespace(get_partial_messageable=lambda *a, **k: Channel())


def _embed_texts(embed: discord.Embed) -> Iterator[str]:
    data = embed.to_dict()
    for key in ("title", "description"):
        if data.get(key):
            yield data[key]
    yield (data.get("footer") or {}).get("text") or ""
    yield (data.get("author") or {}).get("name") or ""
    for f in data.get("fields") or []:
        yield f["name"]
        yield f["value"]


def discord_problems(kwargs: dict[str, Any], *, announcement: bool = False) -> list[str]:
    problems = []
    mentions = kwargs.get("allowed_mentions")
    if not isinstance(mentions, discord.AllowedMentions) or mentions.to_dict() != NO_MENTIONS:
        problems.append(f"sent without AllowedMentions.none(): {mentions!r}")
    content = kwargs.get("content")
    content = "" if content in (None, discord.utils.MISSING) else content
    if announcement:
        if not content.startswith(ANNOUNCE_PREFIX):
            problems.append(f"announcement without the acting user: {content!r}")
        content = content.removeprefix(ANNOUNCE_PREFIX)
    embeds = kwargs.get("embeds")
    embeds = [] if embeds in (None, discord.utils.MISSING) else embeds
    for text in [content, *(t for e in embeds for t in _embed_texts(e))]:
        if _DISCORD_MENTION.search(text):
            problems.append(f"unescaped mention in {text!r}")
        if HIDDEN_CRASH.search(text):
            problems.append(f"a crash was swallowed: {text!r}")
    payload = {"content": content, "embeds": [e.to_dict() for e in embeds]}
    problems += embed_problems(payload)
    return problems


def discord_invocation(pc: PaperCommands, line: str) -> tuple[Any, tuple[Any, ...]]:
    """The typed slash command a user would fill in to say ``line``: the first
    word picks the command, the rest goes in its string option (clipped to the
    option's length, as Discord enforces); anything else is typed into search."""
    text = " ".join(line.split())
    if text.lower().startswith("/papers"):
        text = text[len("/papers") :].strip()
    word, _, rest = text.partition(" ")
    word = word.lower()
    papers, admin, set_ = pc.papers.get_command, pc.admin.get_command, pc.set.get_command
    search_text = line[: MAX_COMMAND_LENGTH - 20] if line.strip() else "x"
    value = rest or line or "x"
    simple = {"help": "help", "?": "help", "list": "list", "subs": "list", "settings": "settings"}
    if word in simple:
        return papers(simple[word]), ()
    if word in ("pause", "resume"):
        return admin(word), ()
    if word in ("search", "find"):
        return papers("search"), (value[: MAX_COMMAND_LENGTH - 20],)
    if word in ("show", "why"):
        return papers(word), (value[:300],)
    if word == "top":
        return papers("top"), (rest.lower() if rest.lower() in ("day", "week", "month") else None,)
    if word == "preview":
        return papers("preview"), (rest[:MAX_SUBSCRIPTION_LENGTH] or None,)
    if word in ("subscribe", "sub", "unsubscribe", "unsub"):
        name = "subscribe" if word.startswith("sub") and word != "subs" else "unsubscribe"
        return admin(name), (value[:MAX_SUBSCRIPTION_LENGTH],)
    if word == "set":
        setting, _, arg = rest.partition(" ")
        setting, arg = setting.lower(), arg or "x"
        if setting == "time":
            return set_("time"), (arg[:10],)
        if setting in ("tz", "timezone"):
            return set_("tz"), (arg[:64],)
        if setting == "top" and arg.strip().isdigit() and 1 <= int(arg) <= MAX_TOP_N:
            return set_("top"), (int(arg),)
        if (
            setting in ("min-upvotes", "min_upvotes")
            and arg.strip().isdigit()
            and int(arg) <= 100_000
        ):
            return set_("min-upvotes"), (int(arg),)
        if setting == "days" and arg in DAY_CHOICES:
            return set_("days"), (arg,)
        if setting == "threads":
            return set_("threads"), (arg.strip().lower() == "on",)
    return papers("search"), (search_text,)


def test_discord_slash_command_options_never_leak_mentions(env: Env) -> None:
    pc = PaperCommands(env.core)

    def one(line: str, flags: tuple[bool, bool]) -> None:
        interaction = FakeInteraction(can_post=flags[0])
        command, args = discord_invocation(pc, line)
        env.run(command.callback(interaction, *args))
        assert interaction.sent, "the user always hears back"
        for kwargs in interaction.sent:
            assert discord_problems(kwargs) == [], (line, command.qualified_name)
        for kwargs in interaction.announcements:
            assert discord_problems(kwargs, announcement=True) == [], line

    assert run_examples(one) >= EXAMPLES


# -- console -------------------------------------------------------------------------------
def test_console_lines_never_crash(env: Env) -> None:
    def one(line: str, flags: tuple[bool, bool]) -> None:
        reply = env.run(env.core.handle(CONSOLE_CHANNEL, line, user=console.CONSOLE_USER))
        assert isinstance(reply, Reply)
        out = console.render_reply(reply)
        assert isinstance(out, str) and out.strip()
        assert not HIDDEN_CRASH.search(out), (line, out)

    assert run_examples(one) >= EXAMPLES


# -- a hostile subscription and a hostile paper, in digests ---------------------------------
HOSTILE_DAY = date(2026, 8, 24)  # a Monday: not in the bundled snapshot
HOSTILE_PAPER = Paper(
    id="2608.99999",
    title="<!channel> @everyone <@U123> <#C1|general> Agents that ping <@&123456789012345678>",
    abstract="<!here> @here agents *bold* `code` <https://evil.example|click> "
    "<@123456789012345678> ||spoiler|| " * 20,
    authors=("<!channel>", "@everyone", "<@U999>", "Ana @here"),
    featured_days=(HOSTILE_DAY,),
    upvotes=999,
    organization="<!everyone> @here Org",
    organization_slug="evil",
    ai_summary=None,
    ai_keywords=("<!channel>", "agents"),
    github_repo="https://github.com/x/<!channel>|@everyone>",
    github_stars=3,
    project_page="javascript:alert(1)//<!here>",
    thumbnail="https://example.com/<!here>.png",
)


class CapturingSlackClient:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    async def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.posts.append(kwargs)
        return {"ok": True, "ts": f"1700000000.{len(self.posts):06d}"}


class CapturingDiscordClient:
    user = None

    def __init__(self) -> None:
        self.sends: list[dict[str, Any]] = []
        client = self

        class Channel:
            async def send(self, **kwargs: Any) -> Any:
                client.sends.append(kwargs)
                return SimpleNamespace(id=1600000000000000000 + len(client.sends))

        self._channel = Channel()
        self.http = SimpleNamespace(start_thread_with_message=self._thread)

    async def _thread(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get_partial_messageable(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel


async def test_hostile_subscription_and_title_render_safely_in_digests(core: Paperpost) -> None:
    await asyncio.to_thread(core.library.add_day, HOSTILE_DAY, [HOSTILE_PAPER])
    for key in (SLACK_KEY, DISCORD_KEY):
        reply = await core.handle(key, "subscribe <!channel> agents @everyone <@U123>")
        assert not reply.is_error, reply.text
        assert reply.announcement
        check_slack_message(slack_render.render_announcement(SLACK_USER, reply.announcement))
    digests = core.digests_for_day(HOSTILE_DAY, [SLACK_KEY, DISCORD_KEY])
    assert all([e.paper.id for e in d.entries] == [HOSTILE_PAPER.id] for d in digests)
    assert all(d.entries[0].why for d in digests)

    slack_digest, discord_digest = digests
    for threads in (False, True):
        digest = dataclasses.replace(slack_digest, threads=threads)
        for message in slack_render.render_digest(digest):
            check_slack_message(message)
        dig = dataclasses.replace(discord_digest, threads=threads)
        for part in discord_render.render_digest(dig):
            kwargs = {
                "content": part.content,
                "embeds": part.embeds,
                "allowed_mentions": discord.AllowedMentions.none(),
            }
            assert discord_problems(kwargs) == []

    # What the platforms actually send, with the kwargs they build.
    slack_client = CapturingSlackClient()
    await SlackPlatform(slack_client, sleep=no_sleep).post_digest(slack_digest, resume=False)  # type: ignore[arg-type]
    assert slack_client.posts
    for post in slack_client.posts:
        assert slack_problems(post["text"], post["blocks"]) == []
    discord_client = CapturingDiscordClient()
    platform = DiscordPlatform(discord_client)  # type: ignore[arg-type]
    for threads in (False, True):
        dig = dataclasses.replace(discord_digest, threads=threads)
        await platform.post_digest(dig, resume=False)
    assert discord_client.sends
    for kwargs in discord_client.sends:
        assert discord_problems(kwargs) == []

    # Replies carrying the paper: search, show, why, list.
    for line in (
        "search agents channel",
        f"show {HOSTILE_PAPER.id}",
        "list",
        f"why {HOSTILE_PAPER.id}",
        "top",
    ):
        for key in (SLACK_KEY, DISCORD_KEY):
            reply = await core.handle(key, line)
            check_slack_message(slack_render.render_reply(reply, share_value=line))
            check_slack_message(slack_render.render_shared(reply, user_id=SLACK_USER, command=line))
            for message in discord_render.render_reply(reply):
                kwargs = {
                    "content": message.content,
                    "embeds": message.embeds,
                    "allowed_mentions": discord.AllowedMentions.none(),
                }
                assert discord_problems(kwargs) == [], line
            assert isinstance(console.render_reply(reply), str)


# -- oversize -------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [SLACK_KEY, DISCORD_KEY, CONSOLE_CHANNEL], ids=str)
@pytest.mark.parametrize("prefix", ["", "search ", "subscribe ", "/papers set tz "])
async def test_oversize_command_line_is_an_error_about_length(
    core: Paperpost, key: ChannelKey, prefix: str
) -> None:
    line = prefix + OVERSIZE
    assert len(line) >= 40_000
    reply = await core.handle(key, line)
    assert reply.is_error
    assert "characters" in reply.text and f"{MAX_COMMAND_LENGTH:,}" in reply.text
    assert not reply.announcement
    assert core.channels.get(key).subscriptions == ()
    check_slack_message(slack_render.render_reply(reply))


@pytest.mark.parametrize("name", ["search", "subscribe", "unsubscribe", "preview", "show", "why"])
async def test_oversize_discord_option_is_an_error(core: Paperpost, name: str) -> None:
    """Discord enforces the options' lengths itself; the core does not rely on it."""
    reply = await core.execute(DISCORD_KEY, Command(name, OVERSIZE), user=str(DISCORD_USER))
    assert reply.is_error
    assert re.search(r"too long|at most|characters", reply.text), reply.text
    assert not HIDDEN_CRASH.search(reply.text)
    assert core.channels.get(DISCORD_KEY).subscriptions == ()


@pytest.fixture
async def slack_http(core: Paperpost, tmp_path: Path) -> Any:
    from paperpost.adapters.slack import start_slack

    async with FakeSlackAPI() as api:
        config = Config(
            data_dir=tmp_path / "data",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=api.url,
            port=0,
        )
        runtime = await start_slack(core, config)
        yield runtime, api
        await runtime.stop()


async def _post_command(url: str, api: FakeSlackAPI, text: str, key: str) -> int:
    body = form_body(slash_command(text, response_url=api.response_url(key)))
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=sign(body)) as r:
        return r.status


async def test_oversize_slash_command_over_http_is_answered_with_an_error(
    slack_http: Any, core: Paperpost
) -> None:
    runtime, api = slack_http
    for i, text in enumerate([OVERSIZE, "subscribe " + OVERSIZE, "x" * 40_960]):
        key = f"big{i}"
        assert await _post_command(runtime.url, api, text, key) == 200
        await api.wait_for(lambda key=key: any(r["key"] == key for r in api.responses))
        [answer] = [r for r in api.responses if r["key"] == key]
        assert answer["response_type"] == "ephemeral"
        assert "characters" in json.dumps(answer) and "2,000" in json.dumps(answer)
        assert slack_problems(answer["text"], answer["blocks"]) == []
    assert api.posts == []  # nothing announced in the channel
    assert core.channels.get(ChannelKey("slack", "T0TEST", "C0DIGEST1")).subscriptions == ()
    # Still serving afterwards.
    assert await _post_command(runtime.url, api, "search agents", "after") == 200
    await api.wait_for(lambda: any(r["key"] == "after" for r in api.responses))


async def test_absurd_body_is_refused_and_the_server_keeps_serving(slack_http: Any) -> None:
    runtime, api = slack_http
    status = await _post_command(runtime.url, api, "search " + "a" * 2_000_000, "huge")
    assert status == 413  # over the server's body limit: refused before any parsing
    assert await _post_command(runtime.url, api, "search agents", "after") == 200
    await api.wait_for(lambda: any(r["key"] == "after" for r in api.responses))
    assert not any(r["key"] == "huge" for r in api.responses)


def test_strategy_reaches_every_kind_of_input() -> None:
    """The generator is not degenerate: it makes mentions, long lines and commands."""
    seen: list[str] = []

    @settings(max_examples=500, deadline=None, database=None)
    @given(command_lines())
    def collect(line: str) -> None:
        seen.append(line)

    collect()
    assert any("<!" in s for s in seen)
    assert any("@everyone" in s or "@here" in s for s in seen)
    assert any(len(s) > MAX_COMMAND_LENGTH for s in seen)
    assert any(s.split()[:1] and s.split()[0] in ("search", "subscribe") for s in seen)
