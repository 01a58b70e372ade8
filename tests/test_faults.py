"""Faults from outside: a slow Hugging Face, platform 429 storms, bursts of
5xx, channels that are gone, and Hugging Face down for a whole day.

Orderings are shown with events and gates, never with timing thresholds: a
``wait_for`` guard only turns a deadlock (the thing under test going wrong)
into a failure instead of a hung run.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperpost.adapters.slack.client import build_client
from paperpost.adapters.slack.delivery import EVENT_TYPE, SlackPlatform
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL, ChannelKey
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.config import Config
from paperpost.bot.delivery import planner as planner_module
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.ledger import DeliveryState
from paperpost.bot.delivery.outbox import Outcome
from paperpost.bot.errors import DeliveryError
from paperpost.bot.papers.huggingface import HuggingFaceSource
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.conftest import FakeClock, no_sleep
from tests.fakes import slack_api
from tests.fakes.hf_server import FakeHFServer, Fault, load_days
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

STORED_DAY = date(2026, 8, 21)  # in the bundled snapshot: stored before any refresh
MISSING_DAY = date(2026, 8, 24)  # a Monday nobody has stored
GUARD = 30.0  # seconds before a deadlock is reported as one


REFRESH_LOGGER = "paperpost.bot.papers.refresh"


async def until(predicate, *, what: str) -> None:  # type: ignore[no-untyped-def]
    """Yield to the loop until ``predicate()`` holds (a deadlock guard, not a timing test)."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(poll(), GUARD)
    except TimeoutError:
        pytest.fail(f"never happened: {what}")


# -- Hugging Face is slow ------------------------------------------------------------------
@dataclass
class EventPlatform:
    """Accepts every digest and logs the moment in a shared event list."""

    events: list[str]
    name: str = "console"
    posted: list[Digest] = field(default_factory=list)

    async def post_digest(self, digest: Digest, *, resume: bool, **_hooks: object) -> None:
        self.posted.append(digest)
        self.events.append("digest posted")


@pytest.mark.parametrize(
    ("day", "expected"),
    [(STORED_DAY, Outcome.SENT), (MISSING_DAY, Outcome.WAITING)],
    ids=["stored-day-posts-stored-upvotes", "unstored-day-waits"],
)
async def test_search_is_answered_from_the_index_while_a_delivery_waits_on_hf(
    tmp_path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    day: date,
    expected: Outcome,
) -> None:
    events: list[str] = []
    platform = EventPlatform(events)
    with FakeHFServer(load_days()) as hf:
        hf.script(*Fault.hang_for(60, times=2), date=day)  # both attempts hang
        source = HuggingFaceSource(endpoint=hf.url, timeout=0.5, max_attempts=2, sleep=no_sleep)
        core = await Paperpost.open(
            Config(data_dir=tmp_path), source=source, clock=clock, outbox_sleep=no_sleep,
            fill_empty=True,  # online, an empty store is not seeded unless asked
        )  # fmt: skip
        core.register_platform(platform)
        stored = {p.id: p.upvotes for p in core.library.papers_on(day)}
        try:
            delivery = asyncio.create_task(core.post_digests(day=day, channel=CONSOLE_CHANNEL))
            delivery.add_done_callback(lambda _t: events.append("delivery finished"))
            await until(lambda: hf.requests_for(day), what="the refresh asked Hugging Face")
            events.append("hf is hanging")

            reply = await core.handle(CONSOLE_CHANNEL, "search agents")
            events.append("search answered")
            assert not delivery.done()  # the delivery is still waiting on Hugging Face

            (result,) = await asyncio.wait_for(delivery, GUARD)  # bounded: it finishes
        finally:
            await source.aclose()
            core.close()

    assert not reply.is_error and reply.papers
    assert events[:2] == ["hf is hanging", "search answered"]
    assert events[-1] == "delivery finished"
    assert len(hf.requests_for(day)) == 2  # max_attempts, then it gave up
    assert result.outcome is expected
    assert any(
        r.levelno == logging.ERROR and r.name == "paperpost.bot.papers.refresh"
        for r in caplog.records
    )
    if expected is Outcome.SENT:  # posted with the upvotes already stored
        (digest,) = platform.posted
        assert digest.entries
        assert all(e.paper.upvotes == stored[e.paper.id] for e in digest.entries)
        assert events.index("digest posted") > events.index("search answered")
    else:  # nothing to post yet: no empty digest, the ledger waits for the day
        assert platform.posted == []
        assert "timed out" in result.detail
        assert core_state(tmp_path, day) is DeliveryState.PENDING


