"""The weekly roundup on Slack: one Block Kit message, posted once.

The message carries metadata ``{"event_type": "paperpost_weekly", "event_payload":
{"marker": ...}}``; a resumed post (an earlier attempt may have reached Slack)
first looks for it among the channel's recent messages and posts nothing when
it is there. Every outside text is escaped (titles are mrkdwn-inert: no
``<!channel>``, no ``<@U…>``), links go through ``safe_url``.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient

from paperpost.adapters.slack.client import CALL_ERRORS, delivery_error
from paperpost.adapters.slack.escape import escape_clip, link
from paperpost.adapters.slack.render import HEADER_LIMIT, SlackMessage
from paperpost.bot.delivery.weekly_roundup import Roundup

EVENT_TYPE = "paperpost_weekly"
TITLE_CHARS = 200  # per paper: five of them stay well within a section's 3,000
HISTORY_PAGE = 200
HISTORY_PAGES = 5


def render_roundup(roundup: Roundup) -> SlackMessage:
    headline = f"📚 {roundup.headline}"[:HEADER_LIMIT]
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=headline, emoji=True))]
    if roundup.team:
        lines = [
            f"{i}. {link(p.url or None, p.title, limit=TITLE_CHARS)} · 👍 {p.likes} · 🔖 {p.saves}"
            for i, p in enumerate(roundup.team, 1)
        ]
        text = "*The team's most liked and saved*\n" + "\n".join(lines)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    if roundup.missed:
        lines = [
            f"{i}. {link(p.hf_url, p.title, limit=TITLE_CHARS)} · ▲ {p.upvotes}"
            for i, p in enumerate(roundup.missed, 1)
        ]
        text = "*Most upvoted this week, not shown here*\n" + "\n".join(lines)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    note = "A summary of the week: papers listed by reference, not digest entries."
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return SlackMessage(
        text=escape_clip(roundup.headline, 3_000), blocks=tuple(b.to_dict() for b in blocks)
    )


def _metadata(roundup: Roundup) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"marker": roundup.marker}}


async def already_posted(client: AsyncWebClient, channel: str, roundup: Roundup) -> bool:
    """Whether the roundup is among the channel's recent messages."""
    cursor = None
    for _ in range(HISTORY_PAGES):
        page = await client.conversations_history(
            channel=channel, limit=HISTORY_PAGE, include_all_metadata=True, cursor=cursor
        )
        for message in page.get("messages") or []:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == EVENT_TYPE and payload.get("marker") == roundup.marker:
                return True
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return False
    return False


async def post_roundup(client: AsyncWebClient, roundup: Roundup, *, resume: bool) -> None:
    """Post the roundup (after looking for it when resuming); ``DeliveryError`` on failure."""
    channel = roundup.channel.channel
    message = render_roundup(roundup)
    try:
        if resume and await already_posted(client, channel, roundup):
            return
        await client.chat_postMessage(
            channel=channel,
            text=message.text,
            blocks=list(message.blocks),
            metadata=_metadata(roundup),
            unfurl_links=False,
            unfurl_media=False,
        )
    except CALL_ERRORS as exc:
        raise delivery_error(exc, what=roundup.marker) from exc
