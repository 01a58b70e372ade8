"""A loopback fake of Discord's REST API and gateway, on aiohttp, for a real ``discord.Client``.

Point discord.py at it with ``discord.http.Route.BASE = fake.api_url`` and
``DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)`` (what
``adapters.discord.client.point_at`` does).

Gateway (``/gateway``, JSON text frames)
    HELLO on connect; IDENTIFY → READY (the guilds as unavailable) then one
    GUILD_CREATE per guild (with a ``shard`` array in IDENTIFY, only the guild
    that shard serves: ``(guild_id >> 22) % count``; READY echoes the array);
    HEARTBEAT → HEARTBEAT_ACK; RESUME → RESUMED.
    ``await fake.dispatch(event, data)`` sends any event; ``await
    fake.invoke("papers", "search", {"query": "x"})`` sends an INTERACTION_CREATE
    for a slash (sub)command and returns its interaction id; ``await
    fake.invoke_on_message("Show paper", message)`` does the same for a message
    context-menu command (type 3) on ``message`` (e.g. from ``post_as_user``).

REST (under ``/api/v10``)
    ``GET /users/@me``, ``GET /oauth2/applications/@me``, ``PUT`` global and
    guild command sync, ``POST /interactions/{id}/{token}/callback``,
    ``POST|PATCH|GET|DELETE /webhooks/{app}/{token}[/messages/{id|@original}]``,
    ``POST|GET /channels/{id}/messages`` (GET honours ``limit``, 1 to 100,
    default 50, and ``before``/``after``, newest first), ``POST
    /channels/{id}/messages/{mid}/threads`` (thread id = message id; 400/160004
    when it exists). Unknown channels answer 404/10003.

What it refuses, as Discord does (``message_problems``)
    400/50035 "Invalid Form Body" with Discord's per-field ``errors`` (a nonce
    over 25 characters, an embed field with no name or value, a URL that is not
    http(s), any size limit passed); 400/50006 "Cannot send an empty message"
    (no embeds and content empty or only whitespace); a thread name outside 1 to
    100 characters.

Nonces
    ``nonce`` + ``enforce_nonce`` returns the earlier message with that nonce
    only while it is younger than ``nonce_window`` seconds (Discord: a few
    minutes) on ``clock`` (a callable the test may drive); after that the
    same nonce makes a new message, as on Discord.

Faults
    ``fake.fail("POST", r"/channels/\\d+/messages", status=403, code=50013)``
    and ``fake.rate_limit("POST", r"/channels/.*", retry_after=0.05)`` (with the
    ``Via`` header and a JSON ``retry_after``, as Discord's 429s) are used once
    each (``times=`` for more; ``skip=N`` lets N matching requests through first).

Records
    ``fake.requests`` (every REST request: method, path, query, json),
    ``fake.identifies``, ``fake.callbacks`` (interaction responses),
    ``fake.followups``, ``fake.events`` (the order of protocol steps),
    ``fake.messages[channel_id]`` (what a channel holds, oldest first;
    ``fake.post_as_user(channel_id, text)`` adds someone else's message),
    ``fake.commands[guild_id or None]`` (synced commands).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = 1100000000000000001
BOT_ID = 1100000000000000002
GUILD_ID = 1200000000000000001
CHANNEL_ID = 1300000000000000001
USER_ID = 1400000000000000001
EPHEMERAL = 64
NONCE_MAX = 25
NONCE_WINDOW = 300.0  # seconds; Discord says "a few minutes"
HISTORY_DEFAULT, HISTORY_MAX = 50, 100
THREAD_NAME_MAX = 100


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    json: Any


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    skip: int = 0  # matching requests let through before the fault applies


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly application/json.
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _field_error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _is_url(value: Any) -> bool:
    # Discord takes http(s) (and attachment://) URLs; anything else is "not well formed".
    return isinstance(value, str) and bool(
        re.fullmatch(r"(https?://[^\s/$.?#][^\s]*|attachment://\S+)", value, re.IGNORECASE)
    )


def message_problems(payload: dict[str, Any]) -> dict[str, Any]:
    """Discord's 50035 ``errors`` object for a message payload ({} when valid)."""
    errors = _field_problems(payload)
    if sizes := _size_problems(payload):
        errors["_errors"] = [{"code": "BASE_TYPE_MAX_LENGTH", "message": p} for p in sizes]
    return errors


