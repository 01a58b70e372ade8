"""The HTTP server: ``/healthz`` and ``/metrics`` always, and Slack's
``/slack/events`` in HTTP mode, on an address we choose (PAPERPOST_HOST:PORT;
127.0.0.1 unless told otherwise, 0.0.0.0 in the container image)."""

from __future__ import annotations

from aiohttp import web

from paperpost.bot import metrics
from paperpost.bot.app import Paperpost

CORE_KEY = web.AppKey("core", Paperpost)


async def healthz(request: web.Request) -> web.Response:
    health = request.app[CORE_KEY].health()
    latest = health.latest_day
    return web.json_response(
        {
            "status": "ok",
            "papers": health.papers,
            "latest_day": latest.isoformat() if latest else None,
            "scheduled_channels": health.scheduled_channels,
            "papers_from": health.papers_from,  # "snapshot": the bundled papers, not live ones
        }
    )


async def metrics_endpoint(request: web.Request) -> web.Response:
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})


def build_app(core: Paperpost) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[CORE_KEY] = core
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    return app


async def serve(app: web.Application, *, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host=host, port=port).start()
    return runner
