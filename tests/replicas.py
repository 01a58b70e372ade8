"""Several ``paperpost run`` replicas on one PostgreSQL, as the README's "Running several
replicas" commands start them, against the loopback fakes of Slack and Hugging Face.

Used by tests/test_replicas.py (a few channels) and benchmarks/replicas.py (thousands).
Each replica is a real process with its own data folder and port; workspaces install
through the OAuth flow over HTTP; channels are imported with ``paperpost channels
import``; what every channel received is read back from the fake Slack's record.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from paperpost.adapters.slack.delivery import EVENT_TYPE
from tests.fakes.hf_server import FakeHFServer, recent_weeks
from tests.fakes.slack_api import SIGNING_SECRET, FakeSlackAPI
from tests.test_service_start import LoopThread, free_port, healthz
from tests.test_slack_oauth import STATE_SECRET, install_at

START_WITHIN = 60.0  # seconds for a replica to answer /healthz with 200


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[str]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """PostgreSQL (given), the fakes, and the replicas started so far."""

    root: Path
    database_url: str
    loop: LoopThread
    api: FakeSlackAPI
    hf: FakeHFServer
    secret_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    replicas: dict[str, Replica] = field(default_factory=dict)
    starts: int = 0

    @classmethod
    def up(cls, root: Path, database_url: str, *, post_latency: float = 0.0) -> Cluster:
        loop = LoopThread()
        latency = (post_latency, post_latency) if post_latency else None
        api = FakeSlackAPI(bot_token="", post_latency=latency)  # OAuth only: no single token
        loop.run(api.start)
        today = datetime.now(UTC).date()
        hf = FakeHFServer(recent_weeks(today, weeks=1)).start()
        return cls(root, database_url, loop, api, hf)

    # -- the commands a user runs --------------------------------------------
    def env(self, name: str) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
        return environ | {
            "PAPERPOST_DATABASE_URL": self.database_url,
            "PAPERPOST_DATA_DIR": str(self.root / name),
            "PAPERPOST_REPLICA": name,
            "PAPERPOST_HOST": "127.0.0.1",
            "PAPERPOST_BACKFILL_DAYS": "3",
            "HF_ENDPOINT": self.hf.url,
            "SLACK_API_URL": self.api.url,
            "SLACK_CLIENT_ID": self.api.client_id,
            "SLACK_CLIENT_SECRET": self.api.client_secret,
            "SLACK_STATE_SECRET": STATE_SECRET,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "PAPERPOST_SECRET_KEY": self.secret_key,
            "SLACK_POSTS_PER_SECOND": "1000",  # the replicas, not the fake, are the limit
        }

    def paperpost(self, *args: str, stdin: str | None = None) -> str:
        """A one-shot command (``db upgrade``, ``sync``, ``channels import -``)."""
        done = subprocess.run(
            [sys.executable, "-m", "paperpost.cli", *args],
            env=self.env("admin"), input=stdin, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, name: str, *, wait: bool = True) -> Replica:
        port = free_port()
        log = self.root / f"{name}.{self.starts}.log"
        self.starts += 1
        process = subprocess.Popen(
            [sys.executable, "-m", "paperpost.cli", "run", "-v"],
            env=self.env(name) | {"PORT": str(port)},
            stdout=subprocess.DEVNULL, stderr=log.open("w"), text=True,
        )  # fmt: skip
        replica = self.replicas[name] = Replica(name, port, process, log)
        if wait:
            self.wait_healthy(replica)
        return replica

    def wait_healthy(self, replica: Replica) -> dict[str, Any]:
        deadline = time.monotonic() + START_WITHIN
        while time.monotonic() < deadline:
            assert replica.process.poll() is None, replica.log.read_text()
            answer = healthz(replica.port)
            if answer is not None and answer[0] == 200:
                return answer[1]
            time.sleep(0.05)
        raise AssertionError(f"{replica.name} never became healthy: {replica.log.read_text()}")

    def kill(self, name: str) -> None:
        """kill -9: no goodbye, no cleanup."""
        replica = self.replicas[name]
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(10)

    def stop(self, name: str) -> str:
        replica = self.replicas.pop(name)
        replica.process.send_signal(signal.SIGTERM)
        replica.process.wait(30)
        text = replica.log.read_text()
        assert replica.process.returncode == 0, text
        return text

    def metrics(self, name: str) -> dict[str, float]:
        url = f"{self.replicas[name].base}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            lines = answer.read().decode().splitlines()
        samples: dict[str, float] = {}
        for line in lines:
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                samples[key] = float(value)
        return samples

    def fill(self) -> None:
        """``db upgrade`` and the last days from Hugging Face (the fake), before the replicas."""
        self.paperpost("db", "upgrade")
        since = min(date.fromisoformat(day) for day in self.hf.days)
        self.paperpost("sync", "--since", since.isoformat())

    def import_channels(self, channels: dict[str, str]) -> None:
        keys = (f"slack:{team}:{channel}" for channel, team in channels.items())
        self.paperpost("channels", "import", "-", stdin=channels_document(keys))

    def install(self, team: str, name: str, *, via: str) -> str:
        base = self.replicas[via].base
        return self.loop.run(lambda: install_at(base, self.api, team, name))

    def close(self) -> None:
        for replica in self.replicas.values():
            if replica.process.poll() is None:
                replica.process.kill()
                replica.process.wait(10)
        self.loop.run(self.api.stop)
        self.loop.close()
        self.hf.stop()


def channels_document(keys: Iterable[str]) -> str:
    """A ``channels import`` document: each channel due at 00:00 UTC every day, so a
    replica's start catches up today's digest for all of them at once."""
    record = {
        "post_time": "00:00", "timezone": "UTC", "days": list(range(7)), "top_n": 3,
        "min_upvotes": 0, "threads": False, "paused": False, "paused_reason": None,
        "subscriptions": [], "weekly": None,
    }  # fmt: skip
    return json.dumps({"version": 2, "channels": {key: record for key in keys}})


@dataclass(frozen=True)
class Tally:
    """What the channels received, from the fake Slack's record of digest posts."""

    complete: int  # channels whose digest arrived whole
    missing: list[str]  # channels with no digest, or only some of its parts
    duplicates: int  # parts posted more than once
    wrong_token: int  # parts posted with another workspace's token
    posts: int


def tally(api: FakeSlackAPI, channels: dict[str, str]) -> Tally:
    """``channels``: Slack channel id -> its team id."""
    parts: Counter[tuple[str, str, int]] = Counter()
    sizes: dict[tuple[str, str], int] = {}
    wrong = 0
    for post in list(api.posts):
        meta = post.metadata or {}
        if meta.get("event_type") != EVENT_TYPE:
            continue
        payload = meta.get("event_payload") or {}
        marker, part = str(payload.get("marker")), int(payload.get("part", 0))
        parts[(post.channel, marker, part)] += 1
        sizes[(post.channel, marker)] = int(payload.get("parts", 1))
        if api.teams.get(post.token) != channels.get(post.channel):
            wrong += 1
    complete = {
        channel
        for (channel, marker), size in sizes.items()
        if all((channel, marker, i) in parts for i in range(size))
    }
    return Tally(
        complete=len(complete),
        missing=sorted(set(channels) - complete),
        duplicates=sum(n - 1 for n in parts.values()),
        wrong_token=wrong,
        posts=sum(parts.values()),
    )
