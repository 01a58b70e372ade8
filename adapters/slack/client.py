"""The Slack Web API client: retries, and Slack's errors turned into ours.

Retries (slack_sdk's async handlers; slack_sdk retries only connection errors
by default):

- 429: ``RateLimitRetry`` waits the Retry-After Slack asked for, then retries;
  a wait longer than ``max_wait`` is not slept in-process but handed to the
  delivery ledger as ``DeliveryError(retry_after=...)``.
- 5xx and connection errors: retried for every method except
  ``chat.postMessage``. A post that failed with a 5xx or a dropped connection
  may have been posted all the same, so blindly re-sending could post twice;
  ``SlackPlatform`` re-reads the channel first (see platform.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from paperpost.bot.errors import DeliveryError

Sleep = Callable[[float], Awaitable[None]]
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "missing_scope",
    }
)
NOT_IDEMPOTENT = ("chat.postMessage",)
DEFAULT_MAX_WAIT = 60.0  # seconds of Retry-After worth waiting in-process


def retry_after_of(response: HttpResponse | None) -> float | None:
    if response is None:
        return None
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                return None
    return None


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Honours Retry-After like slack_sdk's handler, with an injectable sleep
    (tests) and a ceiling above which the wait is the ledger's business."""

    def __init__(self, *, max_retry_count: int = 3, max_wait: float, sleep: Sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.sleep = sleep

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        if request.url.rstrip("/").endswith(NOT_IDEMPOTENT):
            return False  # SlackPlatform re-paces its own posts after a 429
        wait = retry_after_of(response)
        return wait is None or wait <= self.max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait = retry_after_of(response)
        await self.sleep(wait if wait is not None else 1 + random.random())
        state.increment_current_attempt()


class _SafeToRepeat(AsyncRetryHandler):
    """Mixin: decline to retry methods whose repeat could post twice."""

    sleep: Sleep

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").endswith(NOT_IDEMPOTENT):
            return False
        return await super().can_retry_async(
            state=state, request=request, response=response, error=error
        )

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        await self.sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


class ServerErrorRetry(_SafeToRepeat, AsyncServerErrorRetryHandler):
    """Any 5xx (slack_sdk's handler knows only 500 and 503)."""

    def __init__(self, *, sleep: Sleep, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code < 600


class ConnectionRetry(_SafeToRepeat, AsyncConnectionErrorRetryHandler):
    def __init__(self, *, sleep: Sleep, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep


def retry_handlers(
    *, sleep: Sleep = asyncio.sleep, max_wait: float = DEFAULT_MAX_WAIT
) -> list[AsyncRetryHandler]:
    return [
        RateLimitRetry(max_wait=max_wait, sleep=sleep),
        ServerErrorRetry(sleep=sleep),
        ConnectionRetry(sleep=sleep),
    ]


def build_client(
    token: str | None,
    *,
    base_url: str = "https://slack.com/api/",
    sleep: Sleep = asyncio.sleep,
    max_wait: float = DEFAULT_MAX_WAIT,
    timeout: int = 30,
) -> AsyncWebClient:
    """An ``AsyncWebClient`` for ``base_url`` (``SLACK_API_URL``) with our retries
    (``token=None``: OAuth mode's app client; each team's token comes later)."""
    if not base_url.endswith("/"):
        base_url += "/"  # slack_sdk joins base_url and the method name as strings
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=retry_handlers(sleep=sleep, max_wait=max_wait),
    )


def slack_error_code(exc: BaseException) -> str | None:
    if isinstance(exc, SlackApiError) and isinstance(exc.response.data, dict):
        code = exc.response.data.get("error")
        return code if isinstance(code, str) else None
    return None


# What a Web API call can fail with, short of a bug.
CALL_ERRORS = (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError, OSError)


def delivery_error(exc: BaseException, *, what: str) -> DeliveryError:
    """Our error for a failed call: permanent for the errors no retry can fix."""
    if isinstance(exc, SlackApiError):
        code = slack_error_code(exc) or f"HTTP {exc.response.status_code}"
        retry_after = None
        if exc.response.status_code == 429:
            header = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                "retry-after"
            )
            retry_after = float(header) if header and header.isdigit() else 60.0
        permanent = code in PERMANENT_ERRORS
        hint = " (invite the bot, or check its token and scopes)" if permanent else ""
        return DeliveryError(
            f"Slack refused {what}: {code}{hint}", permanent=permanent, retry_after=retry_after
        )
    return DeliveryError(f"Slack unreachable for {what}: {exc!r}", permanent=False)


# slack_sdk logs every response body at DEBUG, oauth.v2.access's tokens included (it
# redacts only the Authorization header): tokens in Slack's records are redacted when
# the record is made, so no handler (ours, a test's, an operator's) can see them.
SLACK_TOKEN = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+")
_SLACK_LOGGERS = ("slack_sdk", "slack_bolt", "paperpost.adapters.slack")


def _redacting(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if (record.name or "").startswith(_SLACK_LOGGERS):
            text = record.getMessage()
            if SLACK_TOKEN.search(text):
                record.msg, record.args = SLACK_TOKEN.sub(r"\1-(redacted)", text), ()
        return record

    make_record.redacts_slack_tokens = True  # type: ignore[attr-defined]
    return make_record


if not getattr(logging.getLogRecordFactory(), "redacts_slack_tokens", False):
    logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))
