"""HTTP mode: Slack's events at ``/slack/events`` on an aiohttp server whose
bind address we choose (Bolt's own dev server binds every interface).

``build_web_app`` returns a plain ``aiohttp.web.Application`` so more routes
(``/healthz``, ``/metrics``) can be added next to Slack's before it starts.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

EVENTS_PATH = "/slack/events"
MAX_BODY = 1024 * 1024  # Slack's payloads are a few kB; refuse anything absurd early


def add_slack_routes(web_app: web.Application, bolt: AsyncApp, *, path: str = EVENTS_PATH) -> None:
    """Route ``POST path`` to Bolt, which checks the signature (401 when it is
    forged or older than 5 minutes) and dispatches to the listeners."""

    async def events(request: web.Request) -> web.Response:
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(path, events)


class LateBolt:
    """``/slack/events`` on a server that starts before Slack is reached: 503 (Slack
    retries) until ``bolt`` is set, then every request goes to it."""

    def __init__(self) -> None:
        self.bolt: AsyncApp | None = None


def add_late_slack_routes(web_app: web.Application, *, path: str = EVENTS_PATH) -> LateBolt:
    """Route ``POST path`` to the Bolt app set on the returned holder later."""
    late = LateBolt()

    async def events(request: web.Request) -> web.Response:
        if late.bolt is None:
            return web.Response(status=503, text="Paperpost is still connecting to Slack")
        bolt_response = await late.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(path, events)
    return late


def build_web_app(bolt: AsyncApp, *, path: str = EVENTS_PATH) -> web.Application:
    web_app = web.Application(client_max_size=MAX_BODY)
    add_slack_routes(web_app, bolt, path=path)
    return web_app


async def serve(web_app: web.Application, *, host: str, port: int) -> web.AppRunner:
    """Start serving on ``host:port`` (port 0: any free port); returns the
    runner, whose ``addresses`` tell where, and whose ``cleanup()`` stops it."""
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host=host, port=port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