def core_state(data_dir: Path, day: date) -> DeliveryState | None:
    from paperpost.bot.catalog.store import Store
    from paperpost.bot.delivery.ledger import Ledger

    with Store(data_dir) as store:
        entry = Ledger(store).get(CONSOLE_CHANNEL, day)
    return entry.state if entry else None


# -- platform storms: scripted per channel -------------------------------------------------
def slack_key(name: str) -> ChannelKey:
    return ChannelKey("slack", "T1", name)


HEALTHY = [slack_key(f"C0{i}") for i in range(7)]
TRANSIENT = [slack_key(f"C1{i}") for i in range(4)]
PERMANENT = {
    slack_key("C20"): "channel_not_found",
    slack_key("C21"): "not_in_channel",
    slack_key("C22"): "missing_scope",
}
RETRY_AFTER = 30.0


def transient_script() -> list[DeliveryError]:
    """A 429 storm, then a 5xx: four failures, so the fifth and last attempt posts."""
    rate_limited = DeliveryError("Slack refused: ratelimited", permanent=False,
                                 retry_after=RETRY_AFTER)  # fmt: skip
    return [rate_limited] * 3 + [DeliveryError("Slack refused: HTTP 503", permanent=False)]


@dataclass
class ScriptedPlatform:
    """Fails each channel as scripted, records every call and post in one event list."""

    scripts: dict[ChannelKey, list[DeliveryError]]
    healthy: set[ChannelKey]
    name: str = "slack"
    events: list[tuple[str, ChannelKey]] = field(default_factory=list)
    posted: list[Digest] = field(default_factory=list)
    calls: Counter[ChannelKey] = field(default_factory=Counter)
    healthy_done: asyncio.Event = field(default_factory=asyncio.Event)

    async def post_digest(self, digest: Digest, *, resume: bool, **_hooks: object) -> None:
        channel = digest.channel
        self.calls[channel] += 1
        script = self.scripts.get(channel)
        if script:
            self.events.append(("refused", channel))
            raise script.pop(0)
        if resume and any(p.marker == digest.marker for p in self.posted):
            return
        self.posted.append(digest)
        self.events.append(("posted", channel))
        if self.healthy <= {d.channel for d in self.posted}:
            self.healthy_done.set()


class GatedSleep:
    """The outbox's backoff: records each wait, and holds it until every healthy
    channel has its digest. If a retrying channel held the others up, the gate
    would never open: a deadlock, reported by the guard."""

    def __init__(self, gate: asyncio.Event, *, guard: float = GUARD) -> None:
        self.gate = gate
        self.guard = guard
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        try:
            await asyncio.wait_for(self.gate.wait(), self.guard)
        except TimeoutError:
            pytest.fail("a retrying channel stalled the healthy ones")


@pytest.fixture
async def storm_core(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Paperpost]:
    core = await Paperpost.open(Config(data_dir=tmp_path), source=BundledSnapshot(), clock=clock)
    yield core
    core.close()


