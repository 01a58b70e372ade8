"""Slash-command ack latency: 50 concurrent ``/papers search`` on a 100k-paper index.

    python benchmarks/ack_latency.py [--papers 100000] [--concurrency 50] [--rounds 10]
                                     [--data-dir DIR]   # reuse (or keep) a built store

A real Bolt ``AsyncApp`` wired by the Slack adapter (``start_slack``: the
``SlashCommands`` listener, signature checks, an ``AsyncWebClient`` pointed at
the loopback fake Slack Web API of tests/fakes/slack_api.py), over a
``Paperpost`` core on a store of ``--papers`` papers (the real archived
records plus benchmarks/corpus.py's synthetic ones). Each round fires
``--concurrency`` signed slash commands at once, each a different query
(broad single words included), and measures per command:

- ack: until ``app.async_dispatch(request)`` returns Slack's HTTP 200
  (in-process; the same over the adapter's aiohttp server is printed too);
- answer: until the reply reaches the command's ``response_url`` (the fake).

Baselines, measured in the same run: the same commands through a listener
that computes and renders the answer before acking (what acking late would
cost), and the core's search alone, one query at a time.
Goal: ack p99 <= 50 ms in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from corpus import default_data_dir, load_real_papers, synthetic_papers  # noqa: E402
from slack_bolt.async_app import AsyncApp  # noqa: E402
from slack_bolt.request.async_request import AsyncBoltRequest  # noqa: E402

from paperpost.adapters.slack import start_slack  # noqa: E402
from paperpost.adapters.slack.client import build_client  # noqa: E402
from paperpost.adapters.slack.render import render_reply  # noqa: E402
from paperpost.bot.app import Paperpost  # noqa: E402
from paperpost.bot.catalog.index import TantivyIndex  # noqa: E402
from paperpost.bot.catalog.store import Store  # noqa: E402
from paperpost.bot.channels.key import ChannelKey  # noqa: E402
from paperpost.bot.config import Config  # noqa: E402
from paperpost.bot.papers.model import Paper  # noqa: E402
from tests.fakes.slack_api import (  # noqa: E402
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    form_body,
    sign,
    slash_command,
)

GOAL_ACK_P99_MS = 50.0
BROAD = [
    "model",
    "learning",
    "agent",
    "language",
    "data",
    "reasoning",
    "training",
    "video",
    "large language model",
    "diffusion OR autoregressive",
    "tr*",
    "mu*",
    "upvotes:>=100",
    "author:wang",
    "org:google",
    "model -agent",
]


try:  # the search benchmark's fixed query set (every piece of the query syntax)
    from corpus import FIXED_QUERIES  # type: ignore[attr-defined]
except ImportError:  # older layout: it lived in search.py
    try:
        from search import FIXED_QUERIES  # type: ignore[no-redef]
    except ImportError:
        FIXED_QUERIES = [
            '"large language model"',
            '"world model"',
            "agent memory OR retrieval",
            "diffu*",
            "reason*",
            'author:"zifeng wang"',
            "org:deepmind",
            "title:benchmark reasoning",
            "upvotes:>50 agent",
            "since:2026-08-01",
            "2608.19880",
            "https://arxiv.org/abs/2608.19880",
            "zzqxjv",
            "agent -survey -benchmark",
            "(speech OR audio) model",
            "title:agent",
            "model since:2026-06-01",
            "learning before:2021-06-01",
            "llm OR vlm",
            "multimod* -video",
            "org:qwen",
            "author:zhang",
            "title:trans*",
            "video OR audio generation",
            "benchmark (vision OR visual) -video",
            "reinforcement learning -(robot OR robotics)",
            "upvotes:>=10 -agent",
            "agent since:2026-01-01 before:2026-02-01",
            "org:nvidia video",
            "author:huang agent",
            "diffusion -video -image",
            "vision-lang*",
            "quantum banana smoothie",
            "2608.19880 OR 2604.07429",
        ]


class NoSource:
    async def fetch_day(self, day: date) -> list[Paper]:
        return []


class TimedSlackAPI(FakeSlackAPI):
    """The fake Slack, noting when each response_url answer arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[None]] = {}

    async def _response_url(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        self.arrived.setdefault(key, time.perf_counter())
        waiter = self.waiters.get(key)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return await super()._response_url(request)


# -- the corpus ---------------------------------------------------------------------------
def build_store(data_dir: Path, papers: int, seed: int) -> tuple[int, float]:
    """Write the papers, their days and the tantivy search index; returns (count, seconds)."""
    started = time.perf_counter()
    real = load_real_papers(default_data_dir())

    def corpus() -> Any:
        yield from real
        yield from synthetic_papers(real, max(0, papers - len(real)), seed)

    store = Store(data_dir)
    table, days = store.table("papers"), defaultdict(list)
    count = 0
    for paper in corpus():
        table[paper.id] = paper.to_json()
        for day in paper.featured_days:
            days[day.isoformat()].append((paper.upvotes, paper.id))
        count += 1
    store.commit("papers")
    day_table = store.table("days")
    for day, ranked in days.items():
        day_table[day] = [pid for _, pid in sorted(ranked, key=lambda t: (-t[0], t[1]))]
    store.commit("days")
    # The index the product reads (the library checks it against the store at first open).
    TantivyIndex.open(store.index_path, corpus).close()
    store.close()
    return count, time.perf_counter() - started


# -- measuring ------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def fmt(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):7.2f} ms  p99 {percentile(values, 99):7.2f} ms  "
        f"max {max(values):7.2f} ms  mean {statistics.fmean(values):7.2f} ms  (n={len(values)})"
    )


