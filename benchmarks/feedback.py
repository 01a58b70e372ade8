"""Feedback buttons under load: 1,000 presses in 10 s on one digest, 200 users.

    python benchmarks/feedback.py [--clicks 1000] [--seconds 10] [--users 200] [--seed 7]

A real ``Paperpost`` core on the bundled snapshot, the Slack adapter in HTTP
mode (``start_slack``: Bolt, signature checks, the ``SlackButtons`` listener)
and the loopback fake Slack Web API of tests/fakes/slack_api.py, which here
enforces ``chat.update``'s Tier 3 limit (50 calls in any 60 s, 429 beyond).
One digest of 5 papers is posted, then ``--clicks`` signed ``block_actions``
requests (👍 or 🔖 on one of the 5 papers, by one of ``--users`` users) are
sent over loopback HTTP at an even pace over ``--seconds``. Printed:

- votes: the stored votes against the expected ones (each user's presses on a
  paper and kind toggle: an odd count is a vote), and the message's final
  labels against the stored counts;
- edits: ``chat.update`` calls, 429s, the shortest gap between two edits;
- ack: click to HTTP 200, p50 and p99 (goal p99 <= 50 ms).

Baseline, same clicks in the same run: one ``chat.update`` per press (no
coalescing).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from paperpost.adapters.slack import start_slack  # noqa: E402
from paperpost.adapters.slack.buttons import SlackButtons  # noqa: E402
from paperpost.adapters.slack.vote_blocks import papers_in  # noqa: E402
from paperpost.bot.app import Paperpost  # noqa: E402
from paperpost.bot.channels.key import ChannelKey  # noqa: E402
from paperpost.bot.config import Config  # noqa: E402
from paperpost.bot.feedback.edits import EditCoalescer  # noqa: E402
from paperpost.bot.papers.snapshot import BundledSnapshot  # noqa: E402
from tests.fakes.slack_api import (  # noqa: E402
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    action_body,
    sign,
    vote_click,
)

DAY = date(2026, 8, 21)
CHANNEL = ChannelKey("slack", "T0TEST", "C0DIGEST1")
TIER3 = 50  # chat.update calls in any 60 s, per workspace
NO_RETRY = 61  # a Retry-After past the client's in-process ceiling: the 429 is final


class Tier3:
    """The fake's limiter: 50 ``chat.update`` in any 60 s window, then 429."""

    def __init__(self) -> None:
        self.calls: deque[float] = deque()
        self.accepted: list[float] = []  # when each accepted chat.update arrived

    def __call__(self, method: str, params: dict[str, Any]) -> int | None:
        if method != "chat.update":
            return None
        now = time.monotonic()
        while self.calls and now - self.calls[0] >= 60:
            self.calls.popleft()
        if len(self.calls) >= TIER3:
            return NO_RETRY
        self.calls.append(now)
        self.accepted.append(now)
        return None


class EveryPress(EditCoalescer[Any]):
    """The baseline: an edit per press, nothing coalesced."""

    def request(self, key: Any) -> None:
        self.edits += 1
        task = asyncio.create_task(self._edit(key))
        self._tasks[(key, self.edits)] = task
        task.add_done_callback(lambda _t, k=(key, self.edits): self._tasks.pop(k, None))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def schedule(args: argparse.Namespace, papers: list[str]) -> list[tuple[float, str, str, str]]:
    rng = random.Random(args.seed)
    users = [f"U{i:05d}" for i in range(args.users)]
    actions = ["paperpost_like", "paperpost_save"]
    step = args.seconds / args.clicks
    return [
        (i * step, rng.choice(users), rng.choice(papers), rng.choice(actions))
        for i in range(args.clicks)
    ]


