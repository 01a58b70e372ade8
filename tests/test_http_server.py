"""/healthz and /metrics over real HTTP, as a container health check and Prometheus see them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL
from paperpost.bot.config import Config
from paperpost.bot.metrics import REGISTRY  # Paperpost's own registry, not the default
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.http_server import build_app, serve
from tests.postgres import PostgresServer


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
        "database": "sqlite",
        "replica": None,  # one process, unnamed
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


async def test_healthz_names_the_replica_and_fails_when_its_database_is_gone(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """A replica that cannot reach the shared database answers 503, naming why, so the
    orchestrator restarts it or routes around it; the password never shows."""
    name = postgres_server.fresh_database()
    url = postgres_server.url(name)
    core = await Paperpost.open(
        Config(data_dir=tmp_path / "data", database_url=url), source=BundledSnapshot()
    )
    runner = await serve(build_app(core, replica="r2"), host="127.0.0.1", port=0)
    host, port = runner.addresses[0][:2]
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=60) as client:
            up = await client.get("/healthz")
            postgres_server.admin(f'DROP DATABASE "{name}" WITH (FORCE)')
            down = await client.get("/healthz")
    finally:
        await runner.cleanup()
        core.close()
    assert up.status_code == 200
    assert (up.json()["database"], up.json()["replica"]) == ("postgresql", "r2")
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable"
    assert down.json()["reason"].startswith("database: ")
    password = urlsplit(url).password
    assert password and password not in down.text


async def test_claims_and_takeovers_are_counted(core: Paperpost) -> None:
    """/metrics shows claims won and lost to another holder, and leases taken over."""
    from paperpost.bot.delivery.claims import Claims

    day = core.library.latest_day()
    assert day is not None
    rival = Claims(core.store.db)
    won, busy = (
        sample("paperpost_delivery_claims_total", result="claimed"),
        sample("paperpost_delivery_claims_total", result="busy"),
    )
    takeovers = sample("paperpost_lease_takeovers_total")
    assert core.planner.claims.claim(CONSOLE_CHANNEL, day).status == "claimed"
    assert rival.claim(CONSOLE_CHANNEL, day).status == "busy"
    with core.store.db.connection() as conn:  # the holder's lease runs out (it died)
        conn.execute("UPDATE claims SET lease_until = 0")
    assert rival.claim(CONSOLE_CHANNEL, day).status == "claimed"
    assert sample("paperpost_delivery_claims_total", result="claimed") == won + 2
    assert sample("paperpost_delivery_claims_total", result="busy") == busy + 1
    assert sample("paperpost_lease_takeovers_total") == takeovers + 1