def signed_request(text: str, response_url: str) -> tuple[str, dict[str, str]]:
    body = form_body(slash_command(text, response_url=response_url))
    return body, sign(body)


async def fire_round(
    send: Any, api: TimedSlackAPI, queries: list[str], tag: str
) -> tuple[list[float], list[float]]:
    """Fire every query at once; returns (ack ms, answer ms) per command."""
    loop = asyncio.get_running_loop()
    prepared = []
    for i, query in enumerate(queries):
        key = f"{tag}-{i}"
        api.waiters[key] = loop.create_future()
        prepared.append((key, *signed_request(f"search {query}", api.response_url(key))))
    acks: dict[str, float] = {}
    starts: dict[str, float] = {}

    async def one(key: str, body: str, headers: dict[str, str]) -> None:
        starts[key] = time.perf_counter()
        status = await send(body, headers)
        acks[key] = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"{key}: HTTP {status}")

    await asyncio.gather(*(one(*p) for p in prepared))
    await asyncio.wait_for(asyncio.gather(*(api.waiters[k] for k, *_ in prepared)), 120)
    ack_ms = [(acks[k] - starts[k]) * 1000 for k, *_ in prepared]
    answer_ms = [(api.arrived[k] - starts[k]) * 1000 for k, *_ in prepared]
    return ack_ms, answer_ms


def dispatcher(app: AsyncApp) -> Any:
    async def send(body: str, headers: dict[str, str]) -> int:
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        return response.status

    return send


def late_ack_app(core: Paperpost, api: FakeSlackAPI) -> AsyncApp:
    """The baseline: the same work, but the answer computed and rendered before the ack."""
    client = build_client(BOT_TOKEN, base_url=api.url)
    app = AsyncApp(client=client, signing_secret=SIGNING_SECRET)

    @app.command("/papers")
    async def late(ack: Any, command: dict[str, Any], respond: Any) -> None:
        channel = ChannelKey("slack", command["team_id"], command["channel_id"])
        reply = await core.handle(channel, command.get("text") or "", user=command["user_id"])
        message = render_reply(reply, share_value=command.get("text"))
        await ack()
        await respond(text=message.text, blocks=list(message.blocks), response_type="ephemeral")

    return app


