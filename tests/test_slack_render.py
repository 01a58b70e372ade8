"""Block Kit rendering: limits, escaping, splitting, threads (pure functions)."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperpost.adapters.slack.escape import escape, escape_clip, safe_url
from paperpost.adapters.slack.render import (
    SHARE_ACTION,
    SlackMessage,
    render_announcement,
    render_digest,
    render_reply,
    render_shared,
)
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.replies import Reply
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.papers.model import Paper, papers_from_hf_day
from tests.fakes.hf_server import load_day
from tests.fakes.slack_api import block_kit_problems

CHANNEL = ChannelKey("slack", "T0TEST", "C0DIGEST1")
DAY = date(2026, 5, 12)
LINK = re.compile(r"<([^<>]*)>")
SAFE_LINK = re.compile(r"^https?://[^\s|<>]+\|[^<>]*$")
USER_MENTION = re.compile(r"^@U[A-Z0-9]+$")


def real_papers() -> list[Paper]:
    papers = papers_from_hf_day(load_day(DAY), requested_day=DAY)
    return sorted(papers, key=lambda p: -p.upvotes)


def mrkdwn_strings(message: SlackMessage) -> list[str]:
    out = [message.text]
    for block in message.blocks:
        if block["type"] == "section":
            out.append(block["text"]["text"])
        elif block["type"] == "context":
            out.extend(e["text"] for e in block["elements"])
    return out


def assert_valid(message: SlackMessage, *, mentions: bool = False) -> None:
    """Within Block Kit's limits, and no markup but our own links (and mentions)."""
    assert block_kit_problems(list(message.blocks)) == []
    assert 0 < len(message.text) <= 3_000
    for text in mrkdwn_strings(message):
        for inner in LINK.findall(text):
            allowed = SAFE_LINK.match(inner) or (mentions and USER_MENTION.match(inner))
            assert allowed, f"unexpected markup <{inner}> in {text[:200]!r}"
        bare = LINK.sub("", text)
        assert "<" not in bare and ">" not in bare, text[:300]


# -- escaping -----------------------------------------------------------------------
def test_escape_turns_markup_into_text() -> None:
    assert (
        escape("<!channel> & <@U123> <#C1>") == "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;#C1&gt;"
    )


def test_escape_clip_cuts_at_a_word_and_never_splits_an_entity() -> None:
    assert escape_clip("alpha beta gamma delta", 14) == "alpha beta …"
    clipped = escape_clip("&" * 100, 20)
    assert len(clipped) <= 20 and clipped.endswith(" …")
    assert clipped.removesuffix(" …").replace("&amp;", "") == ""


def test_safe_url_neutralises_link_breakers_and_other_schemes() -> None:
    assert safe_url("https://x.org/a|b<c>d e&f") == "https://x.org/a%7Cb%3Cc%3Ed%20e&amp;f"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("") is None


# -- digests ------------------------------------------------------------------------
def test_a_ten_paper_digest_is_one_message_with_everything() -> None:
    papers = real_papers()[:10]
    entries = tuple(DigestEntry(p, ("agents",) if i % 2 else ()) for i, p in enumerate(papers))
    [message] = render_digest(Digest(CHANNEL, DAY, entries))
    assert_valid(message)
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Top papers of Tue 12 May 2026", "emoji": True},
    }
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert len(sections) == 10
    first = papers[0]
    assert f"<https://huggingface.co/papers/{first.id}|" in sections[0]
    assert f"<https://arxiv.org/abs/{first.id}|arXiv>" in sections[0]
    assert f"<https://arxiv.org/pdf/{first.id}|PDF>" in sections[0]
    assert f"▲ {first.upvotes:,}" in sections[0]
    if len(first.authors) > 3:
        assert "et al." in sections[0]
    contexts = [b["elements"][0]["text"] for b in message.blocks if b["type"] == "context"]
    assert contexts[0] == "Top paper of the day" and contexts[1] == "Matched “agents”"
    assert message.text.startswith("Top papers of Tue 12 May 2026: ")


def test_code_link_shows_stars_and_project_page() -> None:
    paper = Paper(
        id="2605.00001", title="T", abstract="A", authors=("A",), featured_days=(DAY,),
        github_repo="https://github.com/o/r", github_stars=1234,
        project_page="https://proj.example/x?a=1&b=2",
    )  # fmt: skip
    [message] = render_digest(Digest(CHANNEL, DAY, (DigestEntry(paper),)))
    text = message.blocks[1]["text"]["text"]
    assert "<https://github.com/o/r|code ★1,234>" in text
    assert "<https://proj.example/x?a=1&amp;b=2|project page>" in text


def test_a_title_that_pings_pings_nobody() -> None:
    paper = Paper(
        id="2605.00002", title="<!channel> look <@U0ANA> at <#C1|x> & this",
        abstract="<!here> *bold*", authors=("<!everyone>",), featured_days=(DAY,),
        organization="<https://evil.example|Google>",
    )  # fmt: skip
    [message] = render_digest(Digest(CHANNEL, DAY, (DigestEntry(paper, ("<!subteam^S1>",)),)))
    assert_valid(message)
    assert "&lt;!channel&gt; look &lt;@U0ANA&gt;" in message.blocks[1]["text"]["text"]


