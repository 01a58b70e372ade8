"""The "Show paper" message context-menu command (right-click a message → Apps).

Discord lets a bot read message text without the privileged Message Content
intent only in the message an interaction targets, so link cards on Discord are
asked for: the command answers the person who used it, ephemerally, with the
card of each arxiv.org / huggingface.co paper the message links to (its text,
and the links of its embeds, so it works on a digest's cards too).
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from paperpost.adapters.discord.buttons import ROWS, vote_view
from paperpost.adapters.discord.render import render_reply
from paperpost.bot.channels.replies import Reply, apology
from paperpost.bot.papers.links import MAX_LINKS, paper_urls
from paperpost.bot.ports import Core

log = logging.getLogger(__name__)

MENU_NAME = "Show paper"
NO_LINKS = "This message has no arxiv.org or huggingface.co/papers link."
NOT_FOUND = "I could not find the paper this message links to (on Hugging Face or arXiv)."


def message_links(message: discord.Message) -> list[str]:
    """Paper links in the message's text and in its embeds' URLs, each once."""
    texts = [message.content or "", *(str(e.url) for e in message.embeds if e.url)]
    urls = [url for text in texts for url in paper_urls(text)]
    return list(dict.fromkeys(urls))[:MAX_LINKS]


def show_paper_menu(core: Core) -> app_commands.ContextMenu:
    async def show_paper(interaction: discord.Interaction, message: discord.Message) -> None:
        urls = message_links(message)
        if not urls:
            await interaction.response.send_message(NO_LINKS, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)  # within 3 s
        try:
            found = await core.papers_linked(urls)
            papers = tuple({p.id: p for p in found.values()}.values())
            reply = Reply(text="" if papers else NOT_FOUND, papers=papers)
        except Exception as exc:  # the core never raises; the last line of defence
            reply = apology(exc, platform="discord", command=MENU_NAME)
        await _send(interaction, reply)

    return app_commands.ContextMenu(name=MENU_NAME, callback=show_paper)


async def _send(interaction: discord.Interaction, reply: Reply) -> None:
    """The cards, 5 a message, each with its row of 👍/🔖 buttons."""
    ids = [p.id for p in reply.papers]
    shown = 0
    for message in render_reply(reply, cards_per_message=ROWS):
        papers, shown = ids[shown : shown + len(message.embeds)], shown + len(message.embeds)
        await interaction.followup.send(
            content=message.content or discord.utils.MISSING,
            embeds=message.embeds or discord.utils.MISSING,
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
            view=vote_view(papers) if papers else discord.utils.MISSING,
        )


__all__ = ["MENU_NAME", "message_links", "show_paper_menu"]
