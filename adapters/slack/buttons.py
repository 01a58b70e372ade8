"""👍 and 🔖 on Slack: button presses (``block_actions``) and reactions, as Bolt listeners.

A press is acknowledged first (Slack gives 3 s), then toggles the presser's
vote, then asks for the message to be edited with the new counts. Edits are
coalesced (``EditCoalescer``: one per message per second at most, all of them
within ``chat.update``'s Tier 3 rate), and re-send the blocks Slack gave with
the press, only the buttons relabelled (``chat.update``; a shared result,
which a response_url posted, through the press's own response_url). A digest
part's edit carries its message metadata (recorded when it was posted), which
crash recovery finds parts by; a digest part whose metadata is unknown is not
edited at all.
A link card's counts go back through ``chat.unfurl``.

In threads mode each paper's reply carries one paper: a 👍 (``+1``) or 🔖
(``bookmark``) reaction on it casts the same vote (``reaction_added``), and
taking the reaction off takes it back; the message, read back at edit time
(``conversations.replies``), then shows the counts like after a press.
Anything else (another emoji, a message Paperpost did not record, a
malformed payload) is ignored with a debug line.
Bolt acknowledges events itself; Socket Mode and HTTP mode both arrive here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from paperpost.adapters.slack.link_cards import unfurl_for
from paperpost.adapters.slack.vote_blocks import (
    ACTIONS,
    has_digest_buttons,
    papers_in,
    with_counts,
)
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.errors import CommandError
from paperpost.bot.feedback.edits import EditCoalescer
from paperpost.bot.feedback.presses import Presses, valid_paper_id
from paperpost.bot.feedback.votes import Kind

log = logging.getLogger(__name__)

ACTION_IDS = re.compile("^(" + "|".join(ACTIONS) + ")$")
REACTIONS = {"+1": Kind.LIKE, "thumbsup": Kind.LIKE, "bookmark": Kind.SAVE}
PER_MESSAGE = 1.0  # seconds between two edits of one message
EDIT_GAP = 60 / 50  # chat.update is Tier 3: about 50 a minute per workspace

EditKey = tuple[str, str, str]  # channel id, message ts, unfurled URL ("" for a message)


@dataclass(frozen=True, slots=True)
class _Pending:
    """What the latest press on a message said about it."""

    channel: ChannelKey
    blocks: list[Any]
    text: str
    metadata: dict[str, Any] | None  # as the payload gave it, when it did
    response_url: str = ""  # the press's own: edits a shared result (5 uses in 30 min)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _channel(team: str, channel_id: str) -> ChannelKey | None:
    try:
        return ChannelKey.parse(f"slack:{team}:{channel_id}")
    except CommandError:
        return None


class SlackButtons:
    def __init__(
        self,
        presses: Presses,
        client: AsyncWebClient,
        *,
        per_message: float = PER_MESSAGE,
        gap: float = EDIT_GAP,
        team_clients: Callable[[str], Awaitable[AsyncWebClient]] | None = None,
    ) -> None:
        self.presses = presses
        self.client = client
        self._team_clients = team_clients  # OAuth installs: each team's own token
        self.edits: EditCoalescer[EditKey] = EditCoalescer(
            self._edit, per_message=per_message, gap=gap
        )
        self._latest: dict[EditKey, _Pending] = {}

    async def _client(self, channel: ChannelKey) -> AsyncWebClient:
        if self._team_clients is None:
            return self.client
        return await self._team_clients(channel.workspace)

    def register(self, app: AsyncApp) -> None:
        app.action(ACTION_IDS)(self.on_press)
        app.event("reaction_added")(self.on_reaction_added)
        app.event("reaction_removed")(self.on_reaction_removed)

    async def stop(self) -> None:
        await self.edits.aclose()

    # -- presses -----------------------------------------------------------------
    async def on_press(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()  # first, always
        try:
            await self._press(body)
        except Exception:  # a listener's failure stays in the log; the vote is the user's
            log.exception("button press failed")

    async def _press(self, body: dict[str, Any]) -> None:
        actions = body.get("actions")
        action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
        kind = ACTIONS.get(_str(action.get("action_id")))
        paper_id = valid_paper_id(action.get("value"))
        user, container = _dict(body.get("user")), _dict(body.get("container"))
        team = _str(_dict(body.get("team")).get("id")) or _str(user.get("team_id"))
        channel_id = _str(_dict(body.get("channel")).get("id")) or _str(container.get("channel_id"))
        channel, user_id = _channel(team, channel_id), _str(user.get("id"))
        if kind is None or paper_id is None or channel is None or not user_id:
            log.debug("malformed button press ignored")
            return
        name = _str(user.get("name")) or _str(user.get("username")) or None  # plain text
        if await self.presses.press(channel, paper_id, kind, user_id, name) is None:
            log.debug("press on unknown paper %s in %s ignored", paper_id, channel)
            return
        ts = _str(container.get("message_ts"))
        if not ts:
            return
        url = _str(container.get("app_unfurl_url")) if container.get("is_app_unfurl") else ""
        message = _dict(body.get("message"))
        meta, blocks = message.get("metadata"), message.get("blocks")
        self._latest[(channel_id, ts, url)] = _Pending(
            channel,
            blocks if isinstance(blocks, list) else [],
            _str(message.get("text")) or "Paperpost",
            meta if isinstance(meta, dict) else None,
            _str(body.get("response_url")),
        )
        self.edits.request((channel_id, ts, url))

    async def _edit(self, key: EditKey) -> None:
        pending = self._latest.get(key)
        if pending is None:
            return
        try:
            if key[2]:
                await self._edit_card(key, pending)
            else:
                await self._edit_message(key, pending)
        finally:
            if self._latest.get(key) is pending:  # a newer press keeps its own
                del self._latest[key]

    async def _edit_message(self, key: EditKey, pending: _Pending) -> None:
        channel_id, ts, _ = key
        recorded = await self.presses.message(pending.channel, ts)
        if not pending.blocks and recorded is not None:  # a reaction: read the message
            pending = await self._read(channel_id, ts, pending)
        if not papers_in(pending.blocks):
            log.debug("message %s %s shows no buttons: not edited", channel_id, ts)
            return
        metadata = recorded.metadata if recorded else pending.metadata
        if metadata is None and has_digest_buttons(pending.blocks):
            # Edited without its metadata, a digest part could be posted again after a crash.
            log.debug("digest message %s %s not recorded: counts not shown", channel_id, ts)
            return
        counts = await self.presses.counts(pending.channel, papers_in(pending.blocks))
        if recorded is None and metadata is None and pending.response_url:
            # A shared result: posted through a response_url, edited through one.
            answer = await AsyncWebhookClient(pending.response_url).send(
                replace_original=True,
                text=pending.text,
                blocks=with_counts(pending.blocks, counts),
            )
            if answer.status_code != 200:
                log.warning("response_url edit in %s refused: %s", channel_id, answer.status_code)
            return
        client = await self._client(pending.channel)
        await client.chat_update(
            channel=channel_id,
            ts=ts,
            text=pending.text,
            blocks=with_counts(pending.blocks, counts),
            metadata=metadata,
        )

    async def _read(self, channel_id: str, ts: str, pending: _Pending) -> _Pending:
        """The message as it is now (its blocks, text, metadata), from its thread."""
        client = await self._client(pending.channel)
        page = await client.conversations_replies(
            channel=channel_id, ts=ts, include_all_metadata=True, limit=200
        )
        for message in page.get("messages") or []:
            if isinstance(message, dict) and message.get("ts") == ts:
                blocks, meta = message.get("blocks"), message.get("metadata")
                return _Pending(
                    pending.channel,
                    blocks if isinstance(blocks, list) else [],
                    _str(message.get("text")) or "Paperpost",
                    meta if isinstance(meta, dict) else None,
                )
        return pending

    async def _edit_card(self, key: EditKey, pending: _Pending) -> None:
        channel_id, ts, url = key
        paper_ids = papers_in(pending.blocks)
        paper = await self.presses.paper(paper_ids[0]) if len(paper_ids) == 1 else None
        if paper is None:
            log.debug("link card in %s %s names no single stored paper", channel_id, ts)
            return
        counts = await self.presses.counts(pending.channel, [paper.id])
        unfurl = unfurl_for(paper, counts[paper.id])
        client = await self._client(pending.channel)
        await client.chat_unfurl(channel=channel_id, ts=ts, unfurls={url: unfurl})

    # -- reactions -----------------------------------------------------------------
    async def on_reaction_added(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        await self._react(event, body, cast=True)

    async def on_reaction_removed(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        await self._react(event, body, cast=False)

    async def _react(self, event: dict[str, Any], body: dict[str, Any], *, cast: bool) -> None:
        try:
            item = _dict(event.get("item"))
            kind = REACTIONS.get(_str(event.get("reaction")).split("::")[0])  # skin tones
            if kind is None or item.get("type") != "message":
                return  # any other emoji: not feedback, nothing to log
            where = _channel(_str(body.get("team_id")), _str(item.get("channel")))
            user = _str(event.get("user"))
            recorded = await self.presses.message(where, _str(item.get("ts"))) if where else None
            if recorded is None or len(recorded.papers) != 1 or not user:
                log.debug("reaction on a message without one recorded paper ignored")
                return
            await self.presses.set_vote(recorded.channel, recorded.papers[0], kind, user, cast=cast)
            key = (_str(item.get("channel")), _str(item.get("ts")), "")
            # A press's blocks are as good; else the message is read at edit time. A new
            # object either way: an edit running now forgets only the state it used, so
            # the edit this request asks for still finds one (the last vote showed).
            existing = self._latest.get(key)
            self._latest[key] = (
                replace(existing) if existing else _Pending(recorded.channel, [], "", None)
            )
            self.edits.request(key)
        except Exception:
            log.exception("reaction failed")
