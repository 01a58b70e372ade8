"""sync_days: real HuggingFaceSource against the loopback fake, into a recording sink."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date

import pytest

from paperpost.bot.errors import SourceError, StoreError
from paperpost.bot.papers.huggingface import HuggingFaceSource
from paperpost.bot.papers.model import Paper
from paperpost.bot.papers.sync import SyncReport, days_in_range, sync_days
from tests.fakes.hf_server import OLDER_SCHEMA_DIR, FakeHFServer, Fault, as_day, load_day

pytest_plugins = ("tests.fakes.hf_server",)

MON, TUE, WED = date(2026, 5, 11), date(2026, 5, 12), date(2026, 5, 13)


class RecordingSink:
    """A DaySink that keeps what it was given, and on which thread."""

    def __init__(self, *, fail_on: date | None = None) -> None:
        self.stored: dict[date, list[Paper]] = {}
        self.threads: set[int] = set()
        self.fail_on = fail_on

    def add_day(self, day: date, papers: Sequence[Paper]) -> None:
        self.threads.add(threading.get_ident())
        if day == self.fail_on:
            raise StoreError("disk full")
        self.stored[day] = list(papers)


async def no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def week(hf_server: FakeHFServer) -> FakeHFServer:
    """Sat 2026-05-09 … Wed 2026-05-13: two empty weekend days, then three real days."""
    hf_server.set_day(MON, as_day(load_day("2026-04-06"), MON))
    hf_server.set_day(TUE, load_day("2026-05-12"))
    hf_server.set_day(WED, as_day(load_day("2026-03-30"), WED))
    return hf_server


@pytest.fixture
async def source(hf_server: FakeHFServer):
    async with HuggingFaceSource(endpoint=hf_server.url, sleep=no_sleep, max_attempts=2) as src:
        yield src


# -- days_in_range ----------------------------------------------------------------------
def test_days_in_range_is_inclusive():
    assert days_in_range(date(2026, 2, 27), date(2026, 3, 2)) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    assert days_in_range(TUE, TUE) == [TUE]


def test_days_in_range_refuses_a_backwards_range():
    with pytest.raises(ValueError, match="2026-05-13 > 2026-05-12"):
        days_in_range(WED, TUE)


# -- sync_days ------------------------------------------------------------------------------
async def test_syncs_a_week_and_skips_empty_days(week, source):
    sink, progress = RecordingSink(), []

    report = await sync_days(
        source,
        sink,
        days_in_range(date(2026, 5, 9), WED),
        on_day=lambda d, n: progress.append((d, n)),
    )

    assert report == SyncReport(
        days=tuple(days_in_range(date(2026, 5, 9), WED)), papers=8 + 50 + 8, failed=()
    )
    assert report.ok and report.synced == report.days
    assert list(sink.stored) == [MON, TUE, WED]  # no add_day for the weekend
    assert {p.id for p in sink.stored[TUE]} == {i["paper"]["id"] for i in load_day("2026-05-12")}
    assert all(p.featured_days == (MON,) for p in sink.stored[MON])
    assert progress == [
        (date(2026, 5, 9), 0),
        (date(2026, 5, 10), 0),
        (MON, 8),
        (TUE, 50),
        (WED, 8),
    ]


async def test_the_sink_runs_in_a_worker_thread(week, source):
    sink = RecordingSink()
    await sync_days(source, sink, [TUE])
    assert sink.threads and threading.get_ident() not in sink.threads


async def test_a_failing_day_does_not_stop_the_others_and_stores_nothing(week, source):
    week.script(Fault.server_error(503, times=2), date=MON)  # exhausts max_attempts=2
    week.script(Fault.malformed_json(), date=WED)
    sink, progress = RecordingSink(), []

    report = await sync_days(
        source, sink, [MON, TUE, WED], on_day=lambda d, n: progress.append((d, n))
    )

    assert report.days == (MON, TUE, WED)
    assert report.synced == (TUE,)
    assert report.papers == 50
    assert [day for day, _ in report.failed] == [MON, WED]
    assert "2026-05-11" in report.failed[0][1] and "HTTP 503" in report.failed[0][1]
    assert "malformed JSON" in report.failed[1][1]
    assert not report.ok
    assert list(sink.stored) == [TUE]
    assert progress == [(MON, 0), (TUE, 50), (WED, 0)]


async def test_a_day_failing_on_its_second_page_stores_nothing(week, source):
    names = ("2026-02-23", "2026-03-30", "2026-04-06", "2026-05-12", "2026-07-15")
    items = [item for name in names for item in load_day(name)]
    items += load_day("2024-06-12", OLDER_SCHEMA_DIR) + load_day("2025-03-17", OLDER_SCHEMA_DIR)
    items = as_day(items, TUE)
    assert len(items) > 100
    week.set_day(TUE, items)
    week.script(Fault.wrong_shape(), date=TUE, page=1)
    sink = RecordingSink()

    report = await sync_days(source, sink, [MON, TUE, WED])

    assert [day for day, _ in report.failed] == [TUE]
    assert list(sink.stored) == [MON, WED]
    assert [r.page for r in week.requests_for(TUE)] == [0, 1]


async def test_older_schema_days_sync(hf_server, source):
    old, newer = date(2024, 6, 12), date(2025, 3, 17)
    hf_server.set_day(old, load_day(old, OLDER_SCHEMA_DIR))
    hf_server.set_day(newer, load_day(newer, OLDER_SCHEMA_DIR))
    sink = RecordingSink()

    report = await sync_days(source, sink, [old, newer])

    assert report.papers == 16 + 12 and report.ok
    assert [len(sink.stored[d]) for d in (old, newer)] == [16, 12]


async def test_a_broken_store_stops_the_sync(week, source):
    sink = RecordingSink(fail_on=TUE)
    with pytest.raises(StoreError):
        await sync_days(source, sink, [MON, TUE, WED])
    assert list(sink.stored) == [MON]


async def test_any_day_source_will_do():
    class Source:
        async def fetch_day(self, day: date) -> list[Paper]:
            if day == TUE:
                raise SourceError("Hugging Face rejected the date 2026-05-12 (HTTP 400)")
            return []

    report = await sync_days(Source(), RecordingSink(), [MON, TUE])

    assert report.synced == (MON,)
    assert report == SyncReport(
        days=(MON, TUE),
        papers=0,
        failed=((TUE, "Hugging Face rejected the date 2026-05-12 (HTTP 400)"),),
    )
