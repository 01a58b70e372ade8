"""HuggingFaceSource against the loopback fake HF API, over real HTTP."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from paperpost.bot.errors import SourceError, SourceFormatError
from paperpost.bot.papers.huggingface import HuggingFaceSource
from tests.fakes.hf_server import (
    OLDER_SCHEMA_DIR,
    FakeHFServer,
    Fault,
    RecordedRequest,
    as_day,
    load_day,
)

pytest_plugins = ("tests.fakes.hf_server",)

DAY = date(2026, 5, 12)  # the archived day cut at exactly 50 items
TOKEN = "hf_secretTOKEN0123456789abcdef"


class SleepRecorder:
    """Stands in for asyncio.sleep: records the delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def source(hf_server: FakeHFServer, sleeps: SleepRecorder):
    async with HuggingFaceSource(endpoint=hf_server.url, sleep=sleeps, timeout=5) as src:
        yield src


# Real days this module relies on (others may be added to tests/data by other suites).
REAL_DAYS = ("2026-02-23", "2026-03-30", "2026-04-06", "2026-05-12", "2026-07-15")
OLDER_DAYS = ("2024-06-12", "2025-03-17")


def all_real_items(day: date) -> list[dict]:
    """102 distinct real papers (seven real days, both schemas), re-dated to ``day``."""
    items = [item for name in REAL_DAYS for item in load_day(name)]
    items += [item for name in OLDER_DAYS for item in load_day(name, OLDER_SCHEMA_DIR)]
    return as_day(items, day)


def pages(requests: list[RecordedRequest]) -> list[int | None]:
    return [r.page for r in requests]


# -- the happy path -----------------------------------------------------------------------
async def test_fetches_a_real_day_with_one_request(hf_server, source):
    hf_server.set_day("2026-07-15", load_day("2026-07-15"))

    papers = await source.fetch_day(date(2026, 7, 15))

    assert [p.id for p in papers] == [i["paper"]["id"] for i in load_day("2026-07-15")]
    assert all(p.featured_days == (date(2026, 7, 15),) for p in papers)
    [request] = hf_server.requests
    assert request.path == "/api/daily_papers"
    assert request.query == {"date": "2026-07-15", "limit": "100", "p": "0"}
    assert request.headers["user-agent"].startswith("paperpost/")
    assert "authorization" not in request.headers


async def test_the_day_cut_at_fifty_is_fetched_whole_with_limit_100(hf_server, source):
    items = load_day(DAY)
    assert len(items) == 50
    hf_server.set_day(DAY, items)

    papers = await source.fetch_day(DAY)

    assert len(papers) == 50
    assert [r.query["limit"] for r in hf_server.requests] == ["100"]
    assert pages(hf_server.requests) == [0]


async def test_a_day_above_the_default_page_size_is_not_cut(hf_server, source):
    # The fake, like HF, answers 50 items without a limit; the source asks for 100.
    items = as_day(load_day(DAY) + load_day("2026-03-30"), DAY)
    hf_server.set_day(DAY, items)
    default_page = httpx.get(f"{hf_server.url}/api/daily_papers", params={"date": "2026-05-12"})
    assert len(default_page.json()) == 50

    papers = await source.fetch_day(DAY)

    assert len(papers) == 58


async def test_pages_until_a_short_page(hf_server, source):
    items = all_real_items(DAY)
    assert len(items) == 102
    hf_server.set_day(DAY, items)

    papers = await source.fetch_day(DAY)

    assert sorted(p.id for p in papers) == sorted(i["paper"]["id"] for i in items)
    assert pages(hf_server.requests) == [0, 1]
    assert all(p.featured_days == (DAY,) for p in papers)


async def test_pages_zero_one_two(hf_server, sleeps):
    items = all_real_items(DAY)
    hf_server.set_day(DAY, items)

    async with HuggingFaceSource(endpoint=hf_server.url, sleep=sleeps, page_size=50) as source:
        papers = await source.fetch_day(DAY)

    assert len(papers) == 102
    assert pages(hf_server.requests) == [0, 1, 2]
    assert {r.query["limit"] for r in hf_server.requests} == {"50"}


