"""``paperpost run`` starting like a service, as a real process against the loopback fakes:
a refused token is one line and exit 2 naming its variable; an unreachable
platform is retried while /healthz answers 503 "starting", and the service comes
up once it can be reached; each platform says in one log line that it is ready."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI

T = TypeVar("T")
START_WITHIN = 60.0


class LoopThread:
    """An event loop on a thread of its own, so fakes serve while the test blocks."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        async def call() -> T:  # the coroutine is created on the loop's own thread
            return await make()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(data: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    environ = {**os.environ, "PAPERPOST_DATA_DIR": str(data), "PORT": str(port), **env}
    environ["PAPERPOST_HOST"] = "127.0.0.1"
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN"):
        if name not in env:
            environ.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "paperpost.cli", "run", "--offline"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def healthz(port: int) -> tuple[int, dict[str, Any]] | None:
    """(status, body), or None while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None


def wait_for_health(
    service: subprocess.Popen[str], port: int, wanted: Callable[[int, dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + START_WITHIN
    while time.monotonic() < deadline:
        assert service.poll() is None, service.communicate()[1]
        answer = healthz(port)
        if answer is not None and wanted(*answer):
            return answer[1]
        time.sleep(0.05)
    raise AssertionError(f"/healthz never answered as wanted; last: {healthz(port)}")


def stop(service: subprocess.Popen[str]) -> str:
    service.send_signal(signal.SIGTERM)
    _, stderr = service.communicate(timeout=20)
    assert service.returncode == 0, stderr
    return stderr


def refused(service: subprocess.Popen[str]) -> str:
    """The one ``paperpost:`` line of a start that failed with exit 2, no traceback."""
    _, stderr = service.communicate(timeout=START_WITHIN)
    assert service.returncode == 2, stderr
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("paperpost:")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("tokens", "variable"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-wrong", "SLACK_SIGNING_SECRET": SIGNING_SECRET}, "BOT"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-wrong"}, "APP"),
    ],
)
def test_a_refused_slack_token_exits_2_naming_it(
    loop: LoopThread, tmp_path: Path, tokens: dict[str, str], variable: str
) -> None:
    api = loop.run(lambda: FakeSlackAPI(socket_url="ws://127.0.0.1:9/unused").start())
    try:
        service = start(tmp_path, free_port(), {**tokens, "SLACK_API_URL": api.url})
        line = refused(service)
    finally:
        loop.run(api.stop)
    assert line == f"paperpost: Slack refused SLACK_{variable}_TOKEN: invalid_auth"


def test_a_refused_discord_token_exits_2_naming_it(loop: LoopThread, tmp_path: Path) -> None:
    fake = loop.run(lambda: FakeDiscord().start())
    fake.fail("GET", "/users/@me", status=401, code=0, times=10)
    try:
        env = {"DISCORD_BOT_TOKEN": "wrong", "DISCORD_API_URL": fake.api_url}
        line = refused(start(tmp_path, free_port(), env))
    finally:
        loop.run(fake.close)
    assert line.startswith("paperpost: Discord refused DISCORD_BOT_TOKEN"), line


def test_unreachable_slack_is_retried_with_healthz_503_until_it_comes_up(
    loop: LoopThread, tmp_path: Path
) -> None:
    slack_port, port = free_port(), free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",  # nothing listens yet
    }
    service = start(tmp_path, port, env)
    api: FakeSlackAPI | None = None
    try:
        waiting = wait_for_health(
            service, port, lambda status, body: status == 503 and "cannot reach" in str(body)
        )
        assert waiting["status"] == "starting"
        assert waiting["reason"].startswith("slack: cannot reach it ("), waiting
        api = loop.run(lambda: FakeSlackAPI(port=slack_port).start())
        up = wait_for_health(service, port, lambda status, _body: status == 200)
        assert up["status"] == "ok" and up["papers"] > 100
    finally:
        stderr = stop(service)
        if api is not None:
            loop.run(api.stop)
    assert "slack: cannot reach it" in stderr and "attempt 1 failed, retrying in 1 s" in stderr
    assert "Traceback" not in stderr, stderr
    assert f"HTTP ready: listening on http://127.0.0.1:{port}" in stderr
    assert "Slack ready: workspace Test, bot user @paperpost (HTTP mode" in stderr
    assert "Schedule ready: 0 channel(s) scheduled" in stderr


def test_discord_says_when_it_is_ready(loop: LoopThread, tmp_path: Path) -> None:
    fake = loop.run(lambda: FakeDiscord().start())
    port = free_port()
    env = {
        "DISCORD_BOT_TOKEN": "fake-token",
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }
    service = start(tmp_path, port, env)
    try:
        up = wait_for_health(service, port, lambda status, _body: status == 200)
        assert up["status"] == "ok"
    finally:
        stderr = stop(service)
        loop.run(fake.close)
    assert "Discord ready: bot user paperpost" in stderr and "in 1 server" in stderr, stderr


def test_sigterm_while_still_reaching_a_platform_exits_0(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",  # nothing ever listens
    }
    service = start(tmp_path, port, env)
    wait_for_health(service, port, lambda status, body: "cannot reach" in str(body))
    started = time.monotonic()
    stderr = stop(service)
    assert time.monotonic() - started < 10, stderr
    assert "Traceback" not in stderr, stderr


async def test_backoff_doubles_to_a_cap_and_never_retries_a_refusal() -> None:
    from paperpost.bot.errors import UserError
    from paperpost.http_server import Readiness
    from paperpost.startup import with_backoff

    slept: list[float] = []
    failures = iter([ConnectionRefusedError(111, "refused")] * 8)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def attempt() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "connected"

    readiness = Readiness()
    assert await with_backoff("slack", attempt, readiness, sleep=sleep) == "connected"
    assert slept == [1, 2, 4, 8, 16, 32, 60, 60]

    async def refused() -> str:
        raise UserError("Slack refused SLACK_BOT_TOKEN: invalid_auth")

    slept.clear()
    with pytest.raises(UserError):
        await with_backoff("slack", refused, readiness, sleep=sleep)
    assert slept == []
