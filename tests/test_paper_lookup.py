"""Papers named by pasted links: the store first, else Hugging Face's paper API, else
arXiv's export API (both loopback fakes over real HTTP); at most one upstream lookup
per paper id per hour, across pastes and processes; untrusted answers checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.config import Config
from paperpost.bot.papers.links import paper_id_in, paper_urls
from paperpost.bot.papers.lookup import INTERVAL, LookupThrottle, PaperLookup
from paperpost.bot.papers.paper_api import UpstreamPapers
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.hf_server import FakeHFServer, load_day, paper_record

STORED = "2608.19880"  # in the bundled snapshot (2026-08-21)
UNKNOWN = "2609.00001"  # nowhere
OLDER = load_day("2026-02-23")[0]  # a real paper the bundled snapshot does not hold
OLDER_ID = OLDER["paper"]["id"]


@dataclass
class WallClock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hf() -> Iterator[FakeHFServer]:
    with FakeHFServer() as server:
        server.papers[OLDER_ID] = paper_record(OLDER)
        yield server


@pytest.fixture
async def arxiv() -> AsyncIterator[FakeArxiv]:
    async with FakeArxiv() as fake:
        yield fake


def upstream(hf: FakeHFServer, arxiv: FakeArxiv) -> UpstreamPapers:
    return UpstreamPapers(hf_endpoint=hf.url, arxiv_endpoint=arxiv.url, arxiv_spacing=0)


@pytest.fixture
async def core(tmp_path: Path, hf: FakeHFServer, arxiv: FakeArxiv) -> AsyncIterator[Paperpost]:
    app = await Paperpost.open(
        Config(data_dir=tmp_path / "data"), source=BundledSnapshot(), upstream=upstream(hf, arxiv)
    )
    yield app
    await app.aclose()


def lookups(hf: FakeHFServer, paper_id: str) -> int:
    return sum(r.path == f"/api/papers/{paper_id}" for r in hf.requests)


def test_every_link_form_names_the_paper() -> None:
    forms = [
        "https://arxiv.org/abs/2608.19880", "https://arxiv.org/pdf/2608.19880v2",
        "http://arxiv.org/pdf/2608.19880v2.pdf", "https://www.arxiv.org/abs/2608.19880v1#x",
        "https://export.arxiv.org/abs/2608.19880", "https://huggingface.co/papers/2608.19880",
        "https://hf.co/papers/2608.19880?context=x", "arxiv.org/html/2608.19880v3",
    ]  # fmt: skip
    assert [paper_id_in(url) for url in forms] == [STORED] * len(forms)
    assert paper_id_in("https://arxiv.org/abs/2608.198801") is None  # not a prefix match
    assert paper_id_in("https://example.org/abs/2608.19880") is None
    text = "see <https://arxiv.org/pdf/2608.19880v2> and https://huggingface.co/papers/2608.19880."
    assert paper_urls(text) == [
        "https://arxiv.org/pdf/2608.19880v2", "https://huggingface.co/papers/2608.19880"
    ]  # fmt: skip
    assert len(paper_urls(" ".join(f"arxiv.org/abs/2608.{n:05d}" for n in range(50)))) == 10


async def test_a_stored_paper_needs_no_upstream(core: Paperpost, hf: FakeHFServer) -> None:
    url = "https://arxiv.org/pdf/2608.19880v2"
    found = await core.papers_linked([url, "https://example.org/nothing"])
    assert list(found) == [url] and found[url].id == STORED
    assert hf.requests == []


async def test_an_unknown_paper_is_fetched_from_hf_stored_and_searchable(
    core: Paperpost, hf: FakeHFServer, arxiv: FakeArxiv
) -> None:
    url = f"https://huggingface.co/papers/{OLDER_ID}"
    found = await core.papers_linked([url])
    assert found[url].title == OLDER["paper"]["title"]
    assert found[url].featured_days  # Hugging Face says when it was featured
    assert lookups(hf, OLDER_ID) == 1 and arxiv.requests == []
    assert core.library.get(OLDER_ID) == found[url]
    assert [p.id for p in core.search(OLDER_ID, limit=1)] == [OLDER_ID]  # indexed
    assert (await core.papers_linked([url]))[url] == found[url]
    assert lookups(hf, OLDER_ID) == 1  # from the store now


async def test_arxiv_is_the_fallback_when_hf_does_not_know_it(
    core: Paperpost, hf: FakeHFServer, arxiv: FakeArxiv
) -> None:
    url = "https://arxiv.org/abs/2104.12255v1"  # the real recorded arXiv answer
    paper = (await core.papers_linked([url]))[url]
    assert (paper.id, paper.title, paper.authors) == ("2104.12255", "0", ("Quan Thoi Minh Nguyen",))
    assert paper.abstract.startswith("What is the funniest number in cryptography?")
    assert paper.featured_days == () and paper.upvotes == 0
    assert lookups(hf, "2104.12255") == 1 and arxiv.requests == ["2104.12255"]
    assert core.library.get("2104.12255") == paper


async def test_ten_pastes_make_one_lookup_and_a_miss_is_remembered_for_an_hour(
    tmp_path: Path, hf: FakeHFServer, arxiv: FakeArxiv
) -> None:
    app = await Paperpost.open(Config(data_dir=tmp_path / "data"), source=BundledSnapshot())
    clock = WallClock()
    lookup = PaperLookup(
        app.library, LookupThrottle(app.store.path, clock=clock), upstream(hf, arxiv)
    )
    url = f"https://arxiv.org/abs/{UNKNOWN}"
    try:
        together = await asyncio.gather(*(lookup.papers_linked([url]) for _ in range(10)))
        assert together == [{}] * 10  # unknown: no card
        for _ in range(10):
            assert await lookup.papers_linked([url]) == {}
        assert (lookups(hf, UNKNOWN), arxiv.requests) == (1, [UNKNOWN])
        clock.now += INTERVAL - 1
        await lookup.papers_linked([url])
        assert lookups(hf, UNKNOWN) == 1
        clock.now += 2  # an hour after the first lookup: it may be asked again
        await lookup.papers_linked([url])
        assert (lookups(hf, UNKNOWN), arxiv.requests) == (2, [UNKNOWN, UNKNOWN])
    finally:
        await lookup.aclose()
        await app.aclose()


async def test_processes_sharing_a_folder_look_a_paper_up_once(
    tmp_path: Path, hf: FakeHFServer, arxiv: FakeArxiv
) -> None:
    apps = [
        await Paperpost.open(Config(data_dir=tmp_path / "data"), source=BundledSnapshot(),
                             upstream=upstream(hf, arxiv))
        for _ in range(3)
    ]  # fmt: skip
    try:
        url = f"https://arxiv.org/abs/{UNKNOWN}"
        await asyncio.gather(*(app.papers_linked([url]) for app in apps for _ in range(3)))
        assert lookups(hf, UNKNOWN) == 1
        found = [await app.papers_linked([f"arxiv.org/abs/{OLDER_ID}"]) for app in apps]
        assert lookups(hf, OLDER_ID) == 1
        assert all(found)  # the others read what the first one stored
    finally:
        for app in apps:
            await app.aclose()


async def test_untrusted_answers_are_checked(
    core: Paperpost, hf: FakeHFServer, arxiv: FakeArxiv
) -> None:
    record = paper_record(OLDER)
    hf.papers["2609.00002"] = record  # answers another paper than the one asked for
    hf.papers["2609.00003"] = {**record, "id": "2609.00003", "upvotes": 10**30, "title": "  "}
    hf.papers["2609.00004"] = {**record, "id": "2609.00004", "upvotes": 10**30}
    arxiv.add("2609.00003", title="From arXiv", summary="Fallback.", authors=["A. Person"])
    found = await core.papers_linked(
        ["arxiv.org/abs/2609.00002", "arxiv.org/abs/2609.00003", "arxiv.org/abs/2609.00004"]
    )
    assert "arxiv.org/abs/2609.00002" not in found  # neither upstream has it
    assert found["arxiv.org/abs/2609.00003"].title == "From arXiv"  # HF's record had no title
    assert found["arxiv.org/abs/2609.00004"].upvotes == 10**9  # clamped, stored, indexable
    assert [p.id for p in core.search("2609.00004", limit=1)] == ["2609.00004"]


async def test_a_core_given_its_source_stays_offline(
    tmp_path: Path, hf: FakeHFServer, arxiv: FakeArxiv
) -> None:
    """``paperpost run --offline`` (and every test core): stored papers only."""
    config = Config(data_dir=tmp_path / "data", hf_endpoint=hf.url, arxiv_endpoint=arxiv.url)
    app = await Paperpost.open(config, source=BundledSnapshot())
    try:
        assert await app.papers_linked([f"https://arxiv.org/abs/{OLDER_ID}"]) == {}
        stored = await app.papers_linked(["https://arxiv.org/abs/2608.19880"])
        assert [p.id for p in stored.values()] == [STORED]
        assert hf.requests == [] and arxiv.requests == []
    finally:
        await app.aclose()


def test_arxiv_endpoint_comes_from_the_environment() -> None:
    assert Config.from_env({}).arxiv_endpoint == "https://export.arxiv.org"
    assert Config.from_env({"ARXIV_ENDPOINT": " http://127.0.0.1:9/ "}).arxiv_endpoint == (
        "http://127.0.0.1:9"
    )
