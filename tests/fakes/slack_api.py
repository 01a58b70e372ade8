"""A loopback fake of the Slack Web API (and of response_url), over real HTTP.

An aiohttp server on ``127.0.0.1`` (ephemeral port) in the test's event loop.

What it answers (``POST {api.url}{method}``; JSON bodies and form bodies alike,
as slack_sdk sends ``chat.postMessage`` as JSON and most methods form-encoded)
    ``auth.test``, ``chat.postMessage``, ``conversations.history`` (newest
    first, ``limit``/``cursor`` paging, ``metadata`` only with
    ``include_all_metadata``), ``conversations.replies``, ``conversations.info``
    (``is_member``), ``apps.connections.open`` (``api.socket_url``),
    ``users.info`` (``api.users``: id → flags such as ``{"is_admin": True}``;
    an unknown id is ``user_not_found``), ``usergroups.users.list``
    (``api.usergroups``: id → member ids; unknown: ``no_such_subteam``),
    ``chat.unfurl`` (recorded in ``api.unfurls``; needs ``links:write``, a target
    of ``channel`` + ``ts`` or ``unfurl_id`` + ``source``, and an ``unfurls``
    object of URL → ``{"blocks": …}`` passing ``block_kit_problems``). Unknown
    methods answer ``{"ok": false, "error": "unknown_method"}``. A wrong bot
    token answers ``invalid_auth``.

What chat.postMessage refuses, as Slack does
    ``invalid_blocks`` (unknown block, element or text object types, duplicate
    or over-long ``block_id``s, empty text, Block Kit's limits; see
    ``block_kit_problems``), ``msg_blocks_too_long``, ``msg_too_long`` (``text``
    over 40,000 characters), ``invalid_thread_ts`` (``thread_ts`` that is not a
    top-level message of that channel), ``invalid_metadata_format`` (metadata
    without an ``event_type`` name or an object ``event_payload``).

Channels and scopes
    Any channel id is a channel the bot is in, unless told otherwise:
    ``api.not_member("C2")`` (posts and history reads get ``not_in_channel``,
    info says ``is_member: false``; ``api.join("C2")`` undoes it) or
    ``api.missing("C3")`` (``channel_not_found``). The token holds every scope
    in ``api.scopes``; ``api.revoke("channels:history")`` takes one away, and a
    method needing it answers ``missing_scope`` with ``needed``/``provided``.

Faults, queued per method: ``api.fail("chat.postMessage", Fault.rate_limited(2),
Fault.server_error(posted=True), Fault.error("channel_not_found"))``. Each call
of the method takes the next queued fault. ``server_error(posted=True)`` posts
the message and then answers 500, as Slack sometimes does.

Timing and load (all off by default)
    ``post_latency=(lo, hi)``: each accepted ``chat.postMessage`` is recorded
    first and answered after a uniform ``lo``..``hi`` seconds (``rng`` seeds it),
    so a client killed meanwhile had its message accepted without learning so.
    ``on_post(posted)`` is called (in the fake's loop) as each post is recorded;
    ``api.unanswered`` counts posts recorded whose answer is still held back.
    ``limiter(method, params)`` is asked before any other answer: a number is
    a Retry-After in whole seconds, answered as Slack does (HTTP 429,
    ``ratelimited``; see ``tests/fakes/slack_ratelimit.py``); ``None`` lets the
    call through. ``api.rate_limited`` counts the 429s it answered.

What it records
    ``api.posts`` (accepted chat.postMessage, in order), ``api.calls`` (every
    call: method, params, content type), ``api.responses`` (response_url
    posts: JSON bodies), ``api.messages(channel)`` (the channel's history).

Many workspaces (OAuth v2)
    ``code = api.grant("T2", name="Beta")`` scripts an install: ``oauth.v2.access``
    (HTTP Basic ``client_id``/``client_secret`` = ``api.client_id``/``api.client_secret``)
    trades ``code`` once for a new bot token of that team (``invalid_code`` else,
    ``invalid_client_id``/``bad_client_secret`` for wrong credentials). Every token
    is answered as its own team: ``auth.test`` returns that team's identity, posts
    record the token that made them (``Posted.token``, ``Call.token``), and
    ``api.token_of("T2")`` is its current token. ``api.uninstall("T2")`` revokes the
    team's tokens (``invalid_auth`` from then on). The default ``bot_token`` is
    ``team_id``'s.

Requests from Slack, as Slack shapes and signs them (``slash_command``,
``share_click``, ``sign``, ``form_body``, ``action_body``): payloads come from
``tests/data/slack/*.json``; signatures are ``v0=`` + hex HMAC-SHA256 of
``v0:{timestamp}:{raw body}`` with the signing secret.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import random
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM_ID = "T0TEST"
BOT_USER_ID = "UBOT0001"
TEXT_LIMIT = 40_000  # chat.postMessage ``text``: over it, msg_too_long
# The bot scopes of slack/manifest.yaml (chat:write.public is left off there).
SCOPES = frozenset({"commands", "chat:write", "channels:history", "groups:history",
                    "channels:read", "groups:read", "users:read", "usergroups:read",
                    "links:read", "links:write"})  # fmt: skip
# Scope a method needs, by the kind of channel (C public, G private).
NEEDS = {
    "chat.postMessage": ("chat:write", "chat:write"),
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.replies": ("channels:history", "groups:history"),
    "conversations.info": ("channels:read", "groups:read"),
    "users.info": ("users:read", "users:read"),
    "usergroups.users.list": ("usergroups:read", "usergroups:read"),
    "chat.unfurl": ("links:write", "links:write"),
}


@dataclass(frozen=True)
class Fault:
    status: int = 200
    code: str | None = None
    retry_after: int | None = None
    posted: bool = False  # chat.postMessage: record the post even though the answer fails

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> Fault:
        return cls(status=429, code="ratelimited", retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500, *, posted: bool = False) -> Fault:
        return cls(status=status, code="internal_error", posted=posted)

    @classmethod
    def error(cls, code: str) -> Fault:
        return cls(status=200, code=code)


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    content_type: str
    token: str = ""  # the bearer token the call came with


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    metadata: dict[str, Any] | None
    body: dict[str, Any]
    token: str = ""  # the bot token that posted it


@dataclass
class FakeSlackAPI:
    bot_token: str = BOT_TOKEN
    app_token: str = APP_TOKEN
    team_id: str = TEAM_ID
    bot_user_id: str = BOT_USER_ID
    socket_url: str | None = None
    posts: list[Posted] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    unfurls: list[dict[str, Any]] = field(default_factory=list)  # accepted chat.unfurl bodies
    _history: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    _faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _not_member: set[str] = field(default_factory=set)
    _missing: set[str] = field(default_factory=set)
    scopes: set[str] = field(default_factory=lambda: set(SCOPES))
    users: dict[str, dict[str, bool]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    _clock: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    base: str = ""
    post_latency: tuple[float, float] | None = None
    rng: random.Random = field(default_factory=random.Random)
    on_post: Callable[[Posted], None] | None = None
    limiter: Callable[[str, dict[str, Any]], int | None] | None = None
    rate_limited: int = 0
    unanswered: int = 0  # posts recorded whose answer is still in its post_latency
    port: int = 0  # 0: any free port; a fixed one lets a test bring Slack up "late"
    client_id: str = "1111.2222"
    client_secret: str = "fake-client-secret"
    teams: dict[str, str] = field(default_factory=dict)  # OAuth installs: bot token → team id
    team_names: dict[str, str] = field(default_factory=dict)
    _codes: dict[str, str] = field(default_factory=dict)  # unused OAuth codes → team id

    # -- life cycle --------------------------------------------------------------
    async def start(self) -> FakeSlackAPI:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)  # some methods are GETs
        app.router.add_post("/response/{key}", self._response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSlackAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The Web API base URL, for ``AsyncWebClient(base_url=...)`` / SLACK_API_URL."""
        return f"{self.base}/api/"

    def response_url(self, key: str = "cmd") -> str:
        return f"{self.base}/response/{key}"

    # -- scripting -----------------------------------------------------------------
    def fail(self, method: str, *faults: Fault) -> None:
        self._faults[method].extend(faults)

    def not_member(self, channel: str) -> None:
        self._not_member.add(channel)

    def join(self, channel: str) -> None:
        self._not_member.discard(channel)

    def missing(self, channel: str) -> None:
        self._missing.add(channel)

    def revoke(self, *scopes: str) -> None:
        self.scopes.difference_update(scopes)

    def grant(self, team: str, *, name: str | None = None) -> str:
        """A one-time OAuth code that ``oauth.v2.access`` trades for ``team``'s token."""
        code = f"code-{team}-{next(self._clock)}"
        self._codes[code] = team
        self.team_names[team] = name or team
        return code

    def token_of(self, team: str) -> str | None:
        if team == self.team_id and self.bot_token:
            return self.bot_token
        return next((t for t, owner in self.teams.items() if owner == team), None)

    def uninstall(self, team: str) -> None:
        """The team's tokens are revoked: every call with them is ``invalid_auth``."""
        self.teams = {t: owner for t, owner in self.teams.items() if owner != team}
        if team == self.team_id:
            self.bot_token = ""

    def _team_of(self, token: str) -> str | None:
        if token and token == self.bot_token:
            return self.team_id
        return self.teams.get(token)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message in the channel, replies included, oldest first."""
        return list(self._history[channel])

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Any, *, timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds (checked after every request)."""

        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)

    # -- HTTP ----------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body if isinstance(body, dict) else {})
        else:
            params.update(dict(await request.post()))
        return params

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append({"key": request.match_info["key"], **body})
        self._changed.set()
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or params.get("token", "")
        self.calls.append(Call(method, params, request.content_type, token))
        try:
            if method == "oauth.v2.access":
                return web.json_response(self._oauth_v2_access(params, auth))
            return await self._answer(method, params, token)
        finally:
            self._changed.set()

    def _oauth_v2_access(self, params: dict[str, Any], auth: str) -> dict[str, Any]:
        """The OAuth v2 code exchange (client credentials as HTTP Basic auth)."""
        try:
            decoded = base64.b64decode(auth.removeprefix("Basic ").strip()).decode()
        except ValueError:
            decoded = ""
        client_id, _, secret = decoded.partition(":")
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        team = self._codes.pop(str(params.get("code", "")), None)
        if team is None:
            return {"ok": False, "error": "invalid_code"}
        token = f"xoxb-{team}-{next(self._clock)}-secretpart"
        self.teams[token] = team
        return {
            "ok": True, "access_token": token, "token_type": "bot",
            "scope": ",".join(sorted(self.scopes)), "bot_user_id": f"UBOT{team}",
            "app_id": "A0PAPERPOST", "team": {"id": team, "name": self.team_names[team]},
            "enterprise": None, "is_enterprise_install": False,
            "authed_user": {"id": f"UADMIN{team}"},
        }  # fmt: skip

    async def _answer(self, method: str, params: dict[str, Any], token: str) -> web.Response:
        if method == "apps.connections.open":
            if token != self.app_token:
                return _error("invalid_auth")
        elif self._team_of(token) is None:
            return _error("invalid_auth")
        if self.limiter is not None and (wait := self.limiter(method, params)) is not None:
            self.rate_limited += 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(int(wait))},
            )
        fault = self._faults[method].popleft() if self._faults[method] else None
        if fault is not None:
            if fault.posted and method == "chat.postMessage":
                self._post({**params, "_token": token})
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            return web.json_response(
                {"ok": False, "error": fault.code}, status=fault.status, headers=headers
            )
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method")
        if (needed := self._needed_scope(method, params)) is not None:
            provided = ",".join(sorted(self.scopes))
            return web.json_response(
                {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
            )
        answer = handler({**params, "_token": token}) if method in PER_TOKEN else handler(params)
        if method == "chat.postMessage" and self.post_latency and answer.get("ok"):
            self.unanswered += 1  # posted, not yet answered
            try:
                await asyncio.sleep(self.rng.uniform(*self.post_latency))
            finally:
                self.unanswered -= 1
        return web.json_response(answer)

    def _needed_scope(self, method: str, params: dict[str, Any]) -> str | None:
        """The scope the call lacks, or None."""
        if method not in NEEDS:
            return None
        public, private = NEEDS[method]
        needed = private if str(params.get("channel", "")).startswith("G") else public
        return None if needed in self.scopes else needed

    def _channel_error(self, channel: str, *, posting: bool) -> str | None:
        if not channel or channel in self._missing:
            return "channel_not_found"
        if posting and channel in self._not_member:
            return "not_in_channel"
        return None

    def _post(self, params: dict[str, Any]) -> Posted:
        n = next(self._clock)
        blocks = params.get("blocks") or []
        metadata = params.get("metadata")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        posted = Posted(
            channel=params["channel"],
            ts=f"{1_700_000_000 + n}.{n:06d}",
            text=params.get("text", ""),
            blocks=blocks,
            thread_ts=params.get("thread_ts"),
            metadata=metadata,
            body={k: v for k, v in params.items() if k != "_token"},
            token=params.get("_token", ""),
        )
        self.posts.append(posted)
        message = {"type": "message", "ts": posted.ts, "text": posted.text, "blocks": blocks}
        message |= {"user": self.bot_user_id, "bot_id": "BBOT0001"}
        if posted.thread_ts:
            message["thread_ts"] = posted.thread_ts
        if metadata:
            message["metadata"] = metadata
        self._history[posted.channel].append(message)
        if self.on_post is not None:
            self.on_post(posted)
        return posted

    # -- methods -------------------------------------------------------------------
    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        team = self._team_of(params.get("_token", "")) or self.team_id
        if team != self.team_id:  # a workspace installed through OAuth
            return {
                "ok": True, "url": f"https://{team.lower()}.slack.com/",
                "team": self.team_names.get(team, team), "user": "paperpost", "team_id": team,
                "user_id": f"UBOT{team}", "bot_id": f"B{team}", "is_enterprise_install": False,
            }  # fmt: skip
        return {
            "ok": True, "url": "https://paperpost-test.slack.com/", "team": "Test",
            "user": "paperpost", "team_id": self.team_id, "user_id": self.bot_user_id,
            "bot_id": "BBOT0001", "is_enterprise_install": False,
        }  # fmt: skip

    def _m_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_url:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": self.socket_url}

    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel", "")
        if error := self._channel_error(channel, posting=True):
            return {"ok": False, "error": error}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if len(params.get("text") or "") > TEXT_LIMIT:
            return {"ok": False, "error": "msg_too_long"}
        blocks = params.get("blocks") or []
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        if problems := block_kit_problems(blocks):
            too_long = any("too long in all" in p for p in problems)
            if too_long:
                return {"ok": False, "error": "msg_blocks_too_long"}
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        metadata = params.get("metadata")
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        if metadata is not None and not _valid_metadata(metadata):
            return {"ok": False, "error": "invalid_metadata_format"}
        thread_ts = params.get("thread_ts")
        if thread_ts and not any(
            m["ts"] == thread_ts and m.get("thread_ts", m["ts"]) == m["ts"]
            for m in self._history[channel]
        ):  # a reply's ts, or no message at all
            return {"ok": False, "error": "invalid_thread_ts"}
        posted = self._post(params)
        return {"ok": True, "channel": channel, "ts": posted.ts, "message": {"ts": posted.ts}}

    def _m_chat_unfurl(self, params: dict[str, Any]) -> dict[str, Any]:
        by_message = params.get("channel") and params.get("ts")
        if not by_message and not (params.get("unfurl_id") and params.get("source")):
            return {"ok": False, "error": "invalid_arguments"}
        unfurls = params.get("unfurls")
        unfurls = json.loads(unfurls) if isinstance(unfurls, str) else unfurls
        if not isinstance(unfurls, dict) or not unfurls:
            return {"ok": False, "error": "invalid_unfurls_format"}
        for url, unfurl in unfurls.items():
            blocks = unfurl.get("blocks") if isinstance(unfurl, dict) else None
            if not isinstance(url, str) or not isinstance(blocks, list) or not blocks:
                return {"ok": False, "error": "invalid_unfurls_format"}
            if problems := block_kit_problems(blocks):
                return {"ok": False, "error": "invalid_blocks", "errors": problems}
        self.unfurls.append({**params, "unfurls": unfurls})
        return {"ok": True}

    def _m_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel", "")
        if error := self._channel_error(channel, posting=False):
            return {"ok": False, "error": error}
        member = channel not in self._not_member
        return {"ok": True, "channel": {"id": channel, "is_channel": True, "is_member": member}}

    def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user", "")
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        flags = {"is_admin": False, "is_owner": False, "is_primary_owner": False}
        member = {"id": user, "team_id": self.team_id, "name": user.lower(), "deleted": False}
        return {"ok": True, "user": member | flags | self.users[user]}

    def _m_usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("usergroup", "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _page(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = messages[start : start + limit]
        if str(params.get("include_all_metadata", "")).lower() not in ("1", "true"):
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(messages)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel", "")
        if error := self._channel_error(channel, posting=True):
            return {"ok": False, "error": error}
        top = [m for m in self._history[channel] if m.get("thread_ts", m["ts"]) == m["ts"]]
        return self._page(top[::-1], params)

    def _m_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel", ""), params.get("ts")
        if error := self._channel_error(channel, posting=True):
            return {"ok": False, "error": error}
        thread = [m for m in self._history[channel] if ts in (m["ts"], m.get("thread_ts"))]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return self._page(thread, params)


PER_TOKEN = ("auth.test", "chat.postMessage")  # answered as the token's own team


def _valid_metadata(metadata: Any) -> bool:
    """Message metadata as Slack takes it: an ``event_type`` name and an object payload."""
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and re.fullmatch(r"[A-Za-z0-9_]{1,255}", metadata["event_type"]) is not None
        and isinstance(metadata.get("event_payload"), dict)
    )


def _error(code: str, status: int = 200) -> web.Response:
    return web.json_response({"ok": False, "error": code}, status=status)


# -- Block Kit ------------------------------------------------------------------------
LIMITS = {"blocks": 50, "section": 3_000, "header": 150, "context": 10, "button": 75,
          "value": 2_000, "url": 3_000, "total_text": 12_000, "block_id": 255,
          "fields": 10, "field": 2_000}  # fmt: skip
# Block types a message may hold, and the element types each place takes.
MESSAGE_BLOCKS = {"section", "header", "context", "actions", "divider", "image",
                  "rich_text", "markdown", "video", "file"}  # fmt: skip
TEXT_TYPES = {"plain_text", "mrkdwn"}
INTERACTIVE = {"button", "checkboxes", "datepicker", "datetimepicker", "multi_static_select",
               "multi_external_select", "multi_users_select", "multi_conversations_select",
               "multi_channels_select", "overflow", "radio_buttons", "static_select",
               "external_select", "users_select", "conversations_select", "channels_select",
               "timepicker", "workflow_button", "rich_text_input"}  # fmt: skip
CONTEXT_ELEMENTS = TEXT_TYPES | {"image"}
ACCESSORIES = INTERACTIVE | {"image"}


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in ([v] if k == "text" and isinstance(v, str)
                else _texts(v))]  # fmt: skip
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def _text_object(obj: Any, where: str, limit: int, *, plain: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        return [f"{where}: not a text object"]
    if plain and obj["type"] != "plain_text":
        return [f"{where}: must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}: empty text"]
    return [f"{where}: text of {len(text)} chars"] if len(text) > limit else []


def _block_problems(i: int, block: dict[str, Any]) -> list[str]:
    kind, where = block.get("type"), f"block {i}"
    if kind not in MESSAGE_BLOCKS:
        return [f"{where}: unknown type {kind!r}"]
    problems: list[str] = []
    if kind == "section":
        fields = block.get("fields") or []
        if "text" in block or not fields:
            problems += _text_object(block.get("text"), where, LIMITS["section"])
        if len(fields) > LIMITS["fields"]:
            problems.append(f"{where}: {len(fields)} fields")
        for f in fields:
            problems += _text_object(f, f"{where} field", LIMITS["field"])
        accessory = block.get("accessory")
        if accessory is not None and accessory.get("type") not in ACCESSORIES:
            problems.append(f"{where}: unknown accessory {accessory.get('type')!r}")
    elif kind == "header":
        problems += _text_object(block.get("text"), where, LIMITS["header"], plain=True)
    elif kind == "context":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= LIMITS["context"]:
            problems.append(f"{where}: {len(elements)} context elements")
        for e in elements:
            if e.get("type") not in CONTEXT_ELEMENTS:
                problems.append(f"{where}: unknown element {e.get('type')!r}")
            elif e["type"] in TEXT_TYPES:
                problems += _text_object(e, f"{where} element", LIMITS["section"])
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 25:
            problems.append(f"{where}: {len(elements)} actions elements")
        for e in elements:
            if e.get("type") not in INTERACTIVE:
                problems.append(f"{where}: unknown element {e.get('type')!r}")
                continue
            if e["type"] == "button":
                problems += _text_object(e.get("text"), f"{where} button", LIMITS["button"],
                                         plain=True)  # fmt: skip
            if len(e.get("value", "")) > LIMITS["value"]:
                problems.append(f"{where}: button value too long")
            if len(e.get("url", "")) > LIMITS["url"]:
                problems.append(f"{where}: button url too long")
    return problems


def block_kit_problems(blocks: list[dict[str, Any]]) -> list[str]:
    """What Slack would refuse in a message's blocks ([] when none)."""
    problems = []
    if len(blocks) > LIMITS["blocks"]:
        problems.append(f"{len(blocks)} blocks")
    if sum(map(len, _texts(blocks))) > LIMITS["total_text"]:
        problems.append("blocks too long in all")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                problems.append(f"block {i}: duplicate block_id {block_id!r}")
            if not block_id or len(block_id) > LIMITS["block_id"]:
                problems.append(f"block {i}: block_id of {len(block_id)} chars")
            seen.add(block_id)
        problems += _block_problems(i, block)
    return problems


# -- requests from Slack ------------------------------------------------------------
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DATA = Path(__file__).resolve().parent.parent / "data" / "slack"


def slash_command(text: str, *, response_url: str, **overrides: str) -> dict[str, str]:
    """A recorded-shape ``/papers`` payload with ``text`` and ``response_url`` set."""
    payload = json.loads((DATA / "slash_command.json").read_text("utf-8"))
    payload |= {"text": text, "response_url": response_url, **overrides}
    return payload


def share_click(value: str, *, response_url: str, **overrides: Any) -> dict[str, Any]:
    """A recorded-shape ``block_actions`` payload: the "Share in channel" button."""
    payload = json.loads((DATA / "share_action.json").read_text("utf-8"))
    payload["actions"][0]["value"] = value
    payload["response_url"] = response_url
    payload |= overrides
    return payload


def sign(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def link_shared(urls: list[str], *, channel: str = "C0DIGEST1", **event: Any) -> dict[str, Any]:
    """A ``link_shared`` event callback as Slack shapes it (``tests/data/slack``)."""
    payload = json.loads((DATA / "link_shared.json").read_text("utf-8"))
    payload["event"] |= {
        "channel": channel,
        "links": [{"domain": url.split("/")[2].removeprefix("www."), "url": url} for url in urls],
        **event,
    }
    return payload


def sign_json(body: str, **options: Any) -> dict[str, str]:
    """Headers of a signed Events API request (a JSON body)."""
    return sign(body, **options) | {"Content-Type": "application/json"}


def form_body(payload: dict[str, str]) -> str:
    """A slash command as Slack sends it: form-encoded fields."""
    return urlencode(payload)


def action_body(payload: dict[str, Any]) -> str:
    """An interaction as Slack sends it: ``payload=<json>``, form-encoded."""
    return urlencode({"payload": json.dumps(payload)})
