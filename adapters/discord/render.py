"""Rendering core values (digests, replies) as Discord messages, within Discord's limits.

Discord does not truncate: an embed over a limit makes the whole message fail
with 400/50035, and ``discord.Embed`` checks nothing client-side. So every
text is escaped first (markdown and mentions), then cut to its field's limit,
and embeds are packed into messages under the per-message budgets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import discord

from paperpost.bot.channels.plain_text import authors_line
from paperpost.bot.channels.replies import Reply
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.papers.model import Paper

# Discord's documented limits (characters).
CONTENT_MAX = 2_000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_MAX = 6_000
TITLE_MAX = 256
DESCRIPTION_MAX = 4_096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1_024
FOOTER_MAX = 2_048
AUTHOR_MAX = 256
THREAD_NAME_MAX = 100
NONCE_MAX = 25
ROWS_PER_MESSAGE = 5  # action rows a message may hold

DIGEST_SUMMARY_CHARS = 700  # a digest card stays readable; the full abstract is a click away
REPLY_SUMMARY_CHARS = 300  # search results are a list to scan
FOOTER_RESERVE = 200  # room kept in each message's budget for the footer added after packing
EMBED_COLOUR = discord.Colour(0xFFD21E)  # Hugging Face yellow
_URL_SAFE = ":/?#@!$&'*+,;=%~-._"  # quote() keeps these; parentheses and spaces get encoded

__all__ = [
    "OutgoingMessage",
    "channel_text",
    "digest_nonce",
    "markdown_text",
    "paper_embed",
    "render_digest",
    "render_reply",
]


@dataclass(slots=True)
class OutgoingMessage:
    """One message to send: content plus embeds, already within limits."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)


@dataclass(slots=True)
class DigestPart(OutgoingMessage):
    """One message of a digest. ``ref`` (also the nonce) is written in the last
    embed's footer so the part can be recognised among the channel's messages."""

    index: int = 0
    ref: str = ""
    in_thread: bool = False
    papers: tuple[str, ...] = ()  # one row of 👍/🔖 buttons each (5 rows a message at most)