async def test_storms_and_dead_channels_never_hold_up_healthy_ones(storm_core: Paperpost) -> None:
    core = storm_core
    scripts = {key: transient_script() for key in TRANSIENT}
    scripts |= {key: [DeliveryError(f"Slack refused: {code}", permanent=True)]
                for key, code in PERMANENT.items()}  # fmt: skip
    platform = ScriptedPlatform(scripts, healthy=set(HEALTHY))
    sleep = GatedSleep(platform.healthy_done)
    core.outbox._sleep = sleep  # the outbox's backoff (Paperpost.open takes outbox_sleep too)
    core.register_platform(platform)
    every = [*HEALTHY, *TRANSIENT, *PERMANENT]
    core.channels.save_many((key, ChannelSettings()) for key in every)

    deliveries = await asyncio.wait_for(core.post_digests(day=STORED_DAY), GUARD)

    outcomes = {d.channel: d.outcome for d in deliveries}
    assert outcomes == {
        **{k: Outcome.SENT for k in HEALTHY + TRANSIENT},
        **{k: Outcome.PAUSED for k in PERMANENT},
    }
    posts = Counter(d.channel for d in platform.posted)
    assert posts == Counter(HEALTHY + TRANSIENT)  # exactly one digest each
    assert all(platform.calls[k] == 1 for k in HEALTHY + list(PERMANENT))  # never retried
    assert all(platform.calls[k] == 5 for k in TRANSIENT)  # four refusals, then posted
    # Every healthy channel was served while the transient ones were still retrying.
    order = [(what, k) for what, k in platform.events if what == "posted"]
    last_healthy = max(i for i, (_, k) in enumerate(order) if k in HEALTHY)
    first_transient = min(i for i, (_, k) in enumerate(order) if k in TRANSIENT)
    assert last_healthy < first_transient
    # Retry-After was honoured: 3 waits of 30 s per transient channel, then backoff.
    assert sleep.waits.count(RETRY_AFTER) == 3 * len(TRANSIENT)
    assert len(sleep.waits) == 4 * len(TRANSIENT)

    for key, code in PERMANENT.items():
        settings = core.channels.get(key)
        assert settings.paused and code in (settings.paused_reason or "")
        shown = (await core.handle(key, "settings")).text
        assert "paused" in shown and code in shown
        assert core.ledger.get(key, STORED_DAY).state is DeliveryState.FAILED

    again = await core.post_digests(day=STORED_DAY)
    assert {d.outcome for d in again} == {Outcome.ALREADY_SENT}
    assert {d.channel for d in again} == set(HEALTHY + TRANSIENT)  # paused ones are skipped
    assert len(platform.posted) == len(HEALTHY + TRANSIENT)


async def test_a_storm_wider_than_the_delivery_pool_does_not_stall_healthy_channels(
    storm_core: Paperpost,
) -> None:
    """More rate-limited channels than DELIVERY_CONCURRENCY: their backoff waits
    must not hold every delivery slot while a healthy channel waits for one.
    (The guard here is short: every slot asleep at the gate is already a stall.)"""
    core = storm_core
    storm = [slack_key(f"A{i:03d}") for i in range(planner_module.DELIVERY_CONCURRENCY + 8)]
    healthy = [slack_key("Z999")]  # sorts last: planned after the whole storm
    platform = ScriptedPlatform({k: transient_script()[:1] for k in storm}, healthy=set(healthy))
    sleep = GatedSleep(platform.healthy_done, guard=2.0)
    core.outbox._sleep = sleep
    core.register_platform(platform)
    core.channels.save_many((key, ChannelSettings()) for key in storm + healthy)

    deliveries = await asyncio.wait_for(core.post_digests(day=STORED_DAY), GUARD)

    assert {d.outcome for d in deliveries} == {Outcome.SENT}
    assert Counter(d.channel for d in platform.posted) == Counter(storm + healthy)
    first_storm_post = next(i for i, (w, k) in enumerate(platform.events)
                            if w == "posted" and k in storm)  # fmt: skip
    assert platform.events.index(("posted", healthy[0])) < first_storm_post


