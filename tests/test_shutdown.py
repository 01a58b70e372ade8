"""SIGTERM: acknowledged commands finish, the store closes, the process exits 0, in time.

``paperpost run`` in Slack HTTP mode against the loopback fake Slack: 20 signed
``/papers subscribe topicN`` sent together, then SIGTERM right after the last
HTTP 200 (at a seeded moment a few milliseconds later in each round), while
the acknowledged commands are still being handled. Every subscription Slack
was told about (HTTP 200) must be in the store. One channel per command: the
commands race each other only for the store, not for one channel's settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.errors import StoreClosedError
from paperpost.service import shut_down
from tests.conftest import FakeClock, RecordingPlatform
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackAPI,
    form_body,
    sign,
    slash_command,
)
from tests.scale import rounds

COMMANDS = 20
EXIT_WITHIN = 10.0  # seconds from SIGTERM (the service's own budget is 8)
ANNOUNCEMENT_LATENCY = (0.05, 0.3)  # seconds; keeps replies in flight at SIGTERM


class FakeSlackThread:
    """The fake Web API on a loop of its own, so the test can block meanwhile."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeSlackAPI:
        self.thread.start()
        api = FakeSlackAPI(post_latency=ANNOUNCEMENT_LATENCY)
        self.api = asyncio.run_coroutine_threadsafe(api.start(), self.loop).result(10)
        return self.api

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.api.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the bundled snapshot, copied for each round (seeding is slow)."""
    folder = tmp_path_factory.mktemp("seeded")
    env = {**os.environ, "PAPERPOST_DATA_DIR": str(folder)}
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    subprocess.run(
        [sys.executable, "-m", "paperpost.cli", "channels", "list", "--offline"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackThread() as api:
        yield api


def start_service(data: Path, api: FakeSlackAPI, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PAPERPOST_DATA_DIR": str(data),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api.url,
        "PAPERPOST_HOST": "127.0.0.1",
        "PORT": str(port),
    }
    env.pop("SLACK_APP_TOKEN", None)
    env.pop("DISCORD_BOT_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "paperpost.cli", "run", "--offline"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until_serving(service: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert service.poll() is None, service.stderr.read() if service.stderr else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("paperpost run did not start serving")


def channel_of(topic: str) -> str:
    return f"C{topic.upper()}"


def subscribe(port: int, api: FakeSlackAPI, topic: str) -> None:
    command = slash_command(
        f"subscribe {topic}", response_url=api.response_url(topic), channel_id=channel_of(topic)
    )
    body = form_body(command)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=sign(body)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def stored_subscriptions(data: Path) -> dict[str, list[str]]:
    with sqlite3.connect(data / "paperpost.sqlite") as conn:
        rows = conn.execute('SELECT key, value FROM "channels"').fetchall()
    return {key.rpartition(":")[2]: json.loads(value)["subscriptions"] for key, value in rows}


@pytest.mark.parametrize("round_", range(rounds(small=1, full=20)))
def test_sigterm_after_acknowledged_subscribes_exits_0_with_all_stored(
    round_: int, seeded_store: Path, slack: FakeSlackAPI, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeded_store, data)
    port = free_port()
    service = start_service(data, slack, port)
    try:
        wait_until_serving(service, port)
        topics = [f"topic{n}" for n in range(COMMANDS)]
        with ThreadPoolExecutor(COMMANDS) as senders:
            list(senders.map(lambda topic: subscribe(port, slack, topic), topics))
        time.sleep(random.Random(round_).uniform(0, 0.05))  # the seeded moment
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=EXIT_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"paperpost run still running {EXIT_WITHIN:.0f} s after SIGTERM")
        stderr = service.stderr.read().decode() if service.stderr else ""
        assert service.returncode == 0, stderr[-2000:]
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    assert stored_subscriptions(data) == {channel_of(topic): [topic] for topic in topics}


async def test_a_delivery_that_hangs_is_cut_off_and_the_store_still_closes(
    core: Paperpost, platform: RecordingPlatform, clock: FakeClock
) -> None:
    # Before Monday's 09:00 post: the start's catch-up posts nothing, so the
    # hanging delivery is the scheduler's batch, which core.stop() waits for.
    clock.now = datetime(2026, 8, 24, 8, 0, tzinfo=UTC)
    channel = ChannelKey.parse("console:local")  # the recording platform's
    await core.handle(channel, "set top 3")
    posting = asyncio.Event()

    async def never_answers(digest: Digest, *, resume: bool, **_hooks: object) -> None:
        posting.set()
        await asyncio.Event().wait()  # a platform call that never returns

    platform.post_digest = never_answers  # type: ignore[method-assign]
    await core.start()
    await core.run_due(channel)
    await asyncio.wait_for(posting.wait(), 10)
    # Bounded by the shutdown's own budget (here 2 s), not by the delivery.
    test = asyncio.current_task()
    assert test is not None
    await asyncio.wait_for(shut_down(core, [], None, seconds=2.0, spare={test}), 10)
    with pytest.raises(StoreClosedError):
        core.channels.get(channel)
