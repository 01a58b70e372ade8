"""The weekly roundup on Discord: one message with one embed, posted once.

The embed's footer carries a ref (also the message's nonce, so Discord itself
drops a retried duplicate); a resumed post first looks for it among the
channel's recent messages. Titles are escaped (markdown and mentions) and the
message allows no mentions at all.
"""

from __future__ import annotations

import discord

from paperpost.adapters.discord.errors import TRANSIENT_EXCEPTIONS, delivery_error
from paperpost.adapters.discord.render import (
    CONTENT_MAX,
    EMBED_COLOUR,
    FIELD_VALUE_MAX,
    channel_text,
    digest_nonce,
    markdown_text,
)
from paperpost.bot.delivery.weekly_roundup import Roundup
from paperpost.bot.errors import DeliveryError

TITLE_CHARS = 150  # per paper: five lines and their links stay within a field's 1,024


def _lines(lines: list[str], limit: int) -> str:
    """Whole lines only, so no link is ever cut in half."""
    text = ""
    for line in lines:
        if len(text) + len(line) + 1 > limit - 2:
            return text + "\n…"
        text += ("\n" if text else "") + line
    return text


def render_roundup(roundup: Roundup) -> tuple[str, discord.Embed, str]:
    """(content, embed, ref): the ref is the nonce and ends the footer."""
    ref = digest_nonce(roundup.marker, 0)
    embed = discord.Embed(
        title=markdown_text(f"📚 {roundup.headline}", 256),
        description="A summary of the week: papers listed by reference, not digest entries.",
        colour=EMBED_COLOUR,
    )
    if roundup.team:
        lines = [
            (f"{i}. [{markdown_text(p.title, TITLE_CHARS)}]({p.url})" if p.url
             else f"{i}. {markdown_text(p.title, TITLE_CHARS)}")
            + f" · 👍 {p.likes} · 🔖 {p.saves}"
            for i, p in enumerate(roundup.team, 1)
        ]  # fmt: skip
        embed.add_field(
            name="The team's most liked and saved", value=_lines(lines, FIELD_VALUE_MAX),
            inline=False,
        )  # fmt: skip
    if roundup.missed:
        lines = [
            f"{i}. [{markdown_text(p.title, TITLE_CHARS)}]({p.hf_url}) · ▲ {p.upvotes}"
            for i, p in enumerate(roundup.missed, 1)
        ]
        embed.add_field(
            name="Most upvoted this week, not shown here", value=_lines(lines, FIELD_VALUE_MAX),
            inline=False,
        )  # fmt: skip
    embed.set_footer(text=channel_text(f"Paperpost · weekly roundup · {ref}", 2_048))
    content = markdown_text(f"📚 {roundup.headline}", CONTENT_MAX)
    return content, embed, ref


async def _already_posted(client: discord.Client, channel_id: int, ref: str, limit: int) -> bool:
    me = client.user.id if client.user else None
    async for message in client.get_partial_messageable(channel_id).history(limit=limit):
        if me is not None and message.author.id != me:
            continue
        if any(ref in (embed.footer.text or "") for embed in message.embeds):
            return True
    return False


async def post_roundup(
    client: discord.Client, roundup: Roundup, *, resume: bool, history_limit: int
) -> None:
    """Post the roundup (after looking for it when resuming); ``DeliveryError`` on failure."""
    if roundup.channel.platform != "discord" or not roundup.channel.channel.isdigit():
        raise DeliveryError(f"{roundup.channel} is not a Discord channel", permanent=True)
    channel_id = int(roundup.channel.channel)
    content, embed, ref = render_roundup(roundup)
    try:
        if resume and await _already_posted(client, channel_id, ref, history_limit):
            return
        await client.get_partial_messageable(channel_id).send(
            content=content,
            embed=embed,
            nonce=ref,
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except TRANSIENT_EXCEPTIONS as exc:
        raise delivery_error(exc) from exc
