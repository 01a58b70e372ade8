"""Rendering within Discord's limits and without pings, whatever the paper text."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from paperpost.adapters.discord import BOT_PERMISSIONS, invite_url
from paperpost.adapters.discord.command_tree import for_discord
from paperpost.adapters.discord.render import digest_nonce, render_digest, render_reply
from paperpost.bot.channels.grammar import USAGE
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.replies import Reply
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.papers.model import Paper
from tests.fakes.discord_fake import embed_problems

KEY = ChannelKey("discord", "1", "2")
DAY = date(2026, 8, 21)
MENTIONS = ["@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>", "*", "`", "|"]
# Text full of what breaks renderers: mentions, markdown, huge runs, backslashes.
nasty = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(list("@\\*_~`>\n"))),
    max_size=300,
) | st.lists(st.sampled_from([*MENTIONS, "x" * 500, "\\"]), max_size=20).map("".join)  # fmt: skip
urls = st.one_of(st.none(), st.text(max_size=80), st.just("https://x.io/a b)(c"))


@st.composite
def papers(draw: st.DrawFn) -> Paper:
    long = st.one_of(nasty, st.just("@everyone " * 800))
    return Paper(
        id=f"2608.{draw(st.integers(10000, 99999))}",
        title=draw(long), abstract=draw(long),
        authors=tuple(draw(st.lists(nasty, max_size=12))),
        featured_days=(DAY,), upvotes=draw(st.integers(0, 10**6)),
        organization=draw(st.one_of(st.none(), long)),
        ai_summary=draw(st.one_of(st.none(), long)),
        github_repo=draw(urls), github_stars=draw(st.one_of(st.none(), st.integers(0, 10**6))),
        project_page=draw(urls), thumbnail=draw(urls),
    )  # fmt: skip


def no_ping(text: str | None) -> bool:
    # escape_mentions puts a zero-width space after the @: shown, never parsed.
    return not re.search(r"@(everyone|here)|<@[!&]?\d", text or "")


def all_texts(payload: dict) -> list[str]:
    texts = [payload.get("content") or ""]
    for e in payload.get("embeds", []):
        texts += [e.get("title", ""), e.get("description", ""), e.get("footer", {}).get("text", "")]
        texts += [e.get("author", {}).get("name", "")]
        texts += [f["name"] + f["value"] for f in e.get("fields", [])]
    return texts


@settings(max_examples=80, deadline=None)
@given(entries=st.lists(st.tuples(papers(), st.lists(nasty, max_size=3)), max_size=20),
       threads=st.booleans())  # fmt: skip
def test_digest_within_limits_and_never_pings(
    entries: list[tuple[Paper, list[str]]], threads: bool
) -> None:
    digest = Digest(KEY, DAY, tuple(DigestEntry(p, tuple(m)) for p, m in entries), threads)
    parts = render_digest(digest)
    assert parts and parts[0].content
    for part in parts:
        payload = {"content": part.content, "embeds": [e.to_dict() for e in part.embeds]}
        assert embed_problems(payload) == []
        assert all(no_ping(t) for t in all_texts(payload))
        assert len(part.ref) <= 25 and part.ref in part.embeds[-1].footer.text
    assert len({p.ref for p in parts}) == len(parts)
    cards = [e for p in parts if p.in_thread == threads for e in p.embeds]
    assert len(cards) == (len(entries) or (0 if threads else 1))  # one card a paper
    assert render_digest(digest)[-1].ref == parts[-1].ref  # deterministic, for resume


@settings(max_examples=60, deadline=None)
@given(text=nasty, found=st.lists(papers(), max_size=12), is_error=st.booleans())
def test_reply_within_limits_and_never_pings(text: str, found: list[Paper], is_error: bool) -> None:
    messages = render_reply(Reply(text * 10, tuple(found), is_error))
    for message in messages:
        payload = {"content": message.content, "embeds": [e.to_dict() for e in message.embeds]}
        assert embed_problems(payload) == []
        assert all(no_ping(t) for t in all_texts(payload))
    assert sum(len(m.embeds) for m in messages) == len(found)


def test_title_markdown_is_escaped() -> None:
    paper = Paper("2608.00001", "**bold** _it_ @everyone", "", ("A",), (DAY,))
    [part] = render_digest(Digest(KEY, DAY, (DigestEntry(paper),)))
    title = part.embeds[0].title or ""
    assert "\\*\\*bold\\*\\*" in title and "@\u200beveryone" in title


def test_help_is_a_code_block_with_admin_commands() -> None:
    [message] = render_reply(Reply(for_discord(USAGE)), code_block=True)
    assert message.content and message.content.startswith("```\n")
    assert "/papers-admin subscribe QUERY" in message.content
    assert "/papers-admin set time" in message.content and "/papers search" in message.content


def test_nonce_is_deterministic_and_short() -> None:
    assert digest_nonce("m", 0) == digest_nonce("m", 0) != digest_nonce("m", 1)
    assert len(digest_nonce("x" * 500, 99)) == 25


def test_invite_url() -> None:
    url = invite_url(1234)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://discord.com/oauth2/authorize"
    query = parse_qs(parts.query)
    assert query["client_id"] == ["1234"]
    assert "scope=bot+applications.commands" in url
    granted = discord.Permissions(int(query["permissions"][0]))
    # View Channel, Send Messages, Embed Links, Create Public Threads, Send in Threads
    assert granted.value == (1 << 10) | (1 << 11) | (1 << 14) | (1 << 35) | (1 << 38)
    assert granted == BOT_PERMISSIONS


def test_the_admin_group_holds_exactly_the_commands_that_change_a_channel() -> None:
    from paperpost.adapters.discord.command_tree import PaperCommands
    from paperpost.bot.channels.grammar import CHANGES_CHANNEL, COMMAND_NAMES

    commands = PaperCommands(core=None)  # type: ignore[arg-type]
    admin = {c.name for c in commands.admin.commands}
    public = {c.name for c in commands.papers.commands}
    assert admin == CHANGES_CHANNEL
    assert public == set(COMMAND_NAMES) - CHANGES_CHANNEL
    assert for_discord("try /papers unsubscribe 1 or /papers set top 3, /papers list") == (
        "try /papers-admin unsubscribe 1 or /papers-admin set top 3, /papers list"
    )


MARKDOWN = [
    "**bold**", "__underline__", "~~strike~~", "||spoiler||", "`code`",
    "[click here](https://evil.example/login)", "> quoted", "# Heading",
]  # fmt: skip


def test_reply_text_and_cards_show_markdown_as_typed_never_as_formatting() -> None:
    """User text (an echoed query) and upstream text (a title) are shown, not rendered:
    no bold, no spoiler, and above all no masked link that hides where it points."""
    for raw in MARKDOWN:
        paper = Paper("2608.00001", f"A {raw} title", "", ("A",), (DAY,), organization=raw)
        [message] = render_reply(Reply(f"{raw}\nmatched nothing.", (paper,)))
        payload = {"content": message.content, "embeds": [e.to_dict() for e in message.embeds]}
        texts = [message.content or "", *all_texts(payload)]
        # Quotes and headings are markup only at the start of a line; the rest anywhere
        # unless a backslash comes first (then Discord shows them as typed).
        start = r"(?m)^" if raw[0] in ">#" else r"(?<!\\)"
        unescaped = re.compile(start + re.escape(raw))
        assert not any(unescaped.search(t) for t in texts), raw
        assert discord.utils.escape_markdown(raw) in (message.content or ""), raw