async def run_once(args: argparse.Namespace, *, coalesce: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        core = await Paperpost.open(Config(data_dir=data), source=BundledSnapshot())
        api = FakeSlackAPI()
        api.limiter = Tier3()
        await api.start()
        config = Config(
            data_dir=data,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=api.url,
            port=0,
        )
        runtime = await start_slack(core, config)
        buttons = runtime.buttons
        assert isinstance(buttons, SlackButtons)
        if not coalesce:
            buttons.edits = EveryPress(buttons._edit)
        try:
            return await _clicks(args, core, api, runtime.url or "", buttons)
        finally:
            await runtime.stop()
            await api.stop()
            core.close()


async def _clicks(
    args: argparse.Namespace, core: Paperpost, api: FakeSlackAPI, url: str, buttons: SlackButtons
) -> dict[str, Any]:
    assert not (await core.handle(CHANNEL, "set top 5")).is_error
    await core.post_digests(day=DAY, channel=CHANNEL)
    [message] = api.messages("C0DIGEST1")
    papers = papers_in(message["blocks"])
    plan = schedule(args, papers)
    acks: list[float] = []
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def click(at: float, user: str, paper: str, action: str, start: float) -> None:
            await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
            # Slack sends the message as it is now: after an edit, the edited one.
            now = api.messages("C0DIGEST1")[0]
            body = action_body(vote_click(now, paper, action=action, user=user))
            headers = sign(body)
            began = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
            acks.append(time.perf_counter() - began)

        start = time.perf_counter()
        await asyncio.gather(*(click(*c, start) for c in plan))
        sent = time.perf_counter() - start
    expected = {k for k, n in Counter((u, p, a) for _, u, p, a in plan).items() if n % 2}
    want = {(u, p, "like" if a == "paperpost_like" else "save") for u, p, a in expected}
    for _ in range(500):  # the last presses are acked before their votes are stored
        got = {(v.user, v.paper_id, str(v.kind)) for v in core.feedback.votes(CHANNEL)}
        if got == want:
            break
        await asyncio.sleep(0.02)
    await buttons.edits.drain()
    counts = await core.presses.counts(CHANNEL, papers)
    final = api.messages("C0DIGEST1")[0]
    labels_ok = all(
        any(f"· {counts[p].likes:,}" in e["text"]["text"] or counts[p].likes == 0
            for e in b["elements"][:1])
        and any(f"· {counts[p].saves:,}" in e["text"]["text"] or counts[p].saves == 0
                for e in b["elements"][1:])
        for p in papers
        for b in final["blocks"]
        if b.get("block_id", "").endswith(":" + p)
    )  # fmt: skip
    assert isinstance(api.limiter, Tier3)
    times = api.limiter.accepted
    gaps = [b - a for a, b in pairwise(times)]
    return {
        "sent": sent,
        "statuses": dict(statuses),
        "votes_ok": got == want,
        "votes": len(got),
        "expected": len(want),
        "labels_ok": labels_ok,
        "updates": len(api.updates),
        "rate_limited": api.rate_limited,
        "min_gap": min(gaps) if gaps else None,
        "ack_p50": statistics.median(acks) * 1000,
        "ack_p99": percentile(acks, 0.99) * 1000,
        "metadata_kept": final.get("metadata") == message.get("metadata"),
    }


def report(name: str, r: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"{name}:")
    print(
        f"  {args.clicks} presses sent in {r['sent']:.1f} s, HTTP {r['statuses']}; "
        f"votes {r['votes']} stored / {r['expected']} expected: "
        + ("every vote counted exactly once" if r["votes_ok"] else "MISMATCH")
    )
    print(
        f"  chat.update: {r['updates']} accepted, {r['rate_limited']} answered 429 "
        f"(limit: {TIER3} a minute); final labels "
        + ("match the stored counts" if r["labels_ok"] else "DIFFER from the stored counts")
        + ("; metadata kept" if r["metadata_kept"] else "; METADATA LOST")
    )
    if r["min_gap"] is not None:
        print(f"  shortest gap between two edits: {r['min_gap']:.2f} s")
    print(f"  click -> ack: p50 {r['ack_p50']:.1f} ms, p99 {r['ack_p99']:.1f} ms (goal p99 <= 50)")


async def main_async(args: argparse.Namespace) -> int:
    logging.disable(logging.CRITICAL)  # the baseline's 429s would fill the screen
    coalesced = await run_once(args, coalesce=True)
    baseline = await run_once(args, coalesce=False)
    report("coalesced (used)", coalesced, args)
    report("baseline, one chat.update per press", baseline, args)
    return 0 if coalesced["votes_ok"] and coalesced["rate_limited"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clicks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