async def test_a_paper_on_two_pages_is_one_paper(hf_server, sleeps):
    # Upvotes moved between two page requests: the 50th paper shows up again on page 1.
    items = as_day(load_day(DAY), DAY)
    moved = as_day([items[49]], DAY)[0]
    moved["paper"]["upvotes"] += 10
    hf_server.set_day(DAY, [*items, moved])

    async with HuggingFaceSource(endpoint=hf_server.url, sleep=sleeps, page_size=50) as source:
        papers = await source.fetch_day(DAY)

    assert len(papers) == 50
    [paper] = [p for p in papers if p.id == moved["paper"]["id"]]
    assert paper.upvotes == moved["paper"]["upvotes"]
    assert pages(hf_server.requests) == [0, 1]


async def test_a_server_ignoring_p_does_not_loop(hf_server, sleeps, caplog):
    hf_server.set_day(DAY, all_real_items(DAY)[:100])  # exactly one full page
    hf_server.ignore_paging = True

    with caplog.at_level(logging.WARNING, logger="paperpost.bot.papers.huggingface"):
        papers = await HuggingFaceSource(endpoint=hf_server.url, sleep=sleeps).fetch_day(DAY)

    assert len(papers) == 100
    assert pages(hf_server.requests) == [0, 1]
    assert "repeats" in caplog.text


async def test_endless_full_pages_give_up_with_a_format_error(hf_server, sleeps):
    template = load_day("2026-07-15")[0]

    def endless(request: RecordedRequest) -> tuple[int, list]:
        item = as_day([template], DAY)[0]
        item["paper"]["id"] = f"2605.{request.page:05d}"
        return 200, [item]

    hf_server.route("/api/daily_papers", endless)
    source = HuggingFaceSource(endpoint=hf_server.url, sleep=sleeps, page_size=1)

    with pytest.raises(SourceFormatError, match="2026-05-12"):
        await source.fetch_day(DAY)
    assert len(hf_server.requests) == 50


async def test_older_schema_days_parse(hf_server, source):
    for name in OLDER_DAYS:
        hf_server.set_day(name, load_day(name, OLDER_SCHEMA_DIR))

    old = await source.fetch_day(date(2024, 6, 12))
    newer = await source.fetch_day(date(2025, 3, 17))

    assert len(old) == 16 and len(newer) == 12
    assert all(p.featured_days == (date(2024, 6, 12),) for p in old)  # no submittedOnDailyAt
    assert all(p.featured_days == (date(2025, 3, 17),) for p in newer)
    assert all(p.title and p.authors for p in old + newer)


async def test_a_day_without_papers_is_empty(hf_server, source):
    assert await source.fetch_day(date(2026, 5, 16)) == []  # a Saturday
    assert pages(hf_server.requests) == [0]


# -- retries ------------------------------------------------------------------------------
async def test_429_honours_retry_after_seconds(hf_server, source, sleeps):
    hf_server.set_day(DAY, load_day(DAY))
    hf_server.script(Fault.rate_limited(retry_after=7), date=DAY)

    papers = await source.fetch_day(DAY)

    assert len(papers) == 50
    assert sleeps.delays == [7.0]
    assert len(hf_server.requests) == 2


async def test_429_retry_after_is_capped(hf_server, sleeps):
    hf_server.set_day(DAY, load_day(DAY))
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    hf_server.script(Fault.rate_limited(retry_after=later), Fault.rate_limited(retry_after=3600))
    source = HuggingFaceSource(endpoint=hf_server.url, sleep=sleeps, max_retry_after=30)

    assert len(await source.fetch_day(DAY)) == 50
    assert sleeps.delays == [30.0, 30.0]


async def test_429_http_date_in_the_past_means_no_wait(hf_server, source, sleeps):
    hf_server.set_day(DAY, load_day(DAY))
    hf_server.script(Fault.rate_limited(retry_after="Wed, 21 Oct 2015 07:28:00 GMT"))

    assert len(await source.fetch_day(DAY)) == 50
    assert sleeps.delays == [0.0]