def test_a_huge_digest_is_split_and_every_part_is_valid() -> None:
    papers = real_papers()
    entries = tuple(DigestEntry(p, ("q",)) for p in papers * 2)  # 100 entries
    messages = render_digest(Digest(CHANNEL, DAY, entries))
    assert len(messages) > 1
    for message in messages:
        assert_valid(message)
    sections = sum(b["type"] == "section" for m in messages for b in m.blocks)
    assert sections == len(entries)
    assert "(continued, 2/" in messages[1].blocks[0]["text"]["text"]


def test_threads_mode_lists_in_the_channel_and_details_in_threads() -> None:
    papers = real_papers()[:5]
    messages = render_digest(Digest(CHANNEL, DAY, tuple(map(DigestEntry, papers)), threads=True))
    assert len(messages) == 6
    assert messages[0].thread_parent is None
    assert [m.thread_parent for m in messages[1:]] == [0] * 5
    for message, paper in zip(messages[1:], papers, strict=True):
        assert_valid(message)
        assert paper.hf_url in message.blocks[0]["text"]["text"]


def test_rendering_is_deterministic_so_resume_finds_the_same_parts() -> None:
    digest = Digest(CHANNEL, DAY, tuple(map(DigestEntry, real_papers() * 2)), threads=True)
    assert render_digest(digest) == render_digest(digest)


def test_an_empty_digest_still_renders() -> None:
    [message] = render_digest(Digest(CHANNEL, DAY, ()))
    assert_valid(message)


# -- replies ------------------------------------------------------------------------
def test_a_shareable_reply_offers_a_share_button_carrying_the_command() -> None:
    reply = Reply("3 papers match “agents”", papers=tuple(real_papers()[:3]), shareable=True)
    message = render_reply(reply, share_value="search agents")
    assert_valid(message)
    actions = message.blocks[-1]
    assert actions["type"] == "actions"
    button = actions["elements"][0]
    assert (button["action_id"], button["value"]) == (SHARE_ACTION, "search agents")
    assert button["text"]["text"] == "Share in channel"


def test_a_plain_reply_has_no_button_and_help_keeps_its_columns() -> None:
    reply = Reply("/papers search QUERY        search\n/papers list                list")
    message = render_reply(reply, share_value="help")
    assert all(b["type"] != "actions" for b in message.blocks)
    assert message.blocks[0]["text"]["text"].startswith("```")


def test_announcement_mentions_the_user_and_escapes_the_rest() -> None:
    message = render_announcement("U0ANA0001", "subscribed this channel to “<!channel>”")
    assert message.text == "<@U0ANA0001> subscribed this channel to “&lt;!channel&gt;”"
    assert_valid(message, mentions=True)
    assert render_announcement("<!here>", "x").text == "x"


# -- properties ---------------------------------------------------------------------
PIECES = ["<!channel>", "<@U1>", "<#C1>", "&amp;", "http://", "|", "<", ">", "&", "\n", "*"]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=12).map("".join)
LONG_TEXT = st.one_of(TEXT, st.builds(lambda s, n: s * n, TEXT, st.integers(0, 200)))
URLISH = st.one_of(st.none(), TEXT, st.builds(lambda s: "https://x.org/" + s, LONG_TEXT))

papers = st.builds(
    Paper,
    id=st.one_of(st.just("2605.09063"), TEXT),
    title=LONG_TEXT,
    abstract=LONG_TEXT,
    authors=st.lists(LONG_TEXT, max_size=12).map(tuple),
    featured_days=st.just((DAY,)),
    upvotes=st.integers(0, 10**9),
    organization=st.one_of(st.none(), LONG_TEXT),
    ai_summary=st.one_of(st.none(), LONG_TEXT),
    github_repo=URLISH,
    github_stars=st.one_of(st.none(), st.integers(0, 10**7)),
    project_page=URLISH,
)
entries = st.builds(DigestEntry, papers, st.lists(LONG_TEXT, max_size=4).map(tuple))
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.lists(entries, max_size=40), st.booleans())
def test_any_digest_renders_within_every_limit(items: list[DigestEntry], threads: bool) -> None:
    digest = Digest(CHANNEL, DAY, tuple(items), threads=threads)
    messages = render_digest(digest)
    for message in messages:
        assert_valid(message)
    parents = [i for i, m in enumerate(messages) if m.thread_parent is None]
    assert all(m.thread_parent in parents for m in messages if m.thread_parent is not None)


@PROPERTY
@given(
    LONG_TEXT,
    st.lists(papers, max_size=60),
    st.booleans(),
    st.booleans(),
    st.one_of(st.none(), LONG_TEXT),
)
def test_any_reply_renders_within_every_limit(
    text: str, items: list[Paper], is_error: bool, shareable: bool, share: str | None
) -> None:
    reply = Reply(text, papers=tuple(items), is_error=is_error, shareable=shareable)
    assert_valid(render_reply(reply, share_value=share))
    assert_valid(render_shared(reply, user_id="U0ANA0001", command=share or ""), mentions=True)


@PROPERTY
@given(st.one_of(st.none(), TEXT), LONG_TEXT)
def test_any_announcement_renders_within_every_limit(user: str | None, text: str) -> None:
    assert_valid(render_announcement(user, text), mentions=True)