async def oauth_runtime(core: Paperpost, config: Config, api: FakeSlackAPI) -> Any:
    """The same adapter in OAuth mode (``--oauth``), the fake's team installed: each
    command is authorized from the store (sealed token, cached auth.test)."""
    from cryptography.fernet import Fernet
    from slack_sdk.oauth.installation_store import Installation

    from paperpost.adapters.slack.oauth import store_installations
    from paperpost.bot.config import SlackOAuth

    oauth = dataclasses.replace(
        config,
        slack_bot_token=None,
        slack_oauth=SlackOAuth(api.client_id, api.client_secret, "state-secret"),
        secret_key=Fernet.generate_key().decode(),
    )
    installed = Installation(
        team_id=api.team_id, user_id="U0ANA0001", bot_token=BOT_TOKEN, bot_id="BBOT0001",
        bot_user_id=api.bot_user_id,
    )  # fmt: skip
    await store_installations(core, oauth).async_save(installed)
    return await start_slack(core, oauth)


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    if not (data_dir / "paperpost.sqlite").exists():
        print(f"building a {args.papers:,}-paper store in {data_dir} …", flush=True)
        count, seconds = build_store(data_dir, args.papers, args.seed)
        print(f"  {count:,} papers stored and indexed in {seconds:.1f} s")
    core = await Paperpost.open(Config(data_dir=data_dir), source=NoSource())
    papers = core.library.paper_count()
    rng = random.Random(args.seed)
    pool = BROAD + [q for q in FIXED_QUERIES if q not in BROAD]
    print(
        f"index: {papers:,} papers; {len(pool)} distinct queries "
        f"({len(BROAD)} broad ones in every round)"
    )

    async with TimedSlackAPI() as api:
        config = Config(
            data_dir=data_dir,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=api.url,
            host="127.0.0.1",
            port=0,
        )
        runtime = await start_slack(core, config)
        bolt = runtime.bolt
        oauth = await oauth_runtime(core, config, api) if args.oauth else None
        late = late_ack_app(core, api)
        http = aiohttp.ClientSession()

        async def over_http(body: str, headers: dict[str, str]) -> int:
            async with http.post(runtime.url or "", data=body, headers=headers) as response:
                await response.read()
                return response.status

        def queries() -> list[str]:
            rest = rng.sample(pool[len(BROAD) :], args.concurrency - len(BROAD))
            chosen = BROAD + rest
            rng.shuffle(chosen)
            return chosen

        modes = {
            "ack first (adapter), in-process": dispatcher(bolt),
            "ack first (adapter), over HTTP": over_http,
            "baseline: answer before ack": dispatcher(late),
        }
        if oauth is not None:
            modes["ack first, OAuth install (the team's token from the store), in-process"] = (
                dispatcher(oauth.bolt)
            )
        # Warm-up: Bolt's authorize (auth.test) and SQLite's page cache.
        for m, send in enumerate(modes.values()):
            await fire_round(send, api, queries(), f"warm-{m}")
        results: dict[str, tuple[list[float], list[float]]] = {m: ([], []) for m in modes}
        for r in range(args.rounds):
            for m, (name, send) in enumerate(modes.items()):  # interleaved: drift hits all alike
                acks, answers = await fire_round(send, api, queries(), f"r{r}-m{m}")
                results[name][0].extend(acks)
                results[name][1].extend(answers)
        await http.close()
        await runtime.stop()
        if oauth is not None:
            await oauth.stop()

    # The core's search alone, one query at a time (no concurrency, no Slack).
    alone = []
    for query in pool:
        started = time.perf_counter()
        core.library.search(query, limit=5)
        alone.append((time.perf_counter() - started) * 1000)
    core.close()

    print(
        f"\n{args.rounds} rounds x {args.concurrency} concurrent '/papers search …' "
        f"(after one warm-up round each):"
    )
    for name, (acks, answers) in results.items():
        print(f"\n{name}")
        verdict = ""
        if name.endswith("in-process"):
            ok = percentile(acks, 99) <= GOAL_ACK_P99_MS
            verdict = f"   goal p99 <= {GOAL_ACK_P99_MS:.0f} ms  {'OK' if ok else 'MISS'}"
        print(f"  ack     {fmt(acks)}{verdict}")
        print(f"  answer  {fmt(answers)}   (at the response_url)")
    print(f"\nbaseline, core search alone, sequential: {fmt(alone)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20260821)
    parser.add_argument(
        "--oauth", action="store_true", help="also the OAuth mode (a workspace installed)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="a store to reuse (built there when empty); default: a temp dir",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.concurrency < len(BROAD):
        parser.error(f"--concurrency must be at least {len(BROAD)}")
    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args, args.data_dir))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(args, Path(tmp) / "data"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
