"""Block Kit rendering of digests and replies: pure functions, no I/O.

Limits held here whatever the input: 50 blocks a message, 3,000 characters a
section, 150 a header, 75 a button's text, 10 context elements. A digest too
big for one message is split into parts, deterministically, so a resumed
delivery renders the very same parts and can tell which ones are posted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from paperpost.adapters.slack.cards import (
    SECTION_LIMIT,
    compact_line,
    one_line,
    paper_card,
    why_text,
)
from paperpost.adapters.slack.escape import escape, escape_clip
from paperpost.adapters.slack.vote_blocks import vote_actions
from paperpost.bot.channels.replies import Reply
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.feedback.presses import Counts
from paperpost.bot.papers.model import Paper

MAX_BLOCKS = 50
# Slack refuses a message whose blocks hold more than about 12,000 characters of
# text in all (msg_blocks_too_long, undocumented; seen near 13,200): stay below.
MAX_CHARS = 11_000
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3_000
BUTTON_VALUE_LIMIT = 2_000
SHARE_ACTION = "paperpost_share"
DIGEST_SUMMARY = 350  # in a digest message; a thread reply shows more
THREAD_SUMMARY = 2_000
REPLY_SUMMARY = 300
SHOW_SUMMARY = 2_000  # a reply with one paper (``show``) shows it in full
MAX_TEXT_SECTIONS = 3  # 8,700 characters: room left under MAX_CHARS for papers
_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,30}$")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One message: ``text`` is the notification fallback (escaped mrkdwn),
    ``blocks`` serialised Block Kit; ``thread_parent`` is the index of the
    part this message replies to in a threaded digest; ``papers`` the ids of
    the papers whose 👍/🔖 buttons it carries."""

    text: str
    blocks: tuple[dict, ...]
    thread_parent: int | None = None
    papers: tuple[str, ...] = ()


def _serialise(blocks: Sequence[Block]) -> tuple[dict, ...]:
    # to_dict() runs slack_sdk's validators: a limit broken here fails loudly in tests.
    return tuple(b.to_dict() for b in blocks)


def _header(text: str) -> HeaderBlock:
    clipped = text if len(text) <= HEADER_LIMIT else text[: HEADER_LIMIT - 1] + "…"
    return HeaderBlock(text=PlainTextObject(text=clipped, emoji=True))


def _section(mrkdwn: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=mrkdwn or " "))


def _context(mrkdwn: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=mrkdwn or " ")])