# -- the same storms through the real Slack adapter and the loopback fake Slack --------------
async def test_slack_429_storm_5xx_burst_and_gone_channels(
    api: FakeSlackAPI, storm_core: Paperpost
) -> None:
    core = storm_core
    core.outbox._sleep = no_sleep
    client = build_client(BOT_TOKEN, base_url=api.url, sleep=no_sleep)
    core.register_platform(SlackPlatform(client, sleep=no_sleep))
    healthy = [slack_key(f"C0{i}") for i in range(9)]
    gone = [slack_key("C90"), slack_key("C91"), slack_key("C92")]
    for key in gone:
        api.missing(key.channel)
    core.channels.save_many((key, ChannelSettings()) for key in healthy + gone)
    SlackFault = slack_api.Fault
    api.fail(
        "chat.postMessage",
        *[SlackFault.rate_limited(1)] * 10,  # a storm: Retry-After 1 s, slept in the client
        SlackFault.server_error(posted=True),  # Slack posted it, then answered 500
        SlackFault.server_error(502),
        SlackFault.server_error(503, posted=True),
        *[SlackFault.rate_limited(900)] * 2,  # too long to wait inline: the outbox's business
        SlackFault.server_error(500),
    )

    deliveries = await asyncio.wait_for(core.post_digests(day=STORED_DAY), GUARD)

    outcomes = {d.channel: d.outcome for d in deliveries}
    assert outcomes == {**{k: Outcome.SENT for k in healthy},
                        **{k: Outcome.PAUSED for k in gone}}  # fmt: skip
    # (The fake applies a queued "posted, then 500" fault before it looks at the channel,
    # so a gone channel may hold a post no real Slack would have taken: count healthy ones.)
    ids = {k.channel for k in healthy}
    digests = [p for p in api.posts if p.metadata and p.metadata["event_type"] == EVENT_TYPE
               and p.channel in ids]  # fmt: skip
    assert Counter(p.channel for p in digests) == Counter(k.channel for k in healthy)
    assert not api._faults["chat.postMessage"]  # the whole storm was served
    for key in gone:
        shown = (await core.handle(key, "settings")).text
        assert "paused" in shown and "channel_not_found" in shown
    again = await core.post_digests(day=STORED_DAY)
    assert {d.outcome for d in again} == {Outcome.ALREADY_SENT}
    assert len([p for p in api.posts if p.metadata and p.channel in ids]) == len(digests)


# -- Hugging Face down for a whole day --------------------------------------------------------
async def test_hf_down_all_day_tells_the_operator_and_posts_nothing_until_it_returns(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """What test_digest_delivery's source-down test leaves out: the operator is
    told at ERROR level each time, for many channels the refresh is still one
    request per attempt, and no channel gets an empty digest."""
    channels = [slack_key(f"C{i}") for i in range(12)]
    posted: list[Digest] = []

    @dataclass
    class Recording:
        name: str = "slack"

        async def post_digest(self, digest: Digest, *, resume: bool, **_hooks: object) -> None:
            posted.append(digest)

    with FakeHFServer({}) as hf:
        hf.script(*Fault.server_error(503, times=1_000), date=MISSING_DAY)  # down all day
        source = HuggingFaceSource(endpoint=hf.url, sleep=no_sleep, max_attempts=2)
        core = await Paperpost.open(
            Config(data_dir=tmp_path), clock=clock, outbox_sleep=no_sleep, source=source
        )
        core.register_platform(Recording())
        core.channels.save_many((key, ChannelSettings()) for key in channels)
        try:
            for hour in (9, 10, 14, 23):  # the scheduled post, then the 10-minute sweeps
                clock.now = datetime(2026, 8, 24, hour, 0, tzinfo=UTC)
                caplog.clear()
                with caplog.at_level(logging.ERROR):
                    results = await core.post_digests(day=MISSING_DAY)
                assert {r.outcome for r in results} == {Outcome.WAITING}
                errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
                assert [r.name for r in errors] == [
                    "paperpost.bot.papers.refresh"
                ]  # once, not per channel
                assert getattr(errors[0], "day", None) == MISSING_DAY.isoformat()
                assert "503" in getattr(errors[0], "error", "")
            assert posted == []
            assert len(hf.requests_for(MISSING_DAY)) == 4 * 2  # 4 attempts x max_attempts

            hf.set_day(MISSING_DAY, load_days()["2026-08-21"])
            hf._faults.clear()  # the source is back
            clock.now = datetime(2026, 8, 25, 9, 0, tzinfo=UTC)
            await core.catch_up()
            await core.catch_up()
        finally:
            await source.aclose()
            core.close()
    assert Counter(d.channel for d in posted) == Counter(channels)
    assert all(d.day == MISSING_DAY and d.entries for d in posted)
