"""The workspace's posting allowance is one schedule for every replica: slots booked by
several processes at once never overlap, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest

from paperpost.bot.catalog.store import Store
from paperpost.bot.delivery.shared_rate import SharedRate

INTERVAL = 0.01  # 100 posts per second for the workspace
BOOKINGS = 60


def test_replicas_booking_at_once_share_one_schedule(tmp_path: Path, database_url: str | None):
    # Defect caught: a booking that reads and writes the slot outside one locked
    # transaction (two replicas get the same slot: the workspace's rate multiplied).
    # Replicas on PostgreSQL each have a folder of their own; on SQLite they share one.
    folders = [f"r{i}" for i in range(3)] if database_url else ["shared"] * 3
    stores = [Store(tmp_path / folder, database_url) for folder in folders]
    now = 1_000.0
    slots: list[float] = []
    lock = threading.Lock()

    def replica(store: Store) -> None:
        rate = SharedRate(store.db, wall=lambda: now)
        for _ in range(BOOKINGS):
            wait = rate.book("slack:T1", interval=INTERVAL, burst=1)
            with lock:
                slots.append(now + wait)

    threads = [threading.Thread(target=replica, args=(s,)) for s in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for store in stores:
            store.close()
    slots.sort()
    assert len(slots) == 3 * BOOKINGS
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) == pytest.approx(INTERVAL)  # one schedule: every slot its own
    assert slots[-1] - slots[0] == pytest.approx(INTERVAL * (3 * BOOKINGS - 1))


def test_a_burst_goes_at_once_then_the_rate_holds(tmp_path: Path, database_url: str | None):
    with Store(tmp_path / "data", database_url) as store:
        clock = [500.0]
        rate = SharedRate(store.db, wall=lambda: clock[0])
        waits = [rate.book("slack:T2", interval=0.5, burst=3) for _ in range(5)]
        assert waits == [0.0, 0.0, 0.0, 0.5, 1.0]
        clock[0] += 60  # a quiet minute: the burst is back
        assert rate.book("slack:T2", interval=0.5, burst=3) == 0.0


async def test_two_processes_posting_to_one_workspace_draw_on_one_allowance(tmp_path: Path):
    # Defect caught: the Slack pacer booking the workspace's slots in memory (each
    # process takes the whole SLACK_POSTS_PER_SECOND: two processes post twice as fast).
    from types import SimpleNamespace

    from paperpost.adapters.slack.pacer import PostPacer
    from paperpost.adapters.slack.runtime import shared_allowance

    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    frozen = 2_000.0  # neither the booking clock nor the pacer's moves: only slots count
    stores = [Store(tmp_path / "data") for _ in range(2)]
    try:
        pacers = [
            PostPacer(10.0, burst=1, sleep=record, clock=lambda: frozen,
                      shared=shared_allowance(SimpleNamespace(  # type: ignore[arg-type]
                          allowances=SharedRate(store.db, wall=lambda: frozen)), "T1"))
            for store in stores
        ]  # fmt: skip
        for n in range(10):
            for i, pacer in enumerate(pacers):
                await pacer.wait(f"C{i}{n}")
    finally:
        for store in stores:
            store.close()
    # 20 posts at 10 per second between them: the last waits 1.9 s, not 0.9 s.
    assert max(waits) == pytest.approx(1.9)
