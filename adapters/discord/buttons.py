"""👍 and 🔖 on Discord: persistent buttons and reactions.

Each paper on a message gets one row with two buttons whose custom id is
``pp:like:ID`` / ``pp:save:ID``. They are ``discord.ui.DynamicItem``s: the
client registers the template once (``add_dynamic_items``), so a press on a
message posted before a restart, or by the ``paperpost digest`` cron job,
still arrives. The id is checked to have an arXiv id's form before use.

A press is acknowledged at once (a deferred update: the message stays as it
is), toggles the presser's vote, then asks for the message's buttons to be
relabelled with the counts. Edits are coalesced (at most one per message per
second, spaced across messages, since edits share the channel's message
bucket) and send the components only: content and embeds, where the
digest's marker lives, are untouched. On an ephemeral reply ("Show paper")
the press answers with the relabelled buttons directly.

A 👍 or 🔖 reaction on a message recorded with one paper (a thread message
in threads mode) casts the same vote; removing it takes it back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.errors import CommandError
from paperpost.bot.feedback.edits import EditCoalescer
from paperpost.bot.feedback.presses import Counts, Presses, valid_paper_id
from paperpost.bot.feedback.votes import Kind

log = logging.getLogger(__name__)

TEMPLATE = r"pp:(?P<kind>like|save):(?P<id>[A-Za-z0-9./\-]{1,40})"
ROWS = 5  # action rows a message may hold: one paper each
PER_MESSAGE = 1.0  # seconds between two edits of one message
EDIT_GAP = 0.25  # between any two edits: they share the channel's message bucket
REACTIONS = {"👍": Kind.LIKE, "🔖": Kind.SAVE}

EditKey = tuple[int, int]  # channel (or thread) id, message id


def _label(word: str, count: int) -> str:
    return f"{word} · {count:,}" if count else word


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """One paper's 👍 or 🔖: its kind and paper id live in the custom id."""

    def __init__(self, kind: Kind, paper_id: str, *, count: int = 0, row: int | None = None):
        emoji, word = ("👍", "Useful") if kind is Kind.LIKE else ("🔖", "Save")
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=_label(word, count),
            emoji=emoji,
            style=discord.ButtonStyle.secondary,
            custom_id=f"pp:{kind}:{paper_id}",
        )
        super().__init__(button, row=row)
        self.kind = kind
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> VoteButton:
        return cls(Kind(match["kind"]), match["id"])  # the id is validated before use

    async def callback(self, interaction: discord.Interaction) -> None:
        votes = getattr(interaction.client, "votes", None)
        if isinstance(votes, DiscordVotes):
            await votes.on_press(interaction, self.kind, self.paper_id)
        else:  # a client without feedback: acknowledge, change nothing
            await interaction.response.defer()


def vote_view(papers: Sequence[str], counts: Mapping[str, Counts] | None = None) -> discord.ui.View:
    """One row of 👍/🔖 per paper (at most 5), labelled with ``counts``."""
    view = discord.ui.View(timeout=None)
    for row, paper_id in enumerate(list(dict.fromkeys(papers))[:ROWS]):
        tally = (counts or {}).get(paper_id, Counts())
        view.add_item(VoteButton(Kind.LIKE, paper_id, count=tally.likes, row=row))
        view.add_item(VoteButton(Kind.SAVE, paper_id, count=tally.saves, row=row))
    return view


def buttons_papers(message: discord.Message | None) -> list[str]:
    """The paper ids of our buttons on ``message``, in order."""
    found: list[str] = []
    for row in message.components if message is not None else []:
        for child in getattr(row, "children", []):
            match = re.fullmatch(TEMPLATE, getattr(child, "custom_id", None) or "")
            if match and valid_paper_id(match["id"]):
                found.append(match["id"])
    return list(dict.fromkeys(found))


def _where(guild_id: int | None, channel_id: int | None) -> ChannelKey | None:
    if guild_id is None or channel_id is None:
        return None  # a direct message: no channel's votes
    try:
        return ChannelKey.parse(f"discord:{guild_id}:{channel_id}")
    except CommandError:
        return None


class DiscordVotes:
    def __init__(
        self,
        presses: Presses,
        client: discord.Client,
        *,
        per_message: float = PER_MESSAGE,
        gap: float = EDIT_GAP,
    ) -> None:
        self.presses = presses
        self.client = client
        self.edits: EditCoalescer[EditKey] = EditCoalescer(
            self._edit, per_message=per_message, gap=gap
        )
        self._latest: dict[EditKey, tuple[ChannelKey, tuple[str, ...]]] = {}

    async def stop(self) -> None:
        await self.edits.aclose()

    async def on_press(self, interaction: discord.Interaction, kind: Kind, paper_id: str) -> None:
        message = interaction.message
        ephemeral = message is not None and message.flags.ephemeral
        if not ephemeral:
            await interaction.response.defer()  # first: Discord gives 3 s
        try:
            await self._press(interaction, kind, paper_id, ephemeral=ephemeral)
        except Exception:  # the interaction is acknowledged; the log keeps the failure
            log.exception("button press failed")
        if not interaction.response.is_done():
            await interaction.response.defer()

    async def _press(
        self, interaction: discord.Interaction, kind: Kind, paper_id: str, *, ephemeral: bool
    ) -> None:
        where = _where(interaction.guild_id, interaction.channel_id)
        message = interaction.message
        if where is None or message is None or valid_paper_id(paper_id) is None:
            log.debug("malformed button press ignored")
            return
        recorded = await self.presses.message(where, str(message.id))
        channel = recorded.channel if recorded else where
        user = interaction.user
        cast = await self.presses.press(channel, paper_id, kind, str(user.id), user.display_name)
        if cast is None:
            log.debug("press on unknown paper %s in %s ignored", paper_id, channel)
            return
        papers = recorded.papers if recorded else tuple(buttons_papers(message))
        if ephemeral:  # only the presser sees it: answer with the new labels at once
            counts = await self.presses.counts(channel, papers)
            await interaction.response.edit_message(view=vote_view(papers, counts))
            return
        key = (message.channel.id, message.id)
        self._latest[key] = (channel, papers)
        self.edits.request(key)

    async def _edit(self, key: EditKey) -> None:
        latest = self._latest.get(key)
        if latest is None:
            return
        try:
            channel, papers = latest
            counts = await self.presses.counts(channel, papers)
            partial = self.client.get_partial_messageable(key[0]).get_partial_message(key[1])
            await partial.edit(view=vote_view(papers, counts))  # components only
        finally:
            if self._latest.get(key) is latest:  # a newer press keeps its own
                del self._latest[key]

    async def on_reaction(self, payload: discord.RawReactionActionEvent, *, cast: bool) -> None:
        try:
            name = payload.emoji.name or ""
            kind = next((k for emoji, k in REACTIONS.items() if name.startswith(emoji)), None)
            me = self.client.user.id if self.client.user else None
            if kind is None or payload.user_id == me:
                return  # any other emoji, or our own: not feedback
            where = _where(payload.guild_id, payload.channel_id)
            recorded = await self.presses.message(where, str(payload.message_id)) if where else None
            if recorded is None or len(recorded.papers) != 1:
                log.debug("reaction on a message without one recorded paper ignored")
                return
            paper = recorded.papers[0]
            await self.presses.set_vote(
                recorded.channel, paper, kind, str(payload.user_id), cast=cast
            )
            self._latest[(payload.channel_id, payload.message_id)] = (recorded.channel, (paper,))
            self.edits.request((payload.channel_id, payload.message_id))
        except Exception:
            log.exception("reaction failed")