def _text_size(value: object) -> int:
    """Characters of text in serialised blocks (what Slack's cumulative limit counts)."""
    if isinstance(value, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else _text_size(v)
            for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return sum(_text_size(v) for v in value)
    return 0


def _size(blocks: Sequence[Block]) -> int:
    return _text_size([b.to_dict() for b in blocks])


def _pack(groups: list[list[Block]], *, room: int) -> list[list[Block]]:
    """Fill messages with whole groups (a paper's blocks stay together), within
    ``room`` blocks and MAX_CHARS characters each."""
    messages: list[list[Block]] = [[]]
    used = 0
    for group in groups:
        size = _size(group)
        current = messages[-1]
        if current and (len(current) + len(group) > room or used + size > MAX_CHARS):
            messages.append([])
            used = 0
        messages[-1].extend(group)
        used += size
    return messages


def _fallback(head: str, papers: Sequence[Paper]) -> str:
    titles = ", ".join(one_line(p.title) for p in papers)
    return escape_clip(f"{head}: {titles}" if titles else head, FALLBACK_LIMIT)


def _entry_blocks(
    entry: DigestEntry, rank: int, *, summary: int, buttons: bool = True
) -> list[Block]:
    """A paper's full entry, with its 👍/🔖 buttons (threads mode: in its reply)."""
    blocks: list[Block] = [
        _section(paper_card(entry.paper, summary_limit=summary, rank=rank)),
        _context(why_text(entry.why)),
    ]
    if buttons:
        blocks.append(vote_actions(entry.paper.id, digest=True))
    return blocks


def _firsts(entries: Sequence[tuple[int, DigestEntry]]) -> list[bool]:
    """Whether each entry is its paper's first: a repeat gets no second set of buttons."""
    ids = [e.paper.id for _, e in entries]
    return [ids.index(paper_id) == i for i, paper_id in enumerate(ids)]


def render_digest(digest: Digest) -> list[SlackMessage]:
    """The messages of one digest, in posting order. Plain mode: the whole
    digest in one message when it fits, else split. Threads mode: the list in
    the channel, then each paper's details as a reply in its list's thread."""
    entries = list(enumerate(digest.entries, 1))
    if not entries:
        blocks = [_header(digest.headline), _section("No new papers for this channel today.")]
        return [SlackMessage(text=escape(digest.headline), blocks=_serialise(blocks))]
    if digest.threads:
        groups = [
            [_section(compact_line(e.paper, rank=r)), _context(why_text(e.why))] for r, e in entries
        ]
    else:
        groups = [
            [*_entry_blocks(e, r, summary=DIGEST_SUMMARY, buttons=first), DividerBlock()]
            for (r, e), first in zip(entries, _firsts(entries), strict=True)
        ]
    packed = _pack(groups, room=MAX_BLOCKS - 1)  # one block left for the header
    papers = [e.paper for _, e in entries]
    messages: list[SlackMessage] = []
    parent_of: list[int] = []  # for each paper, the index of the message listing it
    for i, blocks in enumerate(packed):
        if isinstance(blocks[-1], DividerBlock):
            blocks.pop()
        head = digest.headline
        if i:
            head += f" (continued, {i + 1}/{len(packed)})"
        here = papers[len(parent_of) : len(parent_of) + _count(blocks)]
        parent_of.extend([i] * len(here))
        blocks.insert(0, _header(head))
        voted = () if digest.threads else tuple(dict.fromkeys(p.id for p in here))
        messages.append(SlackMessage(_fallback(head, here), _serialise(blocks), papers=voted))
    if digest.threads:
        for (rank, entry), parent in zip(entries, parent_of, strict=True):
            blocks = _entry_blocks(entry, rank, summary=THREAD_SUMMARY)  # one paper a message
            text = escape_clip(f"{rank}. {one_line(entry.paper.title)}", FALLBACK_LIMIT)
            messages.append(
                SlackMessage(text, _serialise(blocks), parent, papers=(entry.paper.id,))
            )
    return messages


def _count(blocks: Sequence[Block]) -> int:
    """Papers in a packed message: each paper has exactly one section."""
    return sum(isinstance(b, SectionBlock) for b in blocks)


def _text_sections(text: str) -> list[Block]:
    """Reply text as sections of at most SECTION_LIMIT escaped characters, cut
    between lines; column-aligned text (help) goes in a code block."""
    aligned = "  " in text.strip() and "\n" in text
    limit = SECTION_LIMIT - (8 if aligned else 0)
    chunks: list[str] = []
    for line in text.replace("```", "'''").splitlines() or [""]:
        piece = escape_clip(line, limit)
        if chunks and len(chunks[-1]) + 1 + len(piece) <= limit:
            chunks[-1] += "\n" + piece
        else:
            chunks.append(piece)
    chunks = chunks[:MAX_TEXT_SECTIONS]
    return [_section(f"```{c}```" if aligned else c) for c in chunks if c.strip()]


def render_reply(
    reply: Reply, *, share_value: str | None = None, votes: Mapping[str, Counts] | None = None
) -> SlackMessage:
    """An answer to a command (sent ephemerally). Shareable replies get a
    "Share in channel" button carrying ``share_value`` (the command to re-run).
    With ``votes`` (in the channel: a shared result, a link card) each paper
    gets its 👍/🔖 buttons, labelled with its counts there; one block is then
    left free for ``render_shared``'s line."""
    text = (":warning: " if reply.is_error else "") + reply.text
    blocks = _text_sections(text)
    offer_share = bool(reply.shareable and share_value and len(share_value) <= BUTTON_VALUE_LIMIT)
    room = MAX_BLOCKS - len(blocks) - (1 if offer_share else 0) - 1  # 1 for "and N more"
    if votes is not None:
        room = (room - 1) // 2  # a card and its buttons per paper
    summary = SHOW_SUMMARY if len(reply.papers) == 1 else REPLY_SUMMARY
    shown: list[Paper] = []
    used = _size(blocks)
    numbered = len(reply.papers) > 1
    for rank, paper in enumerate(reply.papers[:room], 1):
        card_text = paper_card(paper, summary_limit=summary, rank=rank if numbered else None)
        card = _section(card_text)
        used += len(card_text)  # what _size counts for a section (to_dict once, at the end)
        if used > MAX_CHARS:
            break
        blocks.append(card)
        if votes is not None and paper.id not in {p.id for p in shown}:  # unique block ids
            blocks.append(vote_actions(paper.id, votes.get(paper.id), digest=False))
        shown.append(paper)
    if len(reply.papers) > len(shown):
        blocks.append(_context(f"… and {len(reply.papers) - len(shown)} more"))
    if offer_share:
        button = ButtonElement(text="Share in channel", action_id=SHARE_ACTION, value=share_value)
        blocks.append(ActionsBlock(elements=[button]))
    if not blocks:
        blocks.append(_section(" "))
    fallback = escape_clip(one_line(text), FALLBACK_LIMIT) or "Paperpost"
    return SlackMessage(fallback, _serialise(blocks), papers=tuple(p.id for p in shown))


def render_shared(reply: Reply, *, user_id: str, command: str) -> SlackMessage:
    """A shared result as posted in the channel: who shared what, each paper's
    👍/🔖 buttons, no Share button."""
    body = render_reply(reply, votes={})
    who = f"{mention(user_id)} shared `{escape_clip(one_line(command), 200)}`"
    blocks = (_context(who).to_dict(), *body.blocks[: MAX_BLOCKS - 1])
    return SlackMessage(body.text, blocks)


def render_announcement(user_id: str | None, announcement: str) -> SlackMessage:
    """``<@USER> `` + the announcement, escaped: posted in the channel."""
    who = mention(user_id)
    text = escape_clip(one_line(announcement), SECTION_LIMIT - len(who) - 1)
    line = f"{who} {text}" if who and text else (who or text or "Paperpost")
    return SlackMessage(line, _serialise([_section(line)]))


def mention(user_id: str | None) -> str:
    """``<@U…>`` only for a well-formed user id: nothing else may open a ``<``."""
    return f"<@{user_id}>" if user_id and _USER_ID.match(user_id) else ""
