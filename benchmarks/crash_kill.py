"""Crash safety: SIGKILL ``paperpost digest`` mid-fan-out, restart it, count
duplicates and misses.

    python benchmarks/crash_kill.py [--channels 40] [--kills 20] [--seed N]

A loopback fake Slack Web API (tests/fakes/slack_api.py) runs in a thread of
this process; it records every accepted ``chat.postMessage`` first and answers
it 5-20 ms later, so a kill can land after Slack accepted a message and before
Paperpost learnt so (let alone wrote it to the ledger). ``--channels`` Slack
channels ``slack:T1:C{i}`` are imported with ``paperpost channels import``
into a temporary ``PAPERPOST_DATA_DIR``: three in four in threads mode (the
list, then one reply per paper, ``top`` 5 to 10: 6 to 11 messages), the
others plain (one message), so the fan-out is a few hundred messages. Then
``paperpost digest --date 2026-08-21 --offline`` is started as a subprocess
and SIGKILLed at each seeded moment, restarted, and finally run to completion.

Kill moments (seeded): about one in ten falls in start-up (a delay after
spawning, before any post); the others are "a delay of 0-8 ms after the
fake accepted post number n", n drawn within an even share of the posts still
to come (less the posts that keep landing during the delay), so every one of
them lands while digests are in flight, most with a post accepted by Slack
and not yet answered. If the posts run out before the kills
do, a new round starts on a fresh store and fake (rare; counted in the output).

At the end, from the fake's recorded posts, per digest marker (one per
channel and day) and part: a duplicate is a part accepted more than once; a
miss is a channel with no digest, or a part of its digest never accepted; a
misthreaded reply is a thread part not in its digest's thread. All must be 0,
and every ledger entry must be "sent".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from paperpost.adapters.slack.delivery import EVENT_TYPE  # noqa: E402
from paperpost.adapters.slack.render import render_digest  # noqa: E402
from paperpost.bot.app import Paperpost  # noqa: E402
from paperpost.bot.channels.key import ChannelKey  # noqa: E402
from paperpost.bot.channels.settings import ChannelSettings  # noqa: E402
from paperpost.bot.config import Config  # noqa: E402
from paperpost.bot.papers.snapshot import BundledSnapshot  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI, Posted  # noqa: E402

DAY = date(2026, 8, 21)  # the bundled snapshot's last day
TEAM = "T1"
POST_LATENCY = (0.005, 0.020)
KILL_DELAY_AFTER_POST = (0.0, 0.008)
STARTUP_KILL_DELAY = (0.05, 0.6)
RUN_TIMEOUT = 120.0  # a run that hangs this long is a failure, not a figure


def _paperpost_command() -> list[str]:
    exe = Path(sys.executable).with_name("paperpost")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "paperpost.cli"]


# -- the fake Slack, on its own loop in a thread ----------------------------------------
class FakeSlackThread:
    """``FakeSlackAPI`` served from a daemon thread, so this process can block on
    subprocesses meanwhile. ``accepted`` counts recorded posts (thread-safe)."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._cond = threading.Condition()
        self.accepted = 0
        self.api: FakeSlackAPI

    def _on_post(self, _posted: Posted) -> None:
        with self._cond:
            self.accepted += 1
            self._cond.notify_all()

    def __enter__(self) -> FakeSlackThread:
        self._thread.start()

        async def start() -> FakeSlackAPI:
            return await FakeSlackAPI(on_post=self._on_post, **self._kwargs).start()

        self.api = asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.api.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def wait_accepted(self, count: int, *, until: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``count`` posts are accepted (True) or ``until()`` holds (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.accepted < count:
                if until() or time.monotonic() > deadline:
                    return False
                self._cond.wait(0.005)
        return True

    def posts(self) -> list[Posted]:
        return list(self.api.posts)


# -- channels and what they should get ---------------------------------------------------
def make_channels(count: int, rng: random.Random) -> dict[ChannelKey, ChannelSettings]:
    return {
        ChannelKey("slack", TEAM, f"C{i}"): ChannelSettings(
            top_n=rng.choice((1, 3, 5, 8, 10)) if i % 4 == 3 else rng.choice((5, 8, 10)),
            threads=i % 4 != 3,
        )
        for i in range(count)
    }


def expected_parts(channels: dict[ChannelKey, ChannelSettings], day: date) -> dict[str, int]:
    """Digest marker → number of messages, computed in a scratch store."""

    async def compute() -> dict[str, int]:
        with tempfile.TemporaryDirectory(prefix="paperpost-expect-") as scratch:
            core = await Paperpost.open(Config(data_dir=Path(scratch)), source=BundledSnapshot())
            try:
                core.channels.save_many(channels.items())
                digests = core.digests_for_day(day, list(channels))
                return {d.marker: len(render_digest(d)) for d in digests if d.entries}
            finally:
                core.close()

    return asyncio.run(compute())


# -- the kill plan ---------------------------------------------------------------------------
@dataclass(frozen=True)
class KillMoment:
    in_fanout: bool  # False: a delay after spawning, before any post
    share: float  # in the fan-out: where, as a share of this moment's slice of the posts left
    delay: float  # seconds after spawning, or after the chosen post was accepted


def kill_plan(rng: random.Random, kills: int) -> list[KillMoment]:
    """``kills`` moments: ~1 in 10 in start-up, the others in the fan-out."""
    startup = max(1, kills // 10)
    moments = [
        KillMoment(True, rng.random(), rng.uniform(*KILL_DELAY_AFTER_POST))
        for _ in range(kills - startup)
    ]
    for _ in range(startup):
        at = rng.randrange(len(moments) + 1)
        moments.insert(at, KillMoment(False, 0.0, rng.uniform(*STARTUP_KILL_DELAY)))
    return moments


def kill_target(
    moment: KillMoment, *, accepted: int, left: int, kills_left: int, overshoot: float
) -> int:
    """The post after which to kill: within this kill's even slice of the posts
    left, less the posts that keep landing during the kill delay (``overshoot``),
    so the later kills still find a fan-out in flight."""
    room = max(0.0, left / max(1, kills_left) - overshoot)
    return accepted + 1 + int(moment.share * room)


# -- one round: a store, a fake, the kills, then the count ------------------------------------
@dataclass
class RoundResult:
    kills: int = 0
    kills_startup: int = 0
    kills_unanswered: int = 0  # at the kill, Slack had accepted a post not yet answered
    kills_too_late: int = 0  # the run had finished before its kill moment
    runs: int = 0
    posts: int = 0  # accepted digest messages
    expected_posts: int = 0
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # marker, part, copies
    missing_channels: list[str] = field(default_factory=list)
    missing_parts: list[tuple[str, int]] = field(default_factory=list)
    misthreaded: list[tuple[str, int]] = field(default_factory=list)
    ledger: Counter[str] = field(default_factory=Counter)
    final_exit: int | None = None
    final_stderr: str = ""


class Runner:
    def __init__(self, data_dir: Path, api_url: str, logs: Path) -> None:
        self.data_dir = data_dir
        self.logs = logs
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "DISCORD_", "HF_", "PAPERPOST_"))
        } | {
            "PAPERPOST_DATA_DIR": str(data_dir),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": api_url,
            "HF_ENDPOINT": "http://127.0.0.1:9",  # loopback; --offline never calls it
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        self.count = 0

    def spawn(self, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        self.count += 1
        log = self.logs / f"run-{self.count:03d}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*_paperpost_command(), *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.logs,
            )
        return proc, log

    def run(self, *args: str) -> tuple[int, str]:
        proc, log = self.spawn(*args)
        try:
            code = proc.wait(RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = -1
        return code, log.read_text("utf-8", "replace")


def proc_exited(proc: subprocess.Popen[bytes]) -> Callable[[], bool]:
    return lambda: proc.poll() is not None


def run_round(
    *,
    channels: int,
    kills: int,
    rng: random.Random,
    say: Callable[[str], None],
    trace: Callable[[str], None] = lambda _line: None,
) -> RoundResult:
    result = RoundResult()
    settings = make_channels(channels, rng)
    expected = expected_parts(settings, DAY)
    result.expected_posts = sum(expected.values())
    digest_args = ("digest", "--date", DAY.isoformat(), "--offline")
    with (
        tempfile.TemporaryDirectory(prefix="paperpost-crash-") as tmp,
        FakeSlackThread(post_latency=POST_LATENCY, rng=random.Random(rng.random())) as fake,
    ):
        data_dir, logs = Path(tmp) / "data", Path(tmp) / "logs"
        logs.mkdir()
        runner = Runner(data_dir, fake.api.url, logs)
        export = Path(tmp) / "channels.json"
        document = {"version": 1, "channels": {str(k): s.to_json() for k, s in settings.items()}}
        export.write_text(json.dumps(document))
        code, out = runner.run("channels", "import", str(export))
        if code != 0:
            raise RuntimeError(f"channels import failed ({code}): {out}")

        plan = kill_plan(rng, kills)
        overshoot = 8.0  # posts accepted past the target before the kill lands (running mean)
        for j, moment in enumerate(plan):
            started_with = fake.accepted
            proc, _log = runner.spawn(*digest_args)
            result.runs += 1
            exited = proc_exited(proc)
            target = None
            if not moment.in_fanout:
                deadline = time.monotonic() + moment.delay
                while not exited() and time.monotonic() < deadline:
                    time.sleep(0.002)
            else:
                kills_left = sum(m.in_fanout for m in plan[j:])
                target = kill_target(
                    moment,
                    accepted=started_with,
                    left=result.expected_posts - started_with,
                    kills_left=kills_left,
                    overshoot=overshoot,
                )
                if fake.wait_accepted(target, until=exited, timeout=RUN_TIMEOUT):
                    time.sleep(moment.delay)
            if proc.poll() is None:
                in_flight = fake.api.unanswered
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                result.kills += 1
                result.kills_startup += fake.accepted == started_with
                result.kills_unanswered += in_flight > 0
                if target is not None:
                    overshoot = 0.7 * overshoot + 0.3 * max(0, fake.accepted - target)
            else:
                result.kills_too_late += 1
            trace(
                f"run {result.runs}: {'fan-out' if moment.in_fanout else 'start-up'} moment, "
                f"target {target}, accepted {started_with}->{fake.accepted}"
                f"/{result.expected_posts}, exit {proc.returncode}"
            )
            if proc.returncode == 0 and fake.accepted >= result.expected_posts:
                break  # nothing left to interrupt in this round

        result.final_exit, result.final_stderr = runner.run(*digest_args)
        result.runs += 1
        _count(result, fake.posts(), expected)
        result.ledger = _ledger_states(data_dir)
    say(
        f"round: {channels} channels, {result.kills} kills, {result.runs} runs, "
        f"{result.posts}/{result.expected_posts} messages"
    )
    return result


def _count(result: RoundResult, posts: list[Posted], expected: dict[str, int]) -> None:
    digest = [p for p in posts if p.metadata and p.metadata.get("event_type") == EVENT_TYPE]
    result.posts = len(digest)
    copies: Counter[tuple[str, int]] = Counter()
    tops: dict[str, set[str]] = {}
    for p in digest:
        payload = p.metadata["event_payload"] if p.metadata else {}
        copies[(payload["marker"], payload["part"])] += 1
        if p.thread_ts is None:
            tops.setdefault(payload["marker"], set()).add(p.ts)
    result.duplicates = sorted((m, part, n) for (m, part), n in copies.items() if n > 1)
    for marker, parts in sorted(expected.items()):
        if not any(m == marker for m, _ in copies):
            result.missing_channels.append(marker)
        result.missing_parts += [(marker, i) for i in range(parts) if (marker, i) not in copies]
    for p in digest:
        payload = p.metadata["event_payload"] if p.metadata else {}
        if p.thread_ts is not None and p.thread_ts not in tops.get(payload["marker"], set()):
            result.misthreaded.append((payload["marker"], payload["part"]))


def _ledger_states(data_dir: Path) -> Counter[str]:
    with sqlite3.connect(f"file:{data_dir / 'paperpost.sqlite'}?mode=ro", uri=True) as conn:
        rows = conn.execute('SELECT value FROM "ledger"').fetchall()
    return Counter(json.loads(value)["state"] for (value,) in rows)


# -- the whole experiment --------------------------------------------------------------------
@dataclass
class CrashReport:
    channels: int
    kills_wanted: int
    seed: int
    rounds: list[RoundResult]
    seconds: float

    @property
    def kills(self) -> int:
        return sum(r.kills for r in self.rounds)

    @property
    def posts(self) -> int:
        return sum(r.posts for r in self.rounds)

    @property
    def duplicates(self) -> list[tuple[str, int, int]]:
        return [d for r in self.rounds for d in r.duplicates]

    @property
    def misses(self) -> list[tuple[str, int]]:
        return [m for r in self.rounds for m in r.missing_parts]

    @property
    def missing_channels(self) -> list[str]:
        return [m for r in self.rounds for m in r.missing_channels]

    @property
    def misthreaded(self) -> list[tuple[str, int]]:
        return [m for r in self.rounds for m in r.misthreaded]

    @property
    def ledger(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for r in self.rounds:
            total.update(r.ledger)
        return total

    @property
    def ok(self) -> bool:
        return (
            self.kills >= self.kills_wanted
            and not self.duplicates
            and not self.misses
            and not self.missing_channels
            and not self.misthreaded
            and all(r.final_exit == 0 for r in self.rounds)
            and set(self.ledger) == {"sent"}
            and self.ledger["sent"] == self.channels * len(self.rounds)
        )

    def lines(self) -> list[str]:
        r = self.rounds
        return [
            f"channels:            {self.channels} (slack:{TEAM}:C0..C{self.channels - 1}), "
            f"day {DAY}, seed {self.seed}",
            f"kills done:          {self.kills} (wanted {self.kills_wanted}; "
            f"{sum(x.kills_startup for x in r)} in start-up before any post, "
            f"{sum(x.kills_unanswered for x in r)} with a post accepted by Slack but not yet "
            f"answered; {sum(x.kills_too_late for x in r)} moments missed, run already done)",
            f"runs:                {sum(x.runs for x in r)} in {len(r)} round(s)",
            f"messages posted:     {self.posts} (expected {sum(x.expected_posts for x in r)})",
            f"duplicates:          {len(self.duplicates)}"
            + (f"  {self.duplicates[:5]}" if self.duplicates else ""),
            f"misses:              {len(self.missing_channels)} channel(s) without a digest, "
            f"{len(self.misses)} part(s) missing" + (f"  {self.misses[:5]}" if self.misses else ""),
            f"misthreaded replies: {len(self.misthreaded)}",
            f"ledger:              {dict(self.ledger)}; final run exit {[x.final_exit for x in r]}",
            f"time taken:          {self.seconds:.1f} s",
            "result:              " + ("OK" if self.ok else "FAILED"),
        ]


def run_crash_kill(
    *,
    channels: int = 40,
    kills: int = 20,
    seed: int = 1,
    say: Callable[[str], None] = print,
    trace: Callable[[str], None] = lambda _line: None,
) -> CrashReport:
    rng = random.Random(seed)
    started = time.perf_counter()
    rounds: list[RoundResult] = []
    while sum(r.kills for r in rounds) < kills and len(rounds) < 5:
        wanted = kills - sum(r.kills for r in rounds)
        rounds.append(run_round(channels=channels, kills=wanted, rng=rng, say=say, trace=trace))
    return CrashReport(channels, kills, seed, rounds, time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=40)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per run")
    args = parser.parse_args()
    report = run_crash_kill(
        channels=args.channels,
        kills=args.kills,
        seed=args.seed,
        trace=print if args.verbose else lambda _line: None,
    )
    print("\n".join(report.lines()))
    for r in report.rounds:
        if r.final_exit != 0:
            print(f"final run output:\n{r.final_stderr}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
