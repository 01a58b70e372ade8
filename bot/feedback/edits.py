"""Coalesced message edits: a burst of presses on one message is a few edits.

``EditCoalescer.request(key)`` asks for message ``key`` to be edited. The
edit function reads the latest counts when it runs, so a request made while an
edit is waiting is already served by it, and one made during an edit gets one
more edit after. Each message is edited at most once per ``per_message``
seconds, and all messages together at most once per ``gap`` seconds (the
platform's limit for the edit method: Slack's ``chat.update`` is Tier 3, about
50 a minute per workspace).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
PRUNE_AT = 1_000  # messages remembered before the old ones are forgotten


class EditCoalescer(Generic[K]):
    def __init__(
        self,
        edit: Callable[[K], Awaitable[None]],
        *,
        per_message: float = 1.0,
        gap: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._edit = edit
        self._per_message = per_message
        self._gap = gap
        self._clock = clock
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._again: set[K] = set()
        self._last: dict[K, float] = {}
        self._next_slot = 0.0  # the earliest moment any message may be edited next
        self.edits = 0  # edits made (for the benchmark and /metrics-minded readers)

    def request(self, key: K) -> None:
        """Have ``key`` edited soon with the state it has by then. Never blocks."""
        if key in self._tasks:
            self._again.add(key)
            return
        if len(self._last) > PRUNE_AT:  # forget the spacing of messages edited long ago
            cutoff = self._clock() - self._per_message
            self._last = {k: t for k, t in self._last.items() if t > cutoff}
        task = asyncio.create_task(self._run(key))
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    def _forget(self, key: K, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:  # not a newer task for the same message
            del self._tasks[key]

    async def _run(self, key: K) -> None:
        while True:
            now = self._clock()
            due = max(self._last.get(key, -self._per_message) + self._per_message, now)
            slot = max(due, self._next_slot)
            self._next_slot = slot + self._gap  # taken before sleeping: no two edits share it
            if slot > now:
                await asyncio.sleep(slot - now)
            self._again.discard(key)  # what was asked so far, this edit shows
            self._last[key] = self._clock()
            self.edits += 1
            try:
                await self._edit(key)
            except Exception:  # an edit is cosmetic: the votes are stored already
                log.warning("editing message %s failed", key, exc_info=True)
            if key not in self._again:
                # Forgotten here, not in the done callback (which runs later): a request
                # made in between would join this finished task and be lost.
                del self._tasks[key]
                return

    async def drain(self) -> None:
        """Wait for every pending edit (tests, the benchmark)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def aclose(self, timeout: float = 2.0) -> None:
        """At shutdown: finish the edits due within ``timeout``, drop the rest."""
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            for task in list(self._tasks.values()):
                task.cancel()
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
