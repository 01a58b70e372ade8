"""Claims: one holder per channel's digest across processes, leases, takeovers; on
both storage backends (``database_url``: SQLite, then a throwaway PostgreSQL)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from paperpost.adapters.slack.client import build_client
from paperpost.adapters.slack.delivery import SlackPlatform
from paperpost.bot.app import Paperpost
from paperpost.bot.catalog.store import Store
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.delivery import claims as claims_module
from paperpost.bot.delivery.claims import ClaimLost, Claims, ClaimStatus
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.ledger import DeliveryState, Ledger, LedgerEntry
from paperpost.bot.delivery.outbox import Outcome
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.conftest import FakeClock, RecordingPlatform, no_sleep
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

CHANNEL = ChannelKey("slack", "T1", "C1")
DAY = date(2026, 8, 21)


class WallClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path, database_url: str | None) -> Store:
    with Store(tmp_path, database_url) as opened:
        yield opened  # type: ignore[misc]


def test_a_live_holder_keeps_the_claim_and_an_expired_lease_is_taken_over(store: Store) -> None:
    wall = WallClock()
    mine, theirs = Claims(store.db, wall_clock=wall), Claims(store.db, wall_clock=wall)
    assert mine.claim(CHANNEL, DAY).status is ClaimStatus.CLAIMED
    assert theirs.claim(CHANNEL, DAY).status is ClaimStatus.BUSY
    wall.now += claims_module.RENEW_SECONDS
    mine.renew(CHANNEL)  # renewing while posting keeps it
    wall.now += claims_module.LEASE_SECONDS - 1
    assert theirs.claim(CHANNEL, DAY).status is ClaimStatus.BUSY
    wall.now += 2  # the holder stopped renewing: its lease ran out
    assert theirs.claim(CHANNEL, DAY).status is ClaimStatus.CLAIMED
    with pytest.raises(ClaimLost):
        mine.renew(CHANNEL)  # the old holder learns before its next part


def test_a_dead_processs_claim_is_taken_over_at_once_and_resumed(store: Store) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    ledger = Ledger(store)
    entry = LedgerEntry(DeliveryState.POSTING, ("2608.00001",))
    ledger.record(CHANNEL, DAY, entry, now=FakeClock().now)
    gone = Claims(store.db)
    gone.holder = gone.holder.rsplit(":", 2)[0] + f":{dead.stdout.strip()}:0000"
    assert gone.claim(CHANNEL, DAY).status is ClaimStatus.CLAIMED
    claim = Claims(store.db).claim(CHANNEL, DAY)
    assert claim.status is ClaimStatus.CLAIMED and claim.resume  # look before posting


def test_a_finished_digest_is_never_claimed_again(store: Store) -> None:
    ledger, claims = Ledger(store), Claims(store.db)
    ledger.record(CHANNEL, DAY, LedgerEntry(DeliveryState.SENT), now=FakeClock().now)
    assert claims.claim(CHANNEL, DAY).status is ClaimStatus.DONE
    assert claims.claim(CHANNEL, date(2026, 8, 20), through=DAY).status is ClaimStatus.DONE
    # Planned before that digest went out: planned again, never posting Friday twice.
    assert claims.claim(CHANNEL, date(2026, 8, 24), through=None).status is ClaimStatus.STALE


def test_record_survives_another_process_unlisting_the_entry(store: Store) -> None:
    """The KeyError seen under races: ``del self._open[key]`` after another process
    deleted the key between the check and the delete."""

    class Vanishing(dict[str, bool]):
        def __contains__(self, key: object) -> bool:
            return True  # it was listed when we looked...

        def __delitem__(self, key: str) -> None:
            raise KeyError(key)  # ...and gone when we deleted it

    ledger = Ledger(store)
    ledger._open = Vanishing()  # type: ignore[assignment]
    store.commit = lambda *names: None  # type: ignore[method-assign]
    ledger.record(CHANNEL, DAY, LedgerEntry(DeliveryState.SENT), now=FakeClock().now)
    assert ledger.get(CHANNEL, DAY).state is DeliveryState.SENT  # type: ignore[union-attr]


async def test_a_takeover_between_parts_stops_the_old_holder(
    tmp_path: Path, database_url: str | None
) -> None:
    """The outbox re-checks its claim before each part: once another process holds
    the digest, the old holder posts nothing more."""
    async with FakeSlackAPI() as api:
        core = await Paperpost.open(
            Config(data_dir=tmp_path, database_url=database_url),
            source=BundledSnapshot(),
            clock=FakeClock(),
        )
        await core.handle(CHANNEL, "set threads on")
        core.channels.save(CHANNEL, core.channels.get(CHANNEL))
        other = Claims(core.store.db)

        class TakenOver(SlackPlatform):
            async def _post_missing(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                api.on_post = lambda _p: _steal(core, other) if len(api.posts) == 2 else None
                return await super()._post_missing(*args, **kwargs)

        client = build_client(BOT_TOKEN, base_url=api.url, sleep=no_sleep)
        core.register_platform(TakenOver(client, sleep=no_sleep))
        (delivery,) = await core.post_digests(day=DAY, channel=CHANNEL)
        core.close()
    assert delivery.outcome is Outcome.CLAIMED
    assert len(api.posts) == 2  # the list and one reply; then the claim was gone


def _steal(core: Paperpost, other: Claims) -> None:
    other._wall = lambda: 1e12  # type: ignore[method-assign]  # to it, the holder's lease ran out
    assert other.claim(CHANNEL, DAY).status is ClaimStatus.CLAIMED


async def test_the_sweep_and_a_batch_of_one_process_post_a_digest_once(
    tmp_path: Path, database_url: str | None
) -> None:
    """One process, one holder id: two of its deliveries of one channel at once
    (the catch-up sweep while a scheduled batch posts) still post once."""

    class Slow(RecordingPlatform):
        async def post_digest(self, digest: Digest, *, resume: bool, **_hooks: object) -> None:
            await asyncio.sleep(0.05)
            self.posted.append(digest)

    platform = Slow(name="slack")
    core = await Paperpost.open(
        Config(data_dir=tmp_path, database_url=database_url),
        source=BundledSnapshot(),
        clock=FakeClock(),
    )
    core.register_platform(platform)
    core.channels.save(CHANNEL, core.channels.get(CHANNEL))
    await asyncio.gather(core.catch_up(), core.post_digests(day=DAY))
    core.close()
    assert [d.day for d in platform.posted] == [DAY]


def test_a_fan_outs_bulk_progress_reads_what_one_channel_at_a_time_reads(store: Store) -> None:
    # Defect caught: the bulk read (one scan for a fan-out of 64 channels or more)
    # reading another channel's rows, the oldest row first, or missing a floor/pause.
    ledger, claims = Ledger(store), Claims(store.db)
    now = FakeClock().now
    channels = [ChannelKey("slack", "T1", f"C{n:03d}") for n in range(70)]
    for n, channel in enumerate(channels):
        if n % 5 == 1:
            ledger.record(channel, date(2026, 8, 20), LedgerEntry(DeliveryState.SENT), now=now)
        if n % 5 in (1, 2):  # an interrupted digest, after a finished one or alone
            entry = LedgerEntry(DeliveryState.POSTING, ("2608.00001",))
            ledger.record(channel, DAY, entry, now=now)
        if n % 5 == 3:
            claims.note_paused(channel, paused=True, latest_complete=DAY)
        if n % 5 == 4:
            claims.note_paused(channel, paused=True, latest_complete=date(2026, 8, 19))
            claims.note_paused(channel, paused=False, latest_complete=DAY)  # floor raised
    one_by_one = {c: claims.progress_of([c])[c] for c in channels}
    assert claims.progress_of(channels) == one_by_one
    assert len({repr(p) for p in one_by_one.values()}) >= 4  # the states differ: it means something
