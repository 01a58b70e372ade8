"""/healthz and /metrics over real HTTP, as a container health check and Prometheus see them."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL
from paperpost.bot.metrics import REGISTRY  # Paperpost's own registry, not the default
from paperpost.http_server import build_app, serve


def sample(name: str, **labels: str) -> float:
    """A sample's value in this process now (the metrics are process-wide)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_and_metrics(core: Paperpost) -> None:
    posted_before = sample("paperpost_digests_posted_total", platform="console")
    searches_before = sample("paperpost_search_seconds_count")
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
    samples = scraped(metrics.text)
    # What this test did, counted exactly: one digest posted, one search timed.
    assert samples[("paperpost_digests_posted_total", (("platform", "console"),))] == (
        posted_before + 1
    )
    assert samples[("paperpost_search_seconds_count", ())] == searches_before + 1
    posted_seconds = ("paperpost_digest_post_seconds_count", (("platform", "console"),))
    assert samples[posted_seconds] >= 1
    assert ("paperpost_upstream_errors_total", ()) in samples