async def test_429_without_retry_after_uses_ratelimit_header_or_backoff(hf_server, source, sleeps):
    hf_server.set_day(DAY, load_day(DAY))
    hf_server.script(
        Fault.rate_limited(retry_after=None, headers={"RateLimit": '"api";r=0;t=12'}),
        Fault.rate_limited(retry_after=None),
    )

    assert len(await source.fetch_day(DAY)) == 50
    assert sleeps.delays[0] == 12.0
    assert 1.0 <= sleeps.delays[1] <= 1.5  # second attempt's backoff: 0.5 * 2 + jitter


async def test_500_then_success_backs_off_exponentially(hf_server, source, sleeps, caplog):
    hf_server.set_day(DAY, load_day(DAY))
    hf_server.script(Fault.server_error(500, times=2), date=DAY)

    with caplog.at_level(logging.WARNING, logger="paperpost.bot.papers.huggingface"):
        papers = await source.fetch_day(DAY)

    assert len(papers) == 50
    assert len(hf_server.requests) == 3
    first, second = sleeps.delays
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 1.5
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "2026-05-12" in warnings[0] and "500" in warnings[0] and "attempt 1/5" in warnings[0]
    assert "attempt 2/5" in warnings[1]


async def test_persistent_5xx_gives_up_naming_the_day_and_cause(hf_server, sleeps):
    hf_server.set_day(DAY, load_day(DAY))
    hf_server.script(Fault.server_error(503, times=10))
    source = HuggingFaceSource(endpoint=hf_server.url, sleep=sleeps, max_attempts=3)

    with pytest.raises(SourceError) as info:
        await source.fetch_day(DAY)

    assert not isinstance(info.value, SourceFormatError)
    assert "2026-05-12" in str(info.value) and "HTTP 503" in str(info.value)
    assert len(hf_server.requests) == 3
    assert len(sleeps.delays) == 2


async def test_timeout_then_success(hf_server, sleeps):
    hf_server.set_day(DAY, load_day(DAY))
    hf_server.script(Fault.hang_for(10))
    source = HuggingFaceSource(endpoint=hf_server.url, sleep=sleeps, timeout=0.2)

    papers = await source.fetch_day(DAY)

    assert len(papers) == 50
    assert len(hf_server.requests) == 2
    assert len(sleeps.delays) == 1


async def test_timeouts_every_time_name_the_cause(hf_server, sleeps):
    hf_server.script(Fault.hang_for(10, times=2))
    source = HuggingFaceSource(endpoint=hf_server.url, sleep=sleeps, timeout=0.2, max_attempts=2)

    with pytest.raises(SourceError, match=r"2026-05-12.*timed out"):
        await source.fetch_day(DAY)


async def test_dropped_connection_then_success(hf_server, source, sleeps):
    hf_server.set_day(DAY, load_day(DAY))
    hf_server.script(Fault.disconnected())

    assert len(await source.fetch_day(DAY)) == 50
    assert len(sleeps.delays) == 1


async def test_connection_refused_is_retried_then_reported(sleeps):
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = HuggingFaceSource(endpoint=f"http://127.0.0.1:{port}", sleep=sleeps, max_attempts=2)

    with pytest.raises(SourceError, match=r"2026-05-12.*connection error"):
        await source.fetch_day(DAY)
    assert len(sleeps.delays) == 1
    await source.aclose()


# -- failures that are not retried ------------------------------------------------------------
async def test_malformed_json_is_a_format_error(hf_server, source, sleeps):
    hf_server.script(Fault.malformed_json())

    with pytest.raises(SourceFormatError, match="malformed JSON for 2026-05-12"):
        await source.fetch_day(DAY)
    assert len(hf_server.requests) == 1 and sleeps.delays == []


async def test_an_object_instead_of_a_list_is_a_format_error(hf_server, source):
    hf_server.script(Fault.wrong_shape())

    with pytest.raises(SourceFormatError, match="2026-05-12"):
        await source.fetch_day(DAY)


async def test_a_bad_item_is_skipped_and_logged_the_rest_of_the_day_kept(hf_server, source, caplog):
    items = load_day(DAY)
    bad_id = items[10]["paper"].pop("id")
    hf_server.set_day(DAY, items)

    with caplog.at_level(logging.WARNING, logger="paperpost.bot.papers.model"):
        papers = await source.fetch_day(DAY)

    assert len(papers) == 49 and bad_id not in {p.id for p in papers}
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "2026-05-12" in warning and "item 10" in warning and "paper id" in warning


