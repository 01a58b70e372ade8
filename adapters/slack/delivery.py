"""Digest delivery to Slack: the ``bot.ports.Platform`` port.

Exactly once: every digest message carries Slack message metadata
``{"event_type": "paperpost_digest", "event_payload": {"marker", "part", "parts"}}``.
A resumed delivery first lists the parts already in the channel
(``conversations.history``, and ``conversations.replies`` for threaded parts,
which history does not show) and posts only the others. A post that fails
with a 5xx or a dropped connection may have gone through, so the same look-up
runs before the post is tried again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from paperpost.adapters.slack.client import CALL_ERRORS, DEFAULT_MAX_WAIT, Sleep, delivery_error
from paperpost.adapters.slack.pacer import PostPacer, SharedSlot
from paperpost.adapters.slack.render import SlackMessage, render_digest
from paperpost.adapters.slack.roundup import post_roundup
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.weekly_roundup import Roundup
from paperpost.bot.errors import DeliveryError, StoreError
from paperpost.bot.feedback.presses import PostedMessage, Presses
from paperpost.bot.ports import PartGuard, no_guard

log = logging.getLogger(__name__)

EVENT_TYPE = "paperpost_digest"
HISTORY_PAGE = 200
HISTORY_PAGES = 5  # 1,000 recent messages: a digest being resumed is among them
RECOVERIES = 2  # look-up-then-repost rounds after an ambiguous failure, per call
RECOVERY_WAIT = 2.0
RATE_LIMIT_TRIES = 4  # a 429'd post is re-paced and tried again this many times in all


def digest_metadata(digest: Digest, part: int, parts: int) -> dict[str, Any]:
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {"marker": digest.marker, "part": part, "parts": parts},
    }


def _part_of(message: dict[str, Any], marker: str) -> int | None:
    meta = message.get("metadata") or {}
    payload = meta.get("event_payload") or {}
    if meta.get("event_type") == EVENT_TYPE and payload.get("marker") == marker:
        part = payload.get("part")
        return part if isinstance(part, int) else None
    return None


TeamClient = Callable[[str], Awaitable[AsyncWebClient]]  # a team's client, or DeliveryError


class SlackPlatform:
    """Posts digests with one bot token (one workspace), or with each team's own
    (``team_clients``: OAuth installs), paced per workspace."""

    name = "slack"

    def __init__(
        self,
        client: AsyncWebClient | None,
        *,
        sleep: Sleep = asyncio.sleep,
        pacer: PostPacer | None = None,
        max_wait: float = DEFAULT_MAX_WAIT,
        presses: Presses | None = None,
        team_clients: TeamClient | None = None,
        shared_for: Callable[[str], SharedSlot] | None = None,
    ) -> None:
        self.client = client
        self.presses = presses  # where parts with 👍/🔖 buttons are recorded (reactions, edits)
        self._sleep = sleep
        self.pacer = pacer or PostPacer(sleep=sleep)
        self._max_wait = max_wait
        self._team_clients = team_clients
        self._team_pacers: dict[str, PostPacer] = {}
        self._shared_for = shared_for  # a workspace's allowance shared by every process

    async def _client_and_pacer(self, team: str) -> tuple[AsyncWebClient, PostPacer]:
        if self._team_clients is None:
            assert self.client is not None
            return self.client, self.pacer
        pacer = self._team_pacers.get(team)
        if pacer is None:  # each workspace has its own allowance
            rate = 1.0 / self.pacer.interval
            shared = self._shared_for(team) if self._shared_for else None
            pacer = self._team_pacers[team] = PostPacer(rate, sleep=self._sleep, shared=shared)
        return await self._team_clients(team), pacer

    async def aclose(self) -> None:
        """Nothing to release: the Slack client opens a session per call."""

    async def post_roundup(
        self, roundup: Roundup, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None:
        """The weekly roundup: one message (adapters/slack/roundup.py)."""
        client, pacer = await self._client_and_pacer(roundup.channel.workspace)
        await before_part()
        await pacer.wait(roundup.channel.channel)
        await post_roundup(client, roundup, resume=resume)

    async def post_digest(
        self, digest: Digest, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None:
        parts = render_digest(digest)
        channel = digest.channel.channel
        client, pacer = await self._client_and_pacer(digest.channel.workspace)
        posted = await self._posted_parts(client, channel, digest, parts) if resume else {}
        for i, ts in posted.items():  # found again: recorded now if a kill came first
            await self._remember(digest, parts, i, ts)
        for attempt in range(RECOVERIES + 1):
            try:
                await self._post_missing(client, pacer, channel, digest, parts, posted, before_part)
                return
            except DeliveryError as exc:
                ambiguous = not exc.permanent and exc.retry_after is None
                if not ambiguous or attempt == RECOVERIES:
                    raise
                log.warning("%s; checking the channel before posting again", exc)
                await self._sleep(RECOVERY_WAIT * (attempt + 1))
                posted = await self._posted_parts(client, channel, digest, parts)

    async def _post_missing(
        self,
        client: AsyncWebClient,
        pacer: PostPacer,
        channel: str,
        digest: Digest,
        parts: list[SlackMessage],
        posted: dict[int, str],
        before_part: PartGuard = no_guard,
    ) -> None:
        for i, message in enumerate(parts):
            if i in posted:
                continue
            await before_part()  # still ours? (raises when another process took it over)
            thread_ts = None
            if message.thread_parent is not None:
                thread_ts = posted[message.thread_parent]  # parents come first, so it is known
            what = f"part {i + 1}/{len(parts)} of {digest.marker}"
            for tries in range(1, RATE_LIMIT_TRIES + 1):
                await pacer.wait(channel)
                try:
                    response = await client.chat_postMessage(
                        channel=channel,
                        text=message.text,
                        blocks=list(message.blocks),
                        thread_ts=thread_ts,
                        metadata=digest_metadata(digest, i, len(parts)),
                        unfurl_links=False,
                        unfurl_media=False,
                    )
                    break
                except CALL_ERRORS as exc:
                    error = delivery_error(exc, what=what)
                    # A 429 posted nothing: wait as told and take a new slot.
                    wait = error.retry_after
                    if wait is None or wait > self._max_wait or tries == RATE_LIMIT_TRIES:
                        raise error from exc
                    await self._sleep(wait)
            posted[i] = response["ts"]
            await self._remember(digest, parts, i, response["ts"])

    async def _remember(self, digest: Digest, parts: list[SlackMessage], i: int, ts: str) -> None:
        """Record a part with buttons: its papers for reactions, its metadata for edits."""
        if self.presses is None or not parts[i].papers:
            return
        record = PostedMessage(
            digest.channel, parts[i].papers, digest_metadata(digest, i, len(parts))
        )
        try:
            await self.presses.remember(digest.channel, ts, record)
        except StoreError as exc:  # the post stands; only reactions on it go unheard
            log.warning("could not record %s part %d: %s", digest.marker, i + 1, exc)

    async def _posted_parts(
        self, client: AsyncWebClient, channel: str, digest: Digest, parts: list[SlackMessage]
    ) -> dict[int, str]:
        """Part index → ts of this digest's messages already in the channel."""
        found: dict[int, str] = {}
        try:
            cursor = None
            for _ in range(HISTORY_PAGES):
                page = await client.conversations_history(
                    channel=channel, limit=HISTORY_PAGE, include_all_metadata=True, cursor=cursor
                )
                for message in page.get("messages") or []:
                    part = _part_of(message, digest.marker)
                    if part is not None:
                        found.setdefault(part, message["ts"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor or all(
                    i in found for i, m in enumerate(parts) if m.thread_parent is None
                ):
                    break
            await self._find_replies(client, channel, digest, parts, found)
        except CALL_ERRORS as exc:
            raise delivery_error(exc, what=f"reading the history of {channel}") from exc
        return found

    async def _find_replies(
        self,
        client: AsyncWebClient,
        channel: str,
        digest: Digest,
        parts: list[SlackMessage],
        found: dict[int, str],
    ) -> None:
        parents = {
            m.thread_parent
            for i, m in enumerate(parts)
            if m.thread_parent is not None and i not in found and m.thread_parent in found
        }
        for parent in sorted(parents):
            cursor = None
            while True:
                page = await client.conversations_replies(
                    channel=channel,
                    ts=found[parent],
                    limit=HISTORY_PAGE,
                    include_all_metadata=True,
                    cursor=cursor,
                )
                for message in page.get("messages") or []:
                    part = _part_of(message, digest.marker)
                    if part is not None:
                        found.setdefault(part, message["ts"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
