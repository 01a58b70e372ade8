"""One paper by arXiv id, from upstream: Hugging Face's paper API, else arXiv's.

    GET {HF_ENDPOINT}/api/papers/{id}                 (404 when HF does not know it)
    GET {ARXIV_ENDPOINT}/api/query?id_list={id}       (Atom; no entry when unknown)

One attempt each, short timeouts, no retries: a lookup serves a pasted link, and
the caller remembers a miss for an hour anyway. Answers are untrusted: the record
is validated like a daily-papers item, and must name the paper asked for. arXiv
asks for one request at a time, at most one every 3 seconds: calls to it are
serialised and spaced. Failures are logged and give ``None``, never raise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from paperpost.bot.errors import SourceFormatError
from paperpost.bot.papers.arxiv_atom import arxiv_records
from paperpost.bot.papers.huggingface import USER_AGENT
from paperpost.bot.papers.model import Paper, paper_from_hf_paper

log = logging.getLogger(__name__)

TIMEOUT = 8.0
ARXIV_SPACING = 3.0  # seconds between two arXiv requests (its API terms)


class UpstreamPapers:
    def __init__(
        self,
        *,
        hf_endpoint: str,
        arxiv_endpoint: str,
        hf_token: str | None = None,
        timeout: float = TIMEOUT,
        arxiv_spacing: float = ARXIV_SPACING,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._hf = hf_endpoint.rstrip("/")
        self._arxiv = arxiv_endpoint.rstrip("/")
        self._token = hf_token
        self._timeout = httpx.Timeout(timeout)
        self._spacing = arxiv_spacing
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None  # made at the first lookup
        self._arxiv_turn = asyncio.Lock()
        self._arxiv_last = float("-inf")

    def __repr__(self) -> str:  # never shows the token
        return f"<UpstreamPapers hf={self._hf!r} arxiv={self._arxiv!r}>"

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def fetch(self, paper_id: str) -> Paper | None:
        """The paper, or ``None`` when neither knows it (or neither answered)."""
        return await self._from_hf(paper_id) or await self._from_arxiv(paper_id)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers={"User-Agent": USER_AGENT}, timeout=self._timeout, follow_redirects=True
            )
        return self._client

    async def _get(self, url: str, **options: Any) -> httpx.Response | None:
        try:
            return await self._http().get(url, **options)
        except httpx.HTTPError as exc:
            log.warning("paper lookup: %s failed: %s", url.split("?")[0], type(exc).__name__)
            return None

    async def _from_hf(self, paper_id: str) -> Paper | None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        response = await self._get(f"{self._hf}/api/papers/{paper_id}", headers=headers)
        if response is None or response.status_code == 404:
            return None
        if response.status_code != 200:
            log.warning("paper lookup %s: Hugging Face answered %d", paper_id, response.status_code)
            return None
        try:
            return _checked(paper_from_hf_paper(response.json()), paper_id, "Hugging Face")
        except (ValueError, SourceFormatError) as exc:  # JSON errors are ValueErrors
            log.warning("paper lookup %s: unusable Hugging Face record: %s", paper_id, exc)
            return None

    async def _from_arxiv(self, paper_id: str) -> Paper | None:
        async with self._arxiv_turn:
            wait = self._arxiv_last + self._spacing - time.monotonic()
            if wait > 0:
                await self._sleep(wait)
            try:
                response = await self._get(
                    f"{self._arxiv}/api/query", params={"id_list": paper_id, "max_results": "1"}
                )
            finally:
                self._arxiv_last = time.monotonic()
        if response is None or response.status_code != 200:
            if response is not None:
                log.info("paper lookup %s: arXiv answered %d", paper_id, response.status_code)
            return None
        for record in arxiv_records(response.content):
            try:
                paper = _checked(paper_from_hf_paper(record), paper_id, "arXiv")
            except SourceFormatError as exc:
                log.warning("paper lookup %s: unusable arXiv entry: %s", paper_id, exc)
                continue
            if paper is not None:
                return paper
        return None


def _checked(paper: Paper, paper_id: str, where: str) -> Paper | None:
    if paper.id != paper_id:  # an upstream that answers another paper is not trusted
        log.warning("paper lookup %s: %s answered paper %s instead", paper_id, where, paper.id)
        return None
    return paper
