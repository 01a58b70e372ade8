"""Replicas benchmark: several ``paperpost run`` processes on one PostgreSQL fan out one
featured day to thousands of Slack channels in several OAuth-installed workspaces,
while replicas are killed (-9) and restarted at seeded moments.

    python benchmarks/replicas.py [--channels 3000] [--replicas 3] [--kills 10]
                                  [--latency 0.030] [--seed 13]

Everything is real but the platforms: a throwaway PostgreSQL from the machine's
binaries (tests/postgres.py; fsync off), real ``paperpost run`` processes (each its
own data folder and port), workspaces installed through the OAuth flow over HTTP, the
fake Slack answering each ``chat.postMessage`` after ``--latency`` seconds with the
workspaces' posting allowance set to 1,000/s (so the replicas and the database are the
limit, not the fake's rate). Every channel is due at 00:00 UTC, so each replica's
start catches the day up for all of them at once.

Reports duplicates and misses (goal 0 and 0), wall time beside one replica doing the
same work in the same run (goal <= 0.5x with 3), claims lost to races and lease
takeovers (from the replicas alive at the end: a killed process takes its counters
with it), and the delivery claim rate of the database at its peak (3 claimers racing
over every channel, in one process each).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres import throwaway_server  # noqa: E402
from tests.replicas import Cluster, Tally, tally  # noqa: E402

COUNTED = ("paperpost_delivery_claims_total", "paperpost_lease_takeovers_total")
TEAMS = {"T0ALPHA": "Alpha", "T0BETA": "Beta", "T0GAMMA": "Gamma"}


def channel_map(count: int) -> dict[str, str]:
    teams = list(TEAMS)
    return {f"C{teams[i % 3][2:]}{i:06d}": teams[i % 3] for i in range(count)}


def prepared(root: Path, url: str, channels: dict[str, str], latency: float) -> Cluster:
    cluster = Cluster.up(root, url, post_latency=latency)
    cluster.fill()
    cluster.start("r1")
    for team, name in TEAMS.items():
        cluster.install(team, name, via="r1")
    cluster.stop("r1")
    cluster.import_channels(channels)
    return cluster


def fan_out(
    cluster: Cluster, channels: dict[str, str], replicas: int, kill_at: list[tuple[int, int]]
) -> tuple[float, Tally, dict[str, float], int]:
    """Start the replicas, kill/restart at the given completions; wall time, tally,
    summed claim metrics of the survivors, kills done."""
    names = [f"r{i + 1}" for i in range(replicas)]
    started = time.perf_counter()
    for name in names:
        cluster.start(name, wait=False)
    pending = list(kill_at)
    kills = 0
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        seen = tally(cluster.api, channels)
        while pending and seen.complete >= pending[0][0]:
            _, victim = pending.pop(0)
            name = names[victim % len(names)]
            cluster.kill(name)
            cluster.start(name, wait=False)
            kills += 1
        if seen.complete >= len(channels):
            break
        time.sleep(0.02)
    wall = time.perf_counter() - started
    time.sleep(2.0)  # a late duplicate would show now
    result = tally(cluster.api, channels)
    totals: dict[str, float] = {}
    for name in names:
        cluster.wait_healthy(cluster.replicas[name])
        for key, value in cluster.metrics(name).items():
            if key.startswith(COUNTED):
                totals[key] = totals.get(key, 0.0) + value
    for name in names:
        cluster.stop(name)
    return wall, result, totals, kills


def claimer(
    url: str, keys: list[str], day: str, out: multiprocessing.Queue[tuple[int, float, float]]
) -> None:
    from paperpost.bot.catalog.store import Store
    from paperpost.bot.channels.key import ChannelKey
    from paperpost.bot.delivery.claims import Claims

    with tempfile.TemporaryDirectory() as data, Store(data, url) as store:
        claims = Claims(store.db)
        channels = [ChannelKey.parse(key) for key in keys]
        won, started = 0, time.time()  # wall clock: compared across processes
        for channel in channels:
            won += claims.claim(channel, date.fromisoformat(day)).status == "claimed"
        out.put((won, started, time.time()))


def claim_rate(url: str, count: int, racers: int) -> tuple[float, int]:
    """``racers`` processes claim every one of ``count`` channels for one day."""
    keys = [f"slack:T0RATE:C{i:06d}" for i in range(count)]
    queue: multiprocessing.Queue[tuple[int, float, float]] = multiprocessing.Queue()
    shuffled = random.Random(7).sample(keys, len(keys))
    orders = [keys, keys[::-1], shuffled]  # racing from both ends and in the middle
    procs = [
        multiprocessing.Process(target=claimer, args=(url, orders[i % 3], "2026-11-30", queue))
        for i in range(racers)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = max(end for _, _, end in results) - min(start for _, start, _ in results)
    return racers * count / elapsed, sum(won for won, _, _ in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=3000)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.030)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    channels = channel_map(args.channels)
    moments = sorted(int(rng.uniform(0.05, 0.9) * args.channels) for _ in range(args.kills))
    kill_at = [(m, rng.randrange(args.replicas)) for m in moments]

    with throwaway_server() as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one_url = server.url(server.fresh_database())
        many_url = server.url(server.fresh_database())
        kills_url = server.url(server.fresh_database())

        (root / "one").mkdir()
        cluster = prepared(root / "one", one_url, channels, args.latency)
        try:
            one_wall, one, _, _ = fan_out(cluster, channels, 1, [])
        finally:
            cluster.close()

        (root / "many").mkdir()
        cluster = prepared(root / "many", many_url, channels, args.latency)
        try:
            calm_wall, calm, _, _ = fan_out(cluster, channels, args.replicas, [])
        finally:
            cluster.close()

        (root / "kills").mkdir()
        cluster = prepared(root / "kills", kills_url, channels, args.latency)
        try:
            wall, many, metrics, kills = fan_out(cluster, channels, args.replicas, kill_at)
        finally:
            cluster.close()

        rate, won = claim_rate(server.url(server.fresh_database()), args.channels, 3)

    busy = sum(v for k, v in metrics.items() if 'result="busy"' in k)
    stale = sum(v for k, v in metrics.items() if 'result="stale"' in k)
    takeovers = sum(v for k, v in metrics.items() if k.startswith("paperpost_lease_takeovers"))
    print(
        f"{args.channels:,} channels in {len(TEAMS)} OAuth-installed workspaces, one featured "
        f"day, fake Slack at {args.latency * 1000:.0f} ms per post, allowance 1,000 posts/s "
        "per workspace"
    )
    print(
        f"1 replica (baseline):  {one_wall:6.1f} s wall; {one.posts:,} posts, "
        f"{len(one.missing)} missed, {one.duplicates} duplicates"
    )
    print(
        f"{args.replicas} replicas, no kills: {calm_wall:6.1f} s wall "
        f"({calm_wall / one_wall:.2f}x the baseline, goal <= 0.5x); {calm.posts:,} posts, "
        f"{len(calm.missing)} missed, {calm.duplicates} duplicates"
    )
    print(
        f"{args.replicas} replicas, {kills} kills: {wall:6.1f} s wall "
        f"({wall / one_wall:.2f}x the baseline); {many.posts:,} posts, "
        f"{len(many.missing)} missed, {many.duplicates} duplicates (goal 0 and 0), "
        f"{many.wrong_token} with another workspace's token"
    )
    print(
        f"claims lost to races (survivors): {busy:.0f} busy, {stale:.0f} stale; "
        f"lease takeovers: {takeovers:.0f}; kill moments (digests done): {moments}"
    )
    print(
        f"claim rate at peak: {rate:,.0f} claims/s (3 processes racing over "
        f"{args.channels:,} channels; {won:,} won, each channel once: {won == args.channels})"
    )


if __name__ == "__main__":
    main()
