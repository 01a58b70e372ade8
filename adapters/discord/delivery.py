"""Digest delivery to Discord channels: the core's ``Platform`` port.

Works with a ``discord.Client`` that is only logged in (REST, for the
``paperpost digest`` cron job) as well as one connected to the gateway: it
addresses channels by id through ``PartialMessageable`` and needs no cache.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import discord

from paperpost.adapters.discord.buttons import vote_view
from paperpost.adapters.discord.errors import TRANSIENT_EXCEPTIONS, delivery_error
from paperpost.adapters.discord.render import DigestPart, render_digest, thread_name
from paperpost.adapters.discord.roundup import post_roundup
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.weekly_roundup import Roundup
from paperpost.bot.errors import DeliveryError, StoreError
from paperpost.bot.feedback.presses import PostedMessage, Presses
from paperpost.bot.ports import PartGuard, no_guard

log = logging.getLogger(__name__)

# How far back a resumed post looks for its own parts: busy channels bury them, and
# discord.py pages past Discord's 100 per request (Slack's adapter reads as far).
HISTORY_LIMIT = 1000
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a day: one of the durations Discord accepts
THREAD_ALREADY_EXISTS = 160004


class DiscordPlatform:
    """Posts digests; ``post_digest`` raises ``DeliveryError`` on failure."""

    name = "discord"

    def __init__(
        self,
        client: discord.Client,
        *,
        history_limit: int = HISTORY_LIMIT,
        presses: Presses | None = None,
    ) -> None:
        self._client = client
        self._history_limit = history_limit
        self.presses = presses  # where parts with 👍/🔖 buttons are recorded (reactions)

    async def post_digest(
        self, digest: Digest, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None:
        if digest.channel.platform != self.name or not digest.channel.channel.isdigit():
            raise DeliveryError(f"{digest.channel} is not a Discord channel", permanent=True)
        try:
            parts = render_digest(digest)
            await self._post(int(digest.channel.channel), digest, parts, resume, before_part)
        except TRANSIENT_EXCEPTIONS as exc:
            error = delivery_error(exc)
            log.warning("posting %s failed: %s", digest.marker, error)
            raise error from exc

    async def post_roundup(
        self, roundup: Roundup, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None:
        """The weekly roundup: one message (adapters/discord/roundup.py)."""
        await before_part()
        await post_roundup(self._client, roundup, resume=resume, history_limit=self._history_limit)

    async def aclose(self) -> None:
        """Close the client (for the post-only client of ``open_discord_platform``)."""
        await self._client.close()

    async def _post(
        self,
        channel_id: int,
        digest: Digest,
        parts: Sequence[DigestPart],
        resume: bool,
        before_part: PartGuard,
    ) -> None:
        channel_parts = [p for p in parts if not p.in_thread]
        thread_parts = [p for p in parts if p.in_thread]
        found = await self._find_parts(channel_id, channel_parts) if resume else {}
        first_id: int | None = None
        for part in channel_parts:
            message_id = found.get(part.ref)
            if message_id is None:
                await before_part()  # still ours? (raises when another process took it over)
                message_id = await self._send(channel_id, part)
            await self._remember(digest, channel_id, message_id, part)  # found ones too
            first_id = first_id or message_id
        if not thread_parts or first_id is None:
            return
        # A thread started on a message has that message's id.
        thread_found = await self._find_parts(first_id, thread_parts) if resume else {}
        if not thread_found:
            await self._start_thread(channel_id, first_id, thread_name(digest))
        for part in thread_parts:
            message_id = thread_found.get(part.ref)
            if message_id is None:
                await before_part()
                message_id = await self._send(first_id, part)
            await self._remember(digest, first_id, message_id, part)

    async def _send(self, channel_id: int, part: DigestPart) -> int:
        message = await self._client.get_partial_messageable(channel_id).send(
            content=part.content,
            embeds=part.embeds,
            nonce=part.ref,  # discord.py adds enforce_nonce: a retry returns the first message
            allowed_mentions=discord.AllowedMentions.none(),
            view=vote_view(part.papers) if part.papers else discord.utils.MISSING,
        )
        return message.id

    async def _remember(
        self, digest: Digest, where_id: int, message_id: int, part: DigestPart
    ) -> None:
        """Record a part with buttons (``where_id``: its channel or thread) for reactions."""
        if self.presses is None or not part.papers:
            return
        where = ChannelKey("discord", digest.channel.workspace, str(where_id))
        try:
            await self.presses.remember(
                where, str(message_id), PostedMessage(digest.channel, part.papers)
            )
        except StoreError as exc:  # the post stands; only reactions on it go unheard
            log.warning("could not record %s part %d: %s", digest.marker, part.index + 1, exc)

    async def _start_thread(self, channel_id: int, message_id: int, name: str) -> None:
        try:
            await self._client.http.start_thread_with_message(
                channel_id, message_id, name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_EXISTS:  # an earlier attempt created it: carry on
                raise

    async def _find_parts(self, channel_id: int, parts: Sequence[DigestPart]) -> dict[str, int]:
        """Ids of the parts already posted, recognised by the ref in their footer."""
        wanted = {p.ref for p in parts}
        me = self._client.user.id if self._client.user else None
        found: dict[str, int] = {}
        channel = self._client.get_partial_messageable(channel_id)
        try:
            async for message in channel.history(limit=self._history_limit):
                if me is not None and message.author.id != me:
                    continue
                for embed in message.embeds:
                    footer = embed.footer.text or ""
                    found.update((ref, message.id) for ref in wanted if ref in footer)
        except discord.NotFound:  # e.g. the thread was never created
            return {}
        return found
