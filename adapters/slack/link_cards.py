"""Link cards: an arxiv.org or huggingface.co/papers link pasted in Slack becomes
the paper's card (``link_shared`` event → ``chat.unfurl``).

Slack sends the event for the domains the manifest lists under
``unfurl_domains`` (scope ``links:read``); the card goes back with
``chat.unfurl`` (scope ``links:write``). Bolt acknowledges events itself before
this listener runs, so the lookup may take its time. A link whose paper is
unknown gets no card; a failure is logged, never said in the channel.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from paperpost.adapters.slack.client import CALL_ERRORS
from paperpost.adapters.slack.render import render_reply
from paperpost.bot.channels.replies import Reply
from paperpost.bot.papers.links import MAX_LINKS
from paperpost.bot.papers.model import Paper
from paperpost.bot.ports import Core

log = logging.getLogger(__name__)

EVENT = "link_shared"


def unfurl_for(paper: Paper) -> dict[str, Any]:
    """The card ``/papers show`` gives, as one link's unfurl."""
    return {"blocks": list(render_reply(Reply(text="", papers=(paper,))).blocks)}


def _links(event: dict[str, Any]) -> list[str]:
    links = event.get("links")
    urls = [
        link["url"]
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and isinstance(link.get("url"), str)
    ]
    return list(dict.fromkeys(urls))[:MAX_LINKS]


class UnfurlTarget(TypedDict, total=False):
    channel: str
    ts: str
    unfurl_id: str
    source: str


def _target(event: dict[str, Any]) -> UnfurlTarget | None:
    """Where the unfurl goes: ``unfurl_id`` + ``source`` (works in the composer too),
    else the message's ``channel`` + ``ts``."""
    unfurl_id, source = event.get("unfurl_id"), event.get("source")
    if isinstance(unfurl_id, str) and isinstance(source, str) and unfurl_id and source:
        return {"unfurl_id": unfurl_id, "source": source}
    channel, ts = event.get("channel"), event.get("message_ts")
    if isinstance(channel, str) and isinstance(ts, str) and channel and ts:
        return {"channel": channel, "ts": ts}
    return None


class LinkCards:
    def __init__(self, core: Core, client: AsyncWebClient) -> None:
        self.core = core
        self.client = client

    def register(self, app: AsyncApp) -> None:
        app.event(EVENT)(self.on_link_shared)

    async def on_link_shared(
        self, event: dict[str, Any], client: AsyncWebClient | None = None
    ) -> None:
        """``client``: Bolt's, with the token of the event's team (OAuth installs)."""
        try:
            await self._unfurl(event, client or self.client)
        except Exception:  # a listener's failure must stay in the log
            log.exception("link card failed")

    async def _unfurl(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        target, urls = _target(event), _links(event)
        if target is None or not urls:
            log.debug("link_shared without links or a target ignored")
            return
        papers = await self.core.papers_linked(urls)
        if not papers:
            log.debug("link_shared: no known paper in %d link(s)", len(urls))
            return
        unfurls = {url: unfurl_for(paper) for url, paper in papers.items()}
        try:
            await client.chat_unfurl(unfurls=unfurls, **target)
        except CALL_ERRORS as exc:
            log.warning("chat.unfurl failed: %r", exc)