async def test_a_day_of_only_bad_items_fails_rather_than_looking_empty(hf_server, source):
    hf_server.set_day(DAY, [{"paper": {"id": 123}}, {"paper": "x"}])

    with pytest.raises(SourceFormatError, match="2026-05-12: none of the 2 items"):
        await source.fetch_day(DAY)


async def test_malformed_second_page_returns_nothing_of_the_day(hf_server, source):
    hf_server.set_day(DAY, all_real_items(DAY))
    hf_server.script(Fault.malformed_json(), date=DAY, page=1)

    with pytest.raises(SourceFormatError, match="2026-05-12"):
        await source.fetch_day(DAY)
    assert pages(hf_server.requests) == [0, 1]


async def test_400_names_the_rejected_date(hf_server, source, sleeps):
    hf_server.script(Fault.reply(400, {"error": "Invalid date"}))

    with pytest.raises(SourceError) as info:
        await source.fetch_day(DAY)

    assert str(info.value) == "Hugging Face rejected the date 2026-05-12 (HTTP 400: Invalid date)"
    assert len(hf_server.requests) == 1 and sleeps.delays == []


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_other_4xx_are_not_retried(hf_server, source, sleeps, status):
    hf_server.script(Fault.reply(status, {"error": "nope"}))

    with pytest.raises(SourceError, match=rf"2026-05-12 \(HTTP {status}"):
        await source.fetch_day(DAY)
    assert len(hf_server.requests) == 1 and sleeps.delays == []


def test_the_fake_rejects_an_invalid_date_like_hf(hf_server):
    answer = httpx.get(f"{hf_server.url}/api/daily_papers", params={"date": "2026-13-01"})
    assert answer.status_code == 400


# -- the token ----------------------------------------------------------------------------
async def test_token_is_sent_as_bearer_and_never_shown(hf_server, sleeps, caplog):
    hf_server.set_day(DAY, load_day(DAY))
    hf_server.script(Fault.server_error(times=2), Fault.rate_limited(retry_after=1))
    hf_server.script(Fault.server_error(times=5), date="2026-05-13")

    with caplog.at_level(logging.DEBUG):
        source = HuggingFaceSource(endpoint=hf_server.url, token=TOKEN, sleep=sleeps)
        assert len(await source.fetch_day(DAY)) == 50
        with pytest.raises(SourceError) as info:
            await source.fetch_day(date(2026, 5, 13))
        await source.aclose()

    assert {r.headers["authorization"] for r in hf_server.requests} == {f"Bearer {TOKEN}"}
    assert caplog.records  # the retries were logged...
    assert TOKEN not in caplog.text  # ...without the token
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert TOKEN not in repr(source) and "token=set" in repr(source)


def test_from_env_reads_endpoint_and_token():
    source = HuggingFaceSource.from_env({"HF_ENDPOINT": "http://mirror.test/", "HF_TOKEN": TOKEN})
    assert source.endpoint == "http://mirror.test"
    assert "token=set" in repr(source)

    default = HuggingFaceSource.from_env({"HF_TOKEN": "  "}, max_attempts=2)
    assert default.endpoint == "https://huggingface.co"
    assert "token=none" in repr(default) and default.max_attempts == 2


async def test_from_env_token_reaches_the_server(hf_server):
    env = {"HF_ENDPOINT": hf_server.url, "HF_TOKEN": TOKEN}
    async with HuggingFaceSource.from_env(env) as source:
        await source.fetch_day(DAY)
    assert hf_server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


# -- client ownership -----------------------------------------------------------------------
async def test_a_shared_client_is_left_open(hf_server):
    hf_server.set_day(DAY, load_day("2026-07-15"))
    async with httpx.AsyncClient() as client:
        async with HuggingFaceSource(endpoint=hf_server.url, client=client) as source:
            assert len(await source.fetch_day(DAY)) == 2
        assert not client.is_closed


async def test_its_own_client_is_closed():
    source = HuggingFaceSource()
    await source.aclose()
    assert source._client.is_closed


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError):
        HuggingFaceSource(max_attempts=0)
    with pytest.raises(ValueError):
        HuggingFaceSource(page_size=101)
