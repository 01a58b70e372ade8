"""Fan-out benchmark: every channel's digest for one real featured day.

    python benchmarks/fanout.py [--channels 10000] [--day 2026-05-12] [--postgres]

10,000 channels, each with 1 to 3 saved searches drawn (seeded) from a pool of
realistic queries, over a real recorded day. Reports the time to compute every
digest, the upstream requests made (measured at 1,000 and at the full channel
count: they must not grow), and peak RSS. Baseline, measured in the same run:
the naive way, one throw-away matcher per channel with no sharing of queries.
Goals: <= 1 s and <= 150 MB. With ``--postgres`` the store is a throwaway PostgreSQL
from the machine's binaries (tests/postgres.py; fsync off): issue 13's goal at 100,000
channels is <= 5 s compute and <= 300 MB per replica.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from paperpost.bot.app import Paperpost  # noqa: E402
from paperpost.bot.channels.key import ChannelKey  # noqa: E402
from paperpost.bot.channels.settings import ChannelSettings  # noqa: E402
from paperpost.bot.config import Config  # noqa: E402
from paperpost.bot.delivery.digest import DayMatcher, build_digest  # noqa: E402
from paperpost.bot.papers.model import Paper, papers_from_hf_day  # noqa: E402

DAY_FILES = ROOT / "tests" / "data" / "hf_daily_papers"
QUERY_POOL = [
    "agents", "agent OR agents", "reinforcement learning", '"language model"', "diffusion",
    "video generation", "robot*", "benchmark", "reasoning", "multimodal", "retrieval",
    "author:wang", "org:google", "org:meta", "title:survey", "-survey diffusion", "upvotes:>=20",
    "upvotes:>=50", "vision language", "speech", "3d", "code generation", "math reasoning",
    "world model", "alignment", "safety", "efficient inference", "quantization", "transformer*",
    "tokenizer", "long context", "embodied", "medical", "graph", "evaluation", "dataset",
    "image editing", "text-to-image", "audio", "rlhf OR dpo", "mixture of experts", "moe",
    "distillation", "scaling", "pretraining", "fine-tuning", "lora", "agentic", "tool use",
    "planning", "memory", "hallucination", "since:2026-01-01 agents", "author:zhang reasoning",
]  # fmt: skip


class CountingSource:
    """The recorded day, served like the Hugging Face source, counting requests."""

    def __init__(self, day: date, papers: list[Paper]) -> None:
        self.day, self.papers, self.requests = day, papers, 0

    async def fetch_day(self, day: date) -> list[Paper]:
        self.requests += 1
        return self.papers if day == self.day else []


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_channels(count: int, rng: random.Random) -> list[tuple[ChannelKey, ChannelSettings]]:
    channels = []
    for i in range(count):
        subs = tuple(rng.sample(QUERY_POOL, rng.randint(1, 3)))
        settings = ChannelSettings(top_n=rng.choice((3, 5, 10)), subscriptions=subs)
        channels.append((ChannelKey("slack", f"T{i % 50}", f"C{i:06d}"), settings))
    return channels


def naive_baseline(core: Paperpost, day: date, channels: list[ChannelKey]) -> float:
    """One matcher per channel, each query run for each channel (no sharing)."""
    papers = core.library.papers_on(day)
    started = time.perf_counter()
    for channel in channels:
        settings = core.channels.get(channel)
        matcher = DayMatcher(papers)
        build_digest(channel, day, matcher, subscriptions=settings.subscriptions,
                     posted=core.ledger.posted_ids(channel), min_upvotes=settings.min_upvotes,
                     top_n=settings.top_n)  # fmt: skip
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 5, 12))
    parser.add_argument("--baseline-sample", type=int, default=1_000)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL store")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = None
        if args.postgres:
            from tests.postgres import throwaway_server

            server = stack.enter_context(throwaway_server())
            url = server.url(server.fresh_database())
        await run(args, url)


async def run(args: argparse.Namespace, database_url: str | None) -> None:

    raw = json.loads((DAY_FILES / f"{args.day}.json").read_text())
    papers = papers_from_hf_day(raw, requested_day=args.day)
    rng = random.Random(20260512)
    with tempfile.TemporaryDirectory() as data_dir:
        source = CountingSource(args.day, papers)
        config = Config(data_dir=Path(data_dir), database_url=database_url)
        core = await Paperpost.open(config, source=source)
        channels = make_channels(args.channels, rng)
        started = time.perf_counter()
        core.channels.save_many(channels)
        saving = time.perf_counter() - started
        keys = [key for key, _ in channels]

        small = keys[: min(1_000, len(keys))]
        before = source.requests
        await core.planner.post_day(args.day, small, dry_run=True)
        requests_small = source.requests - before
        core.refresher._refreshed.clear()  # a new day for the refresher: it will fetch again
        before = source.requests
        started = time.perf_counter()
        results = await core.planner.post_day(args.day, keys, dry_run=True)
        end_to_end = time.perf_counter() - started
        requests_full = source.requests - before

        started = time.perf_counter()
        digests = core.digests_for_day(args.day, keys)
        compute = time.perf_counter() - started

        sample = keys[: args.baseline_sample]
        naive = naive_baseline(core, args.day, sample)
        naive_full = naive * len(keys) / len(sample)
        core.close()

    entries = sum(len(d.entries) for d in digests)
    print(f"store: {'PostgreSQL (throwaway, fsync off)' if database_url else 'SQLite'}; "
          f"saving {len(keys):,} channels took {saving:.1f} s")  # fmt: skip
    print(
        f"day {args.day}: {len(papers)} real papers; {len(keys):,} channels, "
        f"{sum(len(s.subscriptions) for _, s in channels):,} saved searches "
        f"({len({q for _, s in channels for q in s.subscriptions})} distinct)"
    )
    print(
        f"compute every digest:        {compute * 1000:8.1f} ms   (goal <= 1000 ms); "
        f"{entries:,} entries, {sum(1 for d in digests if d.entries):,} non-empty digests"
    )
    print(f"plan + refresh, dry run:     {end_to_end * 1000:8.1f} ms   ({len(results):,} results)")
    print(
        f"upstream requests:           {requests_small} for {len(small):,} channels, "
        f"{requests_full} for {len(keys):,} channels (must not grow)"
    )
    print(
        f"baseline, naive per channel: {naive * 1000:8.1f} ms for {len(sample):,} channels "
        f"-> {naive_full:.1f} s extrapolated to {len(keys):,} ({naive_full / compute:.0f}x slower)"
    )
    print(f"peak RSS:                    {peak_rss_mb():8.1f} MB   (goal <= 150 MB)")


if __name__ == "__main__":
    asyncio.run(main())