def embed_problems(payload: dict[str, Any]) -> list[str]:
    """The size limits of a message payload ([] when within them); the fake
    server also refuses what ``message_problems`` finds."""
    return _size_problems(payload)


def _field_problems(payload: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    nonce = payload.get("nonce")
    if isinstance(nonce, str) and len(nonce) > NONCE_MAX:
        errors["nonce"] = _field_error(
            "NONCE_TYPE_TOO_LONG", "Must be 25 or fewer characters long."
        )
    bad_url = _field_error("URL_TYPE_INVALID_URL", "Not a well formed URL.")
    required = _field_error("BASE_TYPE_REQUIRED", "This field is required")
    for i, embed in enumerate(payload.get("embeds") or []):
        found: dict[str, Any] = {}
        if "url" in embed and not _is_url(embed["url"]):
            found["url"] = bad_url
        for part, key in (("thumbnail", "url"), ("image", "url"), ("author", "url"),
                          ("author", "icon_url"), ("footer", "icon_url")):  # fmt: skip
            value = (embed.get(part) or {}).get(key)
            if value is not None and not _is_url(value):
                found.setdefault(part, {})[key] = bad_url
        for j, f in enumerate(embed.get("fields") or []):
            missing = {k: required for k in ("name", "value") if not str(f.get(k) or "").strip()}
            if missing:
                found.setdefault("fields", {})[str(j)] = missing
        if found:
            errors.setdefault("embeds", {})[str(i)] = found
    return errors


def _size_problems(payload: dict[str, Any]) -> list[str]:
    problems = []
    content = payload.get("content") or ""
    if len(content) > 2000:
        problems.append("content over 2000")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems.append("more than 10 embeds")
    total = 0
    for e in embeds:
        sizes = {
            "title": (len(e.get("title") or ""), 256),
            "description": (len(e.get("description") or ""), 4096),
            "footer": (len((e.get("footer") or {}).get("text") or ""), 2048),
            "author": (len((e.get("author") or {}).get("name") or ""), 256),
        }
        fields = e.get("fields") or []
        if len(fields) > 25:
            problems.append("more than 25 fields")
        for f in fields:
            name, value = f.get("name") or "", f.get("value") or ""
            if len(name) > 256 or len(value) > 1024 or not value:
                problems.append("field over limits")
            total += len(name) + len(value)
        for name, (size, limit) in sizes.items():
            if size > limit:
                problems.append(f"{name} over {limit}")
            total += size
    if total > 6000:
        problems.append(f"embeds total {total} over 6000")
    if not content.strip() and not embeds:
        problems.append("empty message")
    return problems


def _refusal(payload: dict[str, Any]) -> web.Response | None:
    """Discord's answer to a message it will not create, or None."""
    if not (payload.get("content") or "").strip() and not payload.get("embeds"):
        return _error(400, 50006, "Cannot send an empty message")
    if errors := message_problems(payload):
        return _json({"code": 50035, "message": "Invalid Form Body", "errors": errors}, 400)
    return None


class FakeDiscord:
    def __init__(
        self,
        *,
        guild_id: int = GUILD_ID,
        channel_ids: tuple[int, ...] = (CHANNEL_ID,),
        nonce_window: float = NONCE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.nonce_window = nonce_window
        self.clock = clock
        self._created: dict[str, float] = {}  # message id -> clock() when created
        self.guild_id = guild_id
        self.channels: dict[int, dict[str, Any]] = {
            cid: {"id": str(cid), "type": 0, "guild_id": str(guild_id), "name": f"papers-{i}",
                  "position": i, "permission_overwrites": [], "nsfw": False, "parent_id": None}
            for i, cid in enumerate(channel_ids)
        }  # fmt: skip
        self.messages: dict[int, list[dict[str, Any]]] = {cid: [] for cid in channel_ids}
        self.requests: list[Recorded] = []
        self.identifies: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.events: list[str] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self._ids = itertools.count(1500000000000000001)
        self._seq = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._interactions: dict[str, int] = {}  # token -> interaction id
        self._users: dict[str, dict[str, Any]] = {}  # token -> invoking user
        self._originals: dict[str, dict[str, Any]] = {}  # token -> original response message
        self._changed = asyncio.Condition()
        self.ready = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- faults and waiting ----------------------------------------------------
    def fail(
        self, method: str, pattern: str, *, status: int, code: int, times: int = 1, skip: int = 0
    ) -> None:
        body = {"code": code, "message": f"fake error {code}"}
        self.faults.append(Fault(method, re.compile(pattern), status, body, times=times, skip=skip))

    def rate_limit(self, method: str, pattern: str, *, retry_after: float, times: int = 1) -> None:
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        headers = {"Via": "1.1 google", "Retry-After": str(retry_after),
                   "X-RateLimit-Scope": "user"}  # fmt: skip
        self.faults.append(Fault(method, re.compile(pattern), 429, body, headers, times))

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def until() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(until(), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- gateway ---------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        self.events.append("HELLO")
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            payload = json.loads(msg.data)
            op = payload.get("op")
            if op == 1:
                await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif op == 2:
                self.identifies.append(payload["d"])
                self.events.append("IDENTIFY")
                shard = payload["d"].get("shard") or [0, 1]
                # A guild lives on shard (guild_id >> 22) % shard_count, as on Discord.
                mine = (self.guild_id >> 22) % shard[1] == shard[0]
                await self._send(ws, "READY", self._ready_payload(shard, mine))
                if mine:
                    await self._send(ws, "GUILD_CREATE", self._guild_payload())
                self.ready.set()
            elif op == 6:
                await self._send(ws, "RESUMED", {})
            await self._notify()
        return ws

    async def _send(self, ws: web.WebSocketResponse, event: str, data: Any) -> None:
        self.events.append(event)
        await ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    async def dispatch(self, event: str, data: Any) -> None:
        await self.ready.wait()
        await self._send(self._sockets[-1], event, data)

    def _bot_user(self) -> dict[str, Any]:
        return {"id": str(BOT_ID), "username": "paperpost", "discriminator": "0",
                "global_name": "Paperpost", "avatar": None, "bot": True, "flags": 0}  # fmt: skip

    def _ready_payload(self, shard: list[int], mine: bool = True) -> dict[str, Any]:
        return {
            "v": 10, "user": self._bot_user(), "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url, "shard": shard,
            "guilds": [{"id": str(self.guild_id), "unavailable": True}] if mine else [],
            "application": {"id": str(APP_ID), "flags": 0},
        }  # fmt: skip

    def _guild_payload(self) -> dict[str, Any]:
        everyone = {"id": str(self.guild_id), "name": "@everyone", "permissions": "1024",
                    "position": 0, "color": 0, "hoist": False, "managed": False,
                    "mentionable": False}  # fmt: skip
        return {
            "id": str(self.guild_id), "name": "Fake Lab", "icon": None, "owner_id": str(USER_ID),
            "unavailable": False, "member_count": 2, "large": False, "features": [],
            "roles": [everyone], "emojis": [], "stickers": [],
            "channels": list(self.channels.values()),
            "threads": [], "members": [], "voice_states": [], "presences": [],
            "joined_at": _now(), "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "premium_tier": 0,
            "preferred_locale": "en-US", "system_channel_flags": 0, "nsfw_level": 0,
        }  # fmt: skip

    async def invoke(
        self, group: str, *path: str, options: dict[str, Any] | None = None,
        channel_id: int = CHANNEL_ID, user_id: int = USER_ID, permissions: int = (1 << 41) - 1,
        autocomplete_focus: str | None = None, global_name: str = "Ana",
    ) -> int:  # fmt: skip
        """Send INTERACTION_CREATE for ``/group sub [sub] options``; returns the interaction id.
        ``global_name``: the invoking user's display name."""
        types = {bool: 5, int: 4, str: 3}
        leaf = [
            {"name": k, "type": types[type(v)], "value": v}
            | ({"focused": True} if k == autocomplete_focus else {})
            for k, v in (options or {}).items()
        ]
        for i, name in enumerate(reversed(path)):
            leaf = [{"name": name, "type": 1 if i == 0 else 2, "options": leaf}]
        interaction_id = next(self._ids)
        token = f"token-{interaction_id}"
        user = {"id": str(user_id), "username": "ana", "discriminator": "0",
                "global_name": global_name, "avatar": None}  # fmt: skip
        self._interactions[token] = interaction_id
        self._users[token] = user
        await self.dispatch("INTERACTION_CREATE", {
            "id": str(interaction_id), "application_id": str(APP_ID),
            "type": 4 if autocomplete_focus else 2, "token": token, "version": 1,
            "data": {"id": "1", "name": group, "type": 1, "options": leaf,
                     "guild_id": str(self.guild_id)},
            "guild_id": str(self.guild_id), "channel_id": str(channel_id),
            "channel": self.channels.get(channel_id, {"id": str(channel_id), "type": 0}),
            "member": {"user": user, "roles": [], "joined_at": _now(), "deaf": False,
                       "mute": False, "flags": 0, "permissions": str(permissions)},
            "app_permissions": str((1 << 41) - 1), "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0, "attachment_size_limit": 8388608,
        })  # fmt: skip
        return interaction_id

    async def invoke_on_message(
        self, name: str, message: dict[str, Any], *, user_id: int = USER_ID
    ) -> int:
        """Send INTERACTION_CREATE for the message command ``name`` on ``message``."""
        interaction_id = next(self._ids)
        token = f"token-{interaction_id}"
        user = {"id": str(user_id), "username": "ana", "discriminator": "0",
                "global_name": "Ana", "avatar": None}  # fmt: skip
        self._interactions[token] = interaction_id
        self._users[token] = user
        channel_id = int(message["channel_id"])
        await self.dispatch("INTERACTION_CREATE", {
            "id": str(interaction_id), "application_id": str(APP_ID), "type": 2,
            "token": token, "version": 1,
            "data": {"id": "2", "name": name, "type": 3, "target_id": message["id"],
                     "resolved": {"messages": {message["id"]: message}},
                     "guild_id": str(self.guild_id)},
            "guild_id": str(self.guild_id), "channel_id": str(channel_id),
            "channel": self.channels.get(channel_id, {"id": str(channel_id), "type": 0}),
            "member": {"user": user, "roles": [], "joined_at": _now(), "deaf": False,
                       "mute": False, "flags": 0, "permissions": str((1 << 41) - 1)},
            "app_permissions": str((1 << 41) - 1), "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0, "attachment_size_limit": 8388608,
        })  # fmt: skip
        return interaction_id

    # -- REST --------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body = await request.json() if request.can_read_body else None
        self.requests.append(Recorded(request.method, path, dict(request.query), body))
        try:
            for fault in self.faults:
                if (
                    fault.times > 0
                    and fault.method == request.method
                    and fault.pattern.fullmatch(path)
                ):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return _json(fault.body, fault.status, fault.headers)
            return await self._route(request.method, path, body, dict(request.query))
        finally:
            await self._notify()

    async def _route(
        self, method: str, path: str, body: Any, query: dict[str, str] | None = None
    ) -> web.Response:
        if path == "/users/@me":
            return _json(self._bot_user())
        if path == "/oauth2/applications/@me":
            return _json({
                "id": str(APP_ID), "name": "Paperpost", "icon": None, "description": "",
                "bot_public": True, "bot_require_code_grant": False, "owner": self._bot_user(),
                "verify_key": "0" * 64, "flags": 0, "summary": "", "team": None,
            })  # fmt: skip
        if m := re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path):
            guild = int(m[2]) if m[2] else None
            # Discord answers context menus (which send none) with an empty description.
            synced = [{"description": "", **c, "id": str(next(self._ids)), "application_id": m[1],
                       "version": "1",
                       **({"guild_id": m[2]} if m[2] else {})} for c in body]  # fmt: skip
            self.commands[guild] = synced
            self.events.append("SYNC")
            return _json(synced)
        if m := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path):
            return self._callback(int(m[1]), m[2], body)
        if m := re.fullmatch(r"/webhooks/(\d+)/([^/]+)(?:/messages/([^/]+))?", path):
            return self._webhook(method, m[2], m[3], body)
        if m := re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path):
            return self._thread(int(m[1]), int(m[2]), body)
        if m := re.fullmatch(r"/channels/(\d+)/messages", path):
            channel_id = int(m[1])
            if channel_id not in self.messages:
                return _error(404, 10003, "Unknown Channel")
            if method == "GET":
                return self._history(channel_id, query)
            return self._create_message(channel_id, body)
        return _error(404, 0, f"fake has no route {method} {path}")

    def _message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message_id = str(next(self._ids))
        self._created[message_id] = self.clock()
        return {
            "id": message_id, "channel_id": str(channel_id), "author": self._bot_user(),
            "content": body.get("content") or "", "embeds": body.get("embeds") or [],
            "timestamp": _now(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "pinned": False, "type": 0, "flags": body.get("flags") or 0,
            "nonce": body.get("nonce"), "allowed_mentions": body.get("allowed_mentions"),
        }  # fmt: skip

    def _history(self, channel_id: int, query: dict[str, str] | None) -> web.Response:
        query = query or {}
        try:
            limit = int(query.get("limit", HISTORY_DEFAULT))
            before, after = (int(query[k]) if k in query else None for k in ("before", "after"))
        except ValueError:
            return _error(400, 50035, "Invalid Form Body")
        if not 1 <= limit <= HISTORY_MAX:
            return _error(400, 50035, "Invalid Form Body")
        held = self.messages[channel_id]  # oldest first
        if before is not None:
            held = [m for m in held if int(m["id"]) < before]
        if after is not None:  # the messages just after ``after``
            held = [m for m in held if int(m["id"]) > after][:limit]
        return _json(list(reversed(held))[:limit])

    def post_as_user(
        self, channel_id: int, content: str, *, user_id: int = USER_ID
    ) -> dict[str, Any]:
        """Someone else's message in the channel (not the bot's); returns it."""
        message = self._message(channel_id, {"content": content})
        message["author"] = {"id": str(user_id), "username": "ana", "discriminator": "0",
                             "global_name": "Ana", "avatar": None}  # fmt: skip
        self.messages[channel_id].append(message)
        return message

    def _create_message(self, channel_id: int, body: dict[str, Any]) -> web.Response:
        if (refused := _refusal(body)) is not None:
            return refused
        nonce = body.get("nonce")
        if nonce and body.get("enforce_nonce"):
            for existing in self.messages[channel_id]:
                young = self.clock() - self._created[existing["id"]] < self.nonce_window
                if existing["nonce"] == nonce and young:
                    return _json(existing)
        message = self._message(channel_id, body)
        self.messages[channel_id].append(message)
        self.events.append(f"MESSAGE {channel_id}")
        return _json(message)

    def _thread(self, channel_id: int, message_id: int, body: dict[str, Any]) -> web.Response:
        if channel_id not in self.messages:
            return _error(404, 10003, "Unknown Channel")
        if message_id in self.messages:
            return _error(400, 160004, "A thread has already been created for this message")
        if not any(int(m["id"]) == message_id for m in self.messages[channel_id]):
            return _error(404, 10008, "Unknown Message")
        if not 1 <= len(str(body.get("name") or "").strip()) <= THREAD_NAME_MAX:
            errors = {
                "name": _field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            }
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": errors}, 400)
        self.messages[message_id] = []
        meta = {"archived": False, "archive_timestamp": _now(), "locked": False,
                "auto_archive_duration": body["auto_archive_duration"]}  # fmt: skip
        thread = {"id": str(message_id), "type": 11, "guild_id": str(self.guild_id),
                  "parent_id": str(channel_id), "name": body["name"], "owner_id": str(BOT_ID),
                  "message_count": 0, "member_count": 1, "rate_limit_per_user": 0,
                  "thread_metadata": meta}  # fmt: skip
        self.channels[message_id] = thread
        self.events.append(f"THREAD {message_id}")
        return _json(thread)

    def _callback(self, interaction_id: int, token: str, body: dict[str, Any]) -> web.Response:
        if self._interactions.get(token) != interaction_id:
            return _error(404, 10062, "Unknown interaction")
        if any(c["token"] == token for c in self.callbacks):
            return _error(400, 40060, "Interaction has already been acknowledged.")
        kind, data = body["type"], body.get("data") or {}
        self.callbacks.append({"id": interaction_id, "token": token, "type": kind, "data": data})
        self.events.append(f"CALLBACK {kind}")
        response: dict[str, Any] = {"interaction": {
            "id": str(interaction_id), "type": 2, "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL),
        }}  # fmt: skip
        if kind in (4, 5):
            message = self._message(0, data)
            message["interaction_metadata"] = {
                "id": str(interaction_id),
                "type": 2,
                "user": self._users[token],
                "authorizing_integration_owners": {},
            }
            self._originals[token] = message
            response["interaction"]["response_message_id"] = message["id"]
            response["resource"] = {"type": kind, "message": message}
        return _json(response)

    def _webhook(self, method: str, token: str, target: str | None, body: Any) -> web.Response:
        if token not in self._interactions:
            return _error(404, 10015, "Unknown Webhook")
        if method == "POST" and target is None:
            if (refused := _refusal(body)) is not None:
                return refused
            message = self._message(0, body)
            self.followups.append({"token": token, **message})
            self.events.append("FOLLOWUP")
            return _json(message)
        original = self._originals.get(token)
        if original is None:
            return _error(404, 10008, "Unknown Message")
        if method == "PATCH":
            original.update({k: v for k, v in body.items() if k in ("content", "embeds")})
            self.events.append("EDIT")
        return _json(original)