def _fit(text: str, limit: int) -> str:
    """Cut already-escaped text to ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:  # never leave a lone escape backslash that would swallow the ellipsis
        cut = cut[:-1]
    return cut + "…"


def markdown_text(text: str, limit: int) -> str:
    """Outside text for a markdown-rendering place (content, title, description, field)."""
    escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    return _fit(escaped, limit)


def channel_text(text: str, limit: int) -> str:
    """Outside text for a place Discord shows verbatim (embed author, footer)."""
    return _fit(discord.utils.escape_mentions(" ".join(text.split())), limit)


def _safe_url(url: str | None) -> str | None:
    """An http(s) URL safe inside ``[label](url)``, or None."""
    if not url or not re.match(r"^https?://[^\s]+$", url, re.IGNORECASE) or len(url) > 512:
        return None
    # "@" is encoded too, so no "@everyone" survives even inside a link target.
    return quote(url, safe=_URL_SAFE.replace("@", ""))


def links_line(paper: Paper) -> str:
    links = [f"[arXiv]({paper.arxiv_url})", f"[PDF]({paper.pdf_url})", f"[HF]({paper.hf_url})"]
    code = _safe_url(paper.github_repo)
    if code:
        stars = f" ★{paper.github_stars}" if paper.github_stars is not None else ""
        links.append(f"[Code]({code}){stars}")
    project = _safe_url(paper.project_page)
    if project:
        links.append(f"[Project]({project})")
    return _fit(" · ".join(links), FIELD_VALUE_MAX)


def paper_embed(
    paper: Paper, *, rank: int | None = None, why: str | None = None,
    summary_chars: int = DIGEST_SUMMARY_CHARS,
) -> discord.Embed:  # fmt: skip
    """One paper as an embed; at most ~2,600 characters whatever the paper holds."""
    title = f"{rank}. {paper.title}" if rank is not None else paper.title
    embed = discord.Embed(
        title=markdown_text(title, TITLE_MAX),
        url=paper.hf_url,
        description=markdown_text(paper.summary, summary_chars) or None,
        colour=EMBED_COLOUR,
    )
    if paper.authors:
        embed.set_author(name=channel_text(authors_line(paper), AUTHOR_MAX))
    embed.add_field(name="Upvotes", value=f"▲ {paper.upvotes}", inline=True)
    if paper.organization and paper.organization.strip():  # Discord refuses blank values
        embed.add_field(
            name="Organisation", value=markdown_text(paper.organization, 200), inline=True
        )
    embed.add_field(name="Links", value=links_line(paper), inline=False)
    if why:
        embed.add_field(name="Why", value=markdown_text(why, 300), inline=False)
    thumbnail = _safe_url(paper.thumbnail)
    if thumbnail:
        embed.set_thumbnail(url=thumbnail)
    return embed


def pack(
    embeds: Iterable[discord.Embed], *, reserve: int = 0, per_message: int = EMBEDS_PER_MESSAGE
) -> list[list[discord.Embed]]:
    """Group embeds into messages: at most ``per_message`` (10) each and 6,000
    characters across them."""
    messages: list[list[discord.Embed]] = []
    size = 0
    for embed in embeds:
        if (
            not messages
            or len(messages[-1]) == per_message
            or (size + len(embed) > EMBED_TOTAL_MAX - reserve)
        ):
            messages.append([])
            size = 0
        messages[-1].append(embed)
        size += len(embed)
    return messages


def digest_nonce(marker: str, part: int) -> str:
    """Deterministic per (channel, day, part): a retried post is deduplicated by Discord."""
    digest = hashlib.sha256(f"{marker}#{part}".encode()).hexdigest()
    return ("pp" + digest)[:NONCE_MAX]


def _footer(digest: Digest, index: int, count: int, ref: str) -> str:
    return channel_text(
        f"Paperpost · {digest.headline} · part {index + 1}/{count} · {ref}", FOOTER_MAX
    )


def _index_embed(entries: Sequence[DigestEntry]) -> discord.Embed:
    """Threads mode: the channel message lists the papers; details go in the thread."""
    lines = [
        f"{i}. [{markdown_text(e.paper.title, 200)}]({e.paper.hf_url}) ▲ {e.paper.upvotes}"
        for i, e in enumerate(entries, 1)
    ]
    description = ""
    for line in lines:  # whole lines only, so no link is ever cut in half
        if len(description) + len(line) + 1 > DESCRIPTION_MAX - 40:
            description += "\n…"
            break
        description += ("\n" if description else "") + line
    return discord.Embed(description=description or "No new papers.", colour=EMBED_COLOUR)


def render_digest(digest: Digest) -> list[DigestPart]:
    """A digest as messages: a headline, then one embed per paper, split as needed.

    With ``digest.threads`` the first part is a short list for the channel and
    the others belong in a thread started on it.
    """
    headline = markdown_text(f"📚 {digest.headline}", CONTENT_MAX)
    cards = [paper_embed(e.paper, rank=i, why=e.why) for i, e in enumerate(digest.entries, 1)]
    # Each card has its row of buttons: 5 rows a message; in a thread, one card a
    # message, so a reaction on it names one paper.
    per_message = 1 if digest.threads else ROWS_PER_MESSAGE
    packed = pack(cards, reserve=FOOTER_RESERVE, per_message=per_message)
    ids = [e.paper.id for e in digest.entries]
    papers: list[tuple[str, ...]] = []
    done = 0
    for embeds in packed:
        papers.append(tuple(dict.fromkeys(ids[done : done + len(embeds)])))
        done += len(embeds)
    if digest.threads:
        groups, papers = [[_index_embed(digest.entries)], *packed], [(), *papers]
    else:
        groups = packed or [
            [discord.Embed(description="No new papers today.", colour=EMBED_COLOUR)]
        ]
    parts = []
    for index, embeds in enumerate(groups):
        ref = digest_nonce(digest.marker, index)
        embeds[-1].set_footer(text=_footer(digest, index, len(groups), ref))
        parts.append(DigestPart(
            content=headline if index == 0 else None, embeds=embeds, index=index, ref=ref,
            in_thread=digest.threads and index > 0, papers=papers[index] if papers else (),
        ))  # fmt: skip
    return parts


def thread_name(digest: Digest) -> str:
    return digest.headline[:THREAD_NAME_MAX]


def _chunks(text: str, limit: int) -> list[str]:
    """Split at line ends into pieces of at most ``limit`` characters."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current or not pieces:
        pieces.append(current)
    return pieces


def render_reply(
    reply: Reply, *, code_block: bool = False, cards_per_message: int = EMBEDS_PER_MESSAGE
) -> list[OutgoingMessage]:
    """A command's reply as one or more messages (text first, then paper cards,
    ``cards_per_message`` at most a message: 5 when each gets a row of buttons)."""
    if code_block:  # usage text is column-aligned; only its backticks need neutralising
        body = discord.utils.escape_mentions(reply.text.replace("```", "`\u200b``"))
        texts = [f"```\n{chunk}\n```" for chunk in _chunks(body, CONTENT_MAX - 8)]
    else:
        prefix = "⚠️ " if reply.is_error else ""
        escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(reply.text))
        texts = _chunks(prefix + escaped, CONTENT_MAX)
    messages = [OutgoingMessage(content=t) for t in texts if t.strip()]
    cards = [paper_embed(p, rank=i, summary_chars=REPLY_SUMMARY_CHARS)
             for i, p in enumerate(reply.papers, 1)]  # fmt: skip
    for index, embeds in enumerate(pack(cards, per_message=cards_per_message)):
        if index == 0 and messages:
            messages[-1].embeds = embeds
        else:
            messages.append(OutgoingMessage(embeds=embeds))
    return messages or [OutgoingMessage(content="Done.")]
