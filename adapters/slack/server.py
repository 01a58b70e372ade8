"""HTTP mode: Slack's events at ``/slack/events`` on an aiohttp server whose
bind address we choose (Bolt's own dev server binds every interface).

``build_web_app`` returns a plain ``aiohttp.web.Application`` so more routes
(``/healthz``, ``/metrics``) can be added next to Slack's before it starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from paperpost.bot.errors import StoreError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"  # OAuth installs: where a workspace admin starts
REDIRECT_PATH = "/slack/oauth_redirect"  # ... and where Slack sends them back
MAX_BODY = 1024 * 1024  # Slack's payloads are a few kB; refuse anything absurd early


def add_slack_routes(web_app: web.Application, bolt: AsyncApp, *, path: str = EVENTS_PATH) -> None:
    """Route ``POST path`` to Bolt, which checks the signature (401 when it is
    forged or older than 5 minutes) and dispatches to the listeners."""

    async def events(request: web.Request) -> web.Response:
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(path, events)
    add_oauth_routes(web_app, lambda: bolt)


def add_oauth_routes(web_app: web.Application, bolt: Callable[[], AsyncApp | None]) -> None:
    """``GET /slack/install`` and ``/slack/oauth_redirect``: Bolt's OAuth flow, when
    the app ``bolt()`` returns has one (else 404: single-token mode)."""

    async def oauth(request: web.Request) -> web.Response:
        app = bolt()
        flow = app.oauth_flow if app is not None else None
        if flow is None:
            raise web.HTTPNotFound(text="Paperpost is not set up for Slack OAuth installs")
        bolt_request = await to_bolt_request(request)
        try:
            if request.path == flow.install_path:
                return await to_aiohttp_response(await flow.handle_installation(bolt_request))
            return await to_aiohttp_response(await flow.handle_callback(bolt_request))
        except StoreError as exc:  # a full or read-only disk: one line, no traceback
            log.error("Slack OAuth: %s failed: %s", request.path, exc)
            return web.Response(status=503, text="Paperpost cannot store the install now")

    web_app.router.add_get(INSTALL_PATH, oauth)
    web_app.router.add_get(REDIRECT_PATH, oauth)


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
    add_oauth_routes(web_app, lambda: late.bolt)
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
