"""Delivery benchmark: 1,000 channels' digests against a rate-limited fake Slack.

    python benchmarks/delivery.py [--channels 1000] [--workspace-rate 100]
                                  [--workspace-burst 10] [--channel-burst 2]
                                  [--skip-baseline] [--one-at-a-time]

The loopback fake Slack Web API (tests/fakes/slack_api.py, in a thread of
this process) enforces Slack's posting limits (tests/fakes/slack_ratelimit.py):
1 message/s per channel (token bucket, burst ``--channel-burst``) and a
workspace-wide ``--workspace-rate`` msg/s (burst ``--workspace-burst``),
answering HTTP 429 with an integer ``Retry-After`` beyond that. The real
delivery path runs in-process: ``Paperpost`` on a temporary store with the
bundled snapshot, ``--channels`` plain channels (one message each), the real
``SlackPlatform`` from ``adapters.slack.slack_platform(config)``, and
``await core.post_digests(day=2026-08-21)``.

Reported per scenario: digests delivered, messages the fake accepted,
duplicates (a digest part accepted twice: must be 0), digests not delivered,
429s answered, the end-to-end time and the posting window (first post request
to last accepted post), and the achieved rate as a share of the allowed rate:
messages / (burst + binding rate x window), the binding rate being
min(workspace rate, channels x 1/s); goal >= 95 %.

Scenarios, measured in the same run: the product as it is, its pacer set to
the workspace rate as an operator would (``SLACK_POSTS_PER_SECOND``); the
baseline, the same delivery with no client pacing (reacting to 429s only, as
Paperpost did before adapters/slack/pacer.py); with ``--one-at-a-time``,
unpaced and one channel at a time; with ``--try-concurrency N``, N digests in
flight instead of 32.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from crash_kill import FakeSlackThread  # noqa: E402

import paperpost.bot.delivery.planner as app_module  # noqa: E402
from paperpost.adapters.slack import slack_platform  # noqa: E402
from paperpost.adapters.slack.delivery import EVENT_TYPE  # noqa: E402
from paperpost.bot.app import Paperpost  # noqa: E402
from paperpost.bot.channels.key import ChannelKey  # noqa: E402
from paperpost.bot.channels.settings import ChannelSettings  # noqa: E402
from paperpost.bot.config import Config  # noqa: E402
from paperpost.bot.delivery.outbox import Outcome  # noqa: E402
from paperpost.bot.papers.snapshot import BundledSnapshot  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN  # noqa: E402
from tests.fakes.slack_ratelimit import SlackRateLimits  # noqa: E402

DAY = date(2026, 8, 21)
GOAL_SHARE = 0.95


# -- an experimental client-side pacer (not product code) ---------------------------------
# -- the scenarios -------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    delivered: int
    not_delivered: Counter[str]
    accepted: int
    duplicates: int
    refused: int
    refused_channel: int
    elapsed: float
    window: float
    allowed: float  # messages the fake could have accepted in the window
    binding_rate: float

    @property
    def rate(self) -> float:
        return self.accepted / self.window if self.window > 0 else 0.0

    @property
    def share(self) -> float:
        return self.accepted / self.allowed if self.allowed else 0.0

    def line(self) -> str:
        missing = sum(self.not_delivered.values())
        detail = f" {dict(self.not_delivered)}" if missing else ""
        return (
            f"{self.name:<34} {self.delivered:>5} digests  {self.accepted:>5} msgs  "
            f"{self.elapsed:6.1f} s  window {self.window:6.1f} s  "
            f"{self.rate:6.1f} msg/s = {self.share:6.1%} of allowed  "
            f"429s {self.refused:>5}  dup {self.duplicates}  not delivered {missing}{detail}"
        )


def make_template(root: Path, channels: int) -> Path:
    """A store with the bundled snapshot and ``channels`` plain Slack channels."""
    template = root / "template"

    async def build() -> None:
        core = await Paperpost.open(Config(data_dir=template), source=BundledSnapshot())
        try:
            core.channels.save_many(
                (ChannelKey("slack", "T1", f"C{i:05d}"), ChannelSettings(top_n=3))
                for i in range(channels)
            )
        finally:
            core.close()

    asyncio.run(build())
    return template


def run_scenario(
    name: str,
    template: Path,
    root: Path,
    limits: SlackRateLimits,
    *,
    concurrency: int | None = None,
    posts_per_second: float,
) -> Result:
    data_dir = root / name.replace(" ", "-")
    shutil.copytree(template, data_dir)
    first_request: list[float] = []
    accepted_at: list[float] = []

    def limiter(method: str, params: dict[str, Any]) -> int | None:
        if method == "chat.postMessage" and not first_request:
            first_request.append(time.monotonic())
        return limits(method, params)

    saved = app_module.DELIVERY_CONCURRENCY
    with FakeSlackThread(limiter=limiter) as fake:
        fake.api.on_post = lambda _p: accepted_at.append(time.monotonic())
        config = Config(
            data_dir=data_dir,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=fake.api.url,
            slack_posts_per_second=posts_per_second,
        )

        async def deliver() -> tuple[list[Any], float]:
            core = await Paperpost.open(config, source=BundledSnapshot())
            core.register_platform(slack_platform(config))
            try:
                started = time.perf_counter()
                deliveries = await core.post_digests(day=DAY)
                return deliveries, time.perf_counter() - started
            finally:
                core.close()

        try:
            if concurrency is not None:
                app_module.DELIVERY_CONCURRENCY = concurrency
            deliveries, elapsed = asyncio.run(deliver())
        finally:
            app_module.DELIVERY_CONCURRENCY = saved
        posts = [p for p in fake.posts() if p.metadata and p.metadata["event_type"] == EVENT_TYPE]
    copies = Counter(
        (p.metadata["event_payload"]["marker"], p.metadata["event_payload"]["part"])
        for p in posts
        if p.metadata
    )
    outcomes = Counter(d.outcome for d in deliveries)
    window = (accepted_at[-1] - first_request[0]) if accepted_at and first_request else 0.0
    channels = len(deliveries)
    binding = limits.binding_rate(channels)
    burst = limits.workspace_burst if binding == limits.workspace_rate else channels
    return Result(
        name=name,
        delivered=outcomes[Outcome.SENT],
        not_delivered=Counter({o.value: n for o, n in outcomes.items() if o is not Outcome.SENT}),
        accepted=len(posts),
        duplicates=sum(n - 1 for n in copies.values()),
        refused=limits.refused,
        refused_channel=limits.refused_channel,
        elapsed=elapsed,
        window=window,
        allowed=burst + binding * window if window else 0.0,
        binding_rate=binding,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--workspace-rate", type=float, default=100.0)
    parser.add_argument("--workspace-burst", type=float, default=10.0)
    parser.add_argument("--channel-burst", type=float, default=2.0)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--one-at-a-time", action="store_true", help="also: one channel at a time")
    parser.add_argument(
        "--try-concurrency", type=int, metavar="N", help="also try N digests in flight"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the outbox's retry warnings would flood

    def limits() -> SlackRateLimits:
        return SlackRateLimits(
            workspace_rate=args.workspace_rate,
            workspace_burst=args.workspace_burst,
            channel_burst=args.channel_burst,
        )

    print(
        f"{args.channels} channels, 1 message each; fake Slack limits: "
        f"{args.workspace_rate:g} msg/s per workspace (burst {args.workspace_burst:g}), "
        f"1 msg/s per channel (burst {args.channel_burst:g}); "
        f"binding rate {limits().binding_rate(args.channels):g} msg/s; "
        f"DELIVERY_CONCURRENCY {app_module.DELIVERY_CONCURRENCY}"
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="paperpost-delivery-") as tmp:
        root = Path(tmp)
        template = make_template(root, args.channels)
        unpaced = 1e9  # no client pacing: only Slack's 429s slow it down
        scenarios: list[tuple[str, dict[str, Any]]] = []
        if not args.skip_baseline:
            scenarios.append(("baseline: unpaced, 429s only", {"posts_per_second": unpaced}))
        if args.one_at_a_time:
            scenarios.append(
                ("baseline: one channel at a time", {"concurrency": 1, "posts_per_second": unpaced})
            )
        scenarios.append(("product as is", {"posts_per_second": args.workspace_rate}))
        if args.try_concurrency:
            scenarios.append(
                (
                    f"{args.try_concurrency} digests in flight",
                    {"concurrency": args.try_concurrency, "posts_per_second": args.workspace_rate},
                )
            )
        for name, options in scenarios:
            result = run_scenario(name, template, root, limits(), **options)
            results.append(result)
            print(result.line(), flush=True)
    product = next(r for r in results if r.name == "product as is")
    print(
        f"product: {product.share:.1%} of the allowed rate (goal >= {GOAL_SHARE:.0%}), "
        f"{product.refused} 429s, {product.duplicates} duplicates"
    )
    ok = all(r.duplicates == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
