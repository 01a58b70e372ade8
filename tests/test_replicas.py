"""Issue 13 tried as a new user would, without Docker: PostgreSQL and three ``paperpost
run`` replicas (the README's "Running several replicas" commands, as processes), two
workspaces installed through OAuth against the fake Slack, and every channel's digest
posted once, with its own workspace's token, while a replica is killed and restarted."""

from __future__ import annotations

import time
from pathlib import Path

from tests.replicas import Cluster, Tally, tally

TEAMS = {"T0ALPHA": "Alpha", "T0BETA": "Beta"}
CHANNELS_PER_TEAM = 12


def wait_until(cluster: Cluster, channels: dict[str, str], done: int, *, within: float) -> Tally:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        seen = tally(cluster.api, channels)
        if seen.complete >= done:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"only {tally(cluster.api, channels)} within {within:g} s")


def test_three_replicas_post_each_workspaces_digests_once_through_a_kill(
    tmp_path: Path, pg_url: str
) -> None:
    # Defects caught: replicas without claims in the database (each posts every digest:
    # duplicates), a dead replica's claim never taken over (misses), a digest posted
    # with the token of the wrong workspace, a replica not started from the commands.
    # Slack answers each post after 0.3 s: a kill leaves posts made but unanswered.
    cluster = Cluster.up(tmp_path, pg_url, post_latency=0.3)
    try:
        cluster.fill()
        cluster.start("r1")
        tokens = {team: cluster.install(team, name, via="r1") for team, name in TEAMS.items()}
        assert len(set(tokens.values())) == 2
        cluster.stop("r1")  # channels are imported while no replica runs (see README)
        channels = {f"C{team[2:]}{n:03d}": team for team in TEAMS for n in range(CHANNELS_PER_TEAM)}
        cluster.import_channels(channels)

        for name in ("r1", "r2", "r3"):
            cluster.start(name, wait=False)
        wait_until(cluster, channels, len(channels) // 3, within=90)
        unanswered = cluster.api.unanswered
        for name in ("r1", "r2", "r3"):  # mid-fan-out, no goodbye: whoever was posting
            cluster.kill(name)
        for name in ("r1", "r2", "r3"):
            cluster.start(name, wait=False)
        wait_until(cluster, channels, len(channels), within=90)
        time.sleep(1.0)  # anything posted twice would show now
        result = tally(cluster.api, channels)
        health = cluster.wait_healthy(cluster.replicas["r3"])
        for name in list(cluster.replicas):
            cluster.stop(name)
    finally:
        cluster.close()
    assert unanswered > 0  # the kill came while posts were in flight
    assert result.missing == []
    assert result.duplicates == 0
    assert result.wrong_token == 0
    assert (health["database"], health["replica"]) == ("postgresql", "r3")
