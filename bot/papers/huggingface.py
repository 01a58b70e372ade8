"""Hugging Face Daily Papers over HTTP: one day in, a list of ``Paper`` out.

``GET {endpoint}/api/daily_papers?date=YYYY-MM-DD&limit=100&p=N`` pages from
``p=0`` until a page shorter than the page size. Transient failures (timeouts,
connection errors, 429, 5xx) are retried with exponential backoff and jitter;
429 honours ``Retry-After``. Anything else fails the whole day: a day is
returned complete or not at all, so callers never store half a day. Items are
untrusted and checked one by one (``papers_from_hf_day``): a malformed item is
logged and skipped, the rest of its day kept.

    async with HuggingFaceSource(endpoint=config.hf_endpoint, token=config.hf_token) as hf:
        papers = await hf.fetch_day(date(2026, 5, 12))
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import Any

import httpx

from paperpost.bot.errors import SourceError, SourceFormatError
from paperpost.bot.papers.model import Paper, papers_from_hf_day

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
MAX_PAGE_SIZE = 100  # the API's own cap on ``limit``
MAX_PAGES = 50  # 5,000 papers a day: far above anything real; guards a looping server

try:
    _VERSION = metadata.version("paperpost")
except metadata.PackageNotFoundError:  # running from a source tree
    _VERSION = "0"
USER_AGENT = f"paperpost/{_VERSION} (Hugging Face Daily Papers bot; httpx/{httpx.__version__})"

_RATELIMIT_RESET_RE = re.compile(r"(?:^|[;,\s])t=(\d+)")


class HuggingFaceSource:
    """Fetches days of Hugging Face Daily Papers.

    ``client`` may be shared; it is then never closed here. ``sleep`` is the
    coroutine used between retries (tests pass one that records the delays).
    ``page_size`` is the ``limit`` asked for (1..100; keep 100 outside tests).
    """

    def __init__(
        self,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        token: str | None = None,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self.endpoint = (endpoint.strip() or DEFAULT_ENDPOINT).rstrip("/")
        self._token = token or None
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(follow_redirects=True)
        self._timeout = httpx.Timeout(timeout)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.max_retry_after = max_retry_after
        self.page_size = page_size
        self._sleep = sleep
        self._random = random.Random()

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kw: Any) -> HuggingFaceSource:
        """Build from ``HF_ENDPOINT`` and ``HF_TOKEN`` in ``env`` (a mapping the caller
        passes: the process environment is read by ``bot.config`` only)."""
        kw.setdefault("endpoint", env.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT)
        kw.setdefault("token", env.get("HF_TOKEN", "").strip() or None)
        return cls(**kw)

    def __repr__(self) -> str:  # never shows the token
        token = "set" if self._token else "none"
        return f"<HuggingFaceSource endpoint={self.endpoint!r} token={token}>"

    # -- lifecycle -----------------------------------------------------------
    async def aclose(self) -> None:
        """Close the HTTP client if this source created it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> HuggingFaceSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- fetching ------------------------------------------------------------
    async def fetch_day(self, day: date) -> list[Paper]:
        """All papers featured on ``day``, every page merged.

        Raises ``SourceError`` (after retries, or on a refused request) or
        ``SourceFormatError`` (the answer is not a list, or none of its items is usable).
        An empty list means the day has no papers (weekends, holidays).
        """
        items: list[Any] = []
        seen: set[str] = set()
        for page in range(MAX_PAGES):
            data = await self._get_page(day, page)
            if not isinstance(data, list):
                raise SourceFormatError(
                    f"Hugging Face sent {type(data).__name__} instead of a list of papers "
                    f"for {day} (page {page})"
                )
            ids = _item_ids(data)
            if page > 0 and ids and ids <= seen and len(data) >= self.page_size:
                # A full page of papers we already have: the server ignores ``p``.
                log.warning("HF daily_papers %s: page %d repeats earlier ones; stopping", day, page)
                break
            seen |= ids
            items.extend(data)
            if len(data) < self.page_size:
                break
        else:
            raise SourceFormatError(
                f"Hugging Face kept sending full pages for {day} ({MAX_PAGES} pages); giving up"
            )
        return papers_from_hf_day(items, requested_day=day)

    async def _get_page(self, day: date, page: int) -> Any:
        url = f"{self.endpoint}/api/daily_papers"
        params = {"date": day.isoformat(), "limit": str(self.page_size), "p": str(page)}
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        cause = "no attempt made"
        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            status: int | str
            try:
                response = await self._client.get(
                    url, params=params, headers=headers, timeout=self._timeout
                )
            except httpx.TimeoutException as exc:
                status, cause = "timeout", f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                status, cause = "network", f"connection error ({self._describe(exc)})"
            except httpx.RequestError as exc:  # decoding, redirects: retrying will not help
                raise SourceError(
                    f"could not fetch Hugging Face papers for {day}: {self._describe(exc)}"
                ) from None
            else:
                status = response.status_code
                if status == 200:
                    try:
                        return response.json()
                    except ValueError:
                        raise SourceFormatError(
                            f"Hugging Face sent malformed JSON for {day} (page {page})"
                        ) from None
                if status == 429:
                    cause = "HTTP 429 (rate limited)"
                    retry_after = self._retry_after(response)
                elif status >= 500:
                    cause = f"HTTP {status}"
                elif status == 400:
                    raise SourceError(
                        f"Hugging Face rejected the date {day} (HTTP 400{self._detail(response)})"
                    )
                else:
                    raise SourceError(
                        f"Hugging Face refused the papers of {day} "
                        f"(HTTP {status}{self._detail(response)})"
                    )
            if attempt == self.max_attempts:
                break
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            log.warning(
                "HF daily_papers %s page %d: %s (status %s), attempt %d/%d; retrying in %.1fs",
                day,
                page,
                cause,
                status,
                attempt,
                self.max_attempts,
                delay,
            )
            await self._sleep(delay)
        raise SourceError(
            f"could not fetch Hugging Face papers for {day} after {self.max_attempts} "
            f"attempts; last: {cause}"
        )

    # -- helpers -------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        """``base * 2**(attempt-1)`` plus up to one ``base`` of jitter, capped."""
        delay = self.backoff_base * 2.0 ** (attempt - 1)
        delay += self._random.uniform(0, self.backoff_base)
        return min(delay, self.max_retry_after)

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``RateLimit``."""
        value = response.headers.get("Retry-After", "").strip()
        seconds: float | None = None
        if value:
            try:
                seconds = float(value)
            except ValueError:
                try:
                    seconds = parsedate_to_datetime(value).timestamp() - time.time()
                except (TypeError, ValueError, IndexError, OverflowError):
                    seconds = None
        if seconds is None:  # IETF draft header HF sends: RateLimit: "api";r=0;t=42
            match = _RATELIMIT_RESET_RE.search(response.headers.get("RateLimit", ""))
            seconds = float(match.group(1)) if match else None
        if seconds is None or seconds != seconds:  # absent or NaN
            return None
        return min(max(seconds, 0.0), self.max_retry_after)

    def _describe(self, exc: Exception) -> str:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return self._redact(text)

    def _detail(self, response: httpx.Response) -> str:
        """A short, token-free excerpt of the server's error text, if any."""
        try:
            body = response.json()
            text = body.get("error") if isinstance(body, dict) else None
        except ValueError:
            text = None
        if not isinstance(text, str) or not text.strip():
            return ""
        return ": " + self._redact(" ".join(text.split()))[:200]

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _item_ids(items: list[Any]) -> set[str]:
    """The paper ids of a page, skipping malformed items (parsing reports those)."""
    ids: set[str] = set()
    for item in items:
        paper = item.get("paper") if isinstance(item, dict) else None
        paper_id = paper.get("id") if isinstance(paper, dict) else None
        if isinstance(paper_id, str):
            ids.add(paper_id)
    return ids


__all__ = ["DEFAULT_ENDPOINT", "USER_AGENT", "HuggingFaceSource"]
