"""The HTTP server: ``/healthz`` and ``/metrics`` always, and Slack's
``/slack/events`` in HTTP mode, on an address we choose (PAPERPOST_HOST:PORT;
127.0.0.1 unless told otherwise, 0.0.0.0 in the container image).

The server starts before the platforms connect, so ``/healthz`` can answer 503
``{"status": "starting", "reason": ...}`` while one is still being reached.
"""

from __future__ import annotations

from aiohttp import web

from paperpost.bot import metrics
from paperpost.bot.app import Paperpost
from paperpost.bot.errors import StoreError


class Readiness:
    """Which platforms are still connecting, and why (the last error seen)."""

    def __init__(self) -> None:
        self._waiting: dict[str, str] = {}

    def waiting(self, platform: str, reason: str) -> None:
        self._waiting[platform] = reason

    def ready(self, platform: str) -> None:
        self._waiting.pop(platform, None)

    @property
    def reason(self) -> str | None:
        """``None`` when every platform is connected."""
        if not self._waiting:
            return None
        return "; ".join(f"{name}: {why}" for name, why in sorted(self._waiting.items()))


CORE_KEY = web.AppKey("core", Paperpost)
READINESS_KEY = web.AppKey("readiness", Readiness)
REPLICA_KEY = web.AppKey("replica", str)  # "" when unnamed (one process)


async def healthz(request: web.Request) -> web.Response:
    starting = request.app[READINESS_KEY].reason
    if starting is not None:
        return web.json_response({"status": "starting", "reason": starting}, status=503)
    core = request.app[CORE_KEY]
    try:
        dialect = core.check_database()  # a replica that cannot reach it is not healthy
        health = core.health()
    except StoreError as exc:
        return web.json_response(
            {"status": "unavailable", "reason": f"database: {exc}"}, status=503
        )
    latest = health.latest_day
    return web.json_response(
        {
            "status": "ok",
            "database": dialect,
            "replica": request.app[REPLICA_KEY] or None,
            "papers": health.papers,
            "latest_day": latest.isoformat() if latest else None,
            "scheduled_channels": health.scheduled_channels,
            "papers_from": health.papers_from,  # "snapshot": the bundled papers, not live ones
        }
    )


async def metrics_endpoint(request: web.Request) -> web.Response:
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})


def build_app(
    core: Paperpost, readiness: Readiness | None = None, *, replica: str | None = None
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[REPLICA_KEY] = replica or ""
    app[CORE_KEY] = core
    app[READINESS_KEY] = readiness or Readiness()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    return app


async def serve(app: web.Application, *, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host=host, port=port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
