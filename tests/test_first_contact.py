"""Issue 9's first contact, as a new user meets it: a fresh ``paperpost run`` (a real
process, online) against a Hugging Face–compatible endpoint serving the last weeks
answers with the latest complete featured day within 60 s of start, and /healthz
says so; with Hugging Face unreachable it starts on the bundled snapshot and says so."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from paperpost.bot.delivery.featured_day import digest_day_for
from tests.fakes.hf_server import FakeHFServer, recent_weeks
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI
from tests.test_service_start import LoopThread, free_port, healthz, stop

WITHIN = 60.0  # what the issue promises a new user


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


def run_online(data: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    environ = {**os.environ, "PAPERPOST_DATA_DIR": str(data), "PORT": str(port), **env}
    environ["PAPERPOST_HOST"] = "127.0.0.1"
    for name in ("SLACK_APP_TOKEN", "DISCORD_BOT_TOKEN"):
        environ.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "paperpost.cli", "run"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def health_when(
    service: subprocess.Popen[str], port: int, wanted: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    last = None
    while time.monotonic() - started < WITHIN:
        assert service.poll() is None, service.communicate()[1]
        answer = healthz(port)
        if answer is not None:
            last = answer
            if answer[0] == 200 and wanted(answer[1]):
                return answer[1], time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"/healthz never showed it within {WITHIN:g} s; last: {last}")


def slack_env(api: FakeSlackAPI) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api.url,
    }


def test_a_fresh_run_fetches_recent_days_and_healthz_says_so(
    loop: LoopThread, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    latest = digest_day_for(datetime.now(UTC))
    hf = FakeHFServer(recent_weeks(today, weeks=2)).start()
    api = loop.run(lambda: FakeSlackAPI().start())
    port = free_port()
    service = run_online(tmp_path, port, {**slack_env(api), "HF_ENDPOINT": hf.url})
    try:
        body, _elapsed = health_when(
            service, port, lambda b: b.get("latest_day") == latest.isoformat()
        )
    finally:
        stop(service)
        loop.run(api.stop)
        hf.stop()
    assert body["papers_from"] == "huggingface"
    assert body["papers"] > 0


def test_hugging_face_unreachable_at_first_start_serves_the_snapshot_and_says_so(
    loop: LoopThread, tmp_path: Path
) -> None:
    api = loop.run(lambda: FakeSlackAPI().start())
    port = free_port()
    unreachable = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    service = run_online(tmp_path, port, {**slack_env(api), "HF_ENDPOINT": unreachable})
    try:
        body, _elapsed = health_when(service, port, lambda b: b.get("papers_from") == "snapshot")
    finally:
        stop(service)
        loop.run(api.stop)
    assert body["latest_day"] == "2026-08-21" and body["papers"] > 100
