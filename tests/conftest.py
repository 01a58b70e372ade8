"""Shared fixtures: a real core on a temporary store, a controllable clock, and a
recording platform standing in for Slack/Discord where the platform is not
the subject of the test."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.config import Config
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.errors import DeliveryError
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.fakes.slack_api import FakeSlackAPI

pytest_plugins = ("tests.fakes.hf_server", "tests.postgres")

# The FTS5 engine is a benchmarked alternative, not part of the product: its tests import it
# from benchmarks/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))


@dataclass
class FakeClock:
    now: datetime = datetime(2026, 8, 24, 9, 0, tzinfo=UTC)  # a Monday

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RecordingPlatform:
    """Accepts digests and remembers them; ``failures`` are raised first, in order."""

    name: str = "console"
    posted: list[Digest] = field(default_factory=list)
    calls: list[tuple[Digest, bool]] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)

    async def post_digest(self, digest: Digest, *, resume: bool, **_hooks: object) -> None:
        self.calls.append((digest, resume))
        if self.failures:
            raise self.failures.pop(0)
        if resume and any(p.marker == digest.marker for p in self.posted):
            return  # found in the channel's history: nothing to post again
        self.posted.append(digest)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def platform() -> RecordingPlatform:
    return RecordingPlatform()


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def core(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock, platform: RecordingPlatform
) -> AsyncIterator[Paperpost]:
    # A module with ``pytestmark = pytest.mark.usefixtures("database_url")`` runs its
    # tests on both backends (tests/postgres.py); every other one on SQLite.
    url = (
        request.getfixturevalue("database_url") if "database_url" in request.fixturenames else None
    )
    app = await Paperpost.open(
        Config(data_dir=tmp_path / "data", database_url=url),
        source=BundledSnapshot(),
        clock=clock,
        outbox_sleep=no_sleep,
    )
    app.register_platform(platform)
    yield app
    app.close()


class Sleeps:
    """Records the waits instead of sleeping: tests assert what was waited, not how long."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackAPI]:
    """A loopback fake of the Slack Web API (tests/fakes/slack_api.py)."""
    async with FakeSlackAPI() as fake:
        yield fake
