"""A loopback fake of Slack's Socket Mode server.

``apps.connections.open`` on the fake Web API returns this server's
``ws://127.0.0.1:PORT/link`` (``await FakeSocketServer().start(api)`` sets
``api.socket_url``). On connect it says ``hello`` like Slack; tests push
envelopes with ``send_envelope`` and collect the client's acks with ``ack``.

    async with FakeSlackAPI() as api, FakeSocketServer() as sock:
        sock.attach(api)
        ...start the app in Socket Mode against api.url...
        await sock.connected()
        envelope_id = await sock.send_envelope("slash_commands", payload)
        ack = await sock.ack(envelope_id)   # {"envelope_id": ..., "payload"?: ...}
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_api import FakeSlackAPI


class FakeSocketServer:
    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._connected = asyncio.Event()
        self.received: list[dict[str, Any]] = []
        self.url = ""

    async def start(self) -> FakeSocketServer:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"ws://{host}:{port}/link"
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSocketServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def attach(self, api: FakeSlackAPI) -> None:
        api.socket_url = self.url

    async def connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    def _future(self, envelope_id: str) -> asyncio.Future[dict[str, Any]]:
        if envelope_id not in self._acks:
            self._acks[envelope_id] = asyncio.get_running_loop().create_future()
        return self._acks[envelope_id]

    async def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Send one envelope (``slash_commands``, ``interactive``, ``events_api``)."""
        envelope_id = str(uuid.uuid4())
        self._future(envelope_id)
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(asyncio.shield(self._future(envelope_id)), timeout)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        hello = {
            "type": "hello",
            "num_connections": len(self._sockets),
            "debug_info": {"host": "fake-socket", "approximate_connection_time": 3600},
            "connection_info": {"app_id": "A0TEST"},
        }
        await ws.send_str(json.dumps(hello))
        self._connected.set()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                self.received.append(data)
                envelope_id = data.get("envelope_id")
                if envelope_id and not self._future(envelope_id).done():
                    self._future(envelope_id).set_result(data)
        finally:
            self._sockets.remove(ws)
        return ws
