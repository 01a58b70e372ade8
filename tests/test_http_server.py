"""/healthz and /metrics over real HTTP, as a container health check and Prometheus see them."""

from __future__ import annotations

import httpx

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL
from paperpost.http_server import build_app, serve


async def test_healthz_and_metrics(core: Paperpost) -> None:
    await core.handle(CONSOLE_CHANNEL, "search agents")
    await core.post_digests(day=core.library.latest_day(), channel=CONSOLE_CHANNEL)
    runner = await serve(build_app(core), host="127.0.0.1", port=0)
    host, port = runner.addresses[0][:2]
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            health = await client.get("/healthz")
            metrics = await client.get("/metrics")
    finally:
        await runner.cleanup()
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok",
        "papers": core.health().papers,
        "latest_day": "2026-08-21",
        "scheduled_channels": 0,  # the core was not started
        "papers_from": "snapshot",  # the bundled papers, not live ones
    }
    assert health.json()["papers"] > 100
    assert metrics.status_code == 200
    text = metrics.text
    for name in (
        "paperpost_digests_posted_total",
        "paperpost_digests_failed_total",
        "paperpost_digest_post_seconds_bucket",
        "paperpost_search_seconds_count",
        "paperpost_upstream_errors_total",
    ):
        assert name in text
    assert 'paperpost_digests_posted_total{platform="console"}' in text
