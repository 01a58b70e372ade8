"""The delivery ledger: the state of every (channel, featured day) digest.

    pending  ─► posting ─► sent
       │           │
       │           └─► failed (permanent: the channel is paused; transient: retried later)
       └─► dropped (the channel was paused before it went out)

An entry is keyed by its channel and the newest featured day its digest
carries; ``days`` lists every day carried when there are several. A digest
with nothing to post is recorded "sent" with no papers: its days are done.

"posting" is written, and committed, before the platform is called, so an
entry found in "posting" at the next start is uncertain: the platform may or
may not have accepted it. The papers a digest carries are recorded with it, so
a retried or resumed digest is the same digest.

The ``posted`` table keeps, per channel, every paper ever posted there with
its day and the saved searches that matched it: papers are never posted twice
to a channel, and ``why`` can answer.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from paperpost.bot.catalog.store import Store
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.digest import Digest


class DeliveryState(StrEnum):
    PENDING = "pending"  # due, waiting for its featured day to be available
    POSTING = "posting"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"  # the channel was paused: never posted, its days never carried


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    state: DeliveryState
    paper_ids: tuple[str, ...] = ()
    matched: dict[str, list[str]] = field(default_factory=dict)
    attempts: int = 0
    permanent: bool = False
    error: str | None = None
    updated_at: str = ""
    paper_days: dict[str, str] = field(default_factory=dict)  # several days: paper id -> day
    days: tuple[str, ...] = ()  # several days: every featured day carried, oldest first

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "paper_ids": list(self.paper_ids),
            "matched": self.matched,
            "attempts": self.attempts,
            "permanent": self.permanent,
            "error": self.error,
            "updated_at": self.updated_at,
            "paper_days": self.paper_days,
            "days": list(self.days),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerEntry:
        return cls(
            state=DeliveryState(data["state"]),
            paper_ids=tuple(data.get("paper_ids", ())),
            matched=dict(data.get("matched", {})),
            attempts=int(data.get("attempts", 0)),
            permanent=bool(data.get("permanent", False)),
            error=data.get("error"),
            updated_at=data.get("updated_at", ""),
            paper_days=dict(data.get("paper_days", {})),
            days=tuple(data.get("days", ())),
        )


def _key(channel: ChannelKey, day: date) -> str:
    return f"{channel}|{day.isoformat()}"


class Ledger:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._entries = store.table("ledger")
        self._posted = store.table("posted")
        self._open = store.table("open_deliveries")

    def get(self, channel: ChannelKey, day: date) -> LedgerEntry | None:
        raw = self._entries.get(_key(channel, day))
        return LedgerEntry.from_json(raw) if raw else None

    def entries_for(
        self, channels: list[ChannelKey], day: date
    ) -> dict[ChannelKey, LedgerEntry | None]:
        """Many channels' entries for one day; one table scan when that beats one read each."""
        if len(channels) < 64:
            return {c: self.get(c, day) for c in channels}
        wanted = {_key(c, day): c for c in channels}
        found = {
            wanted[k]: LedgerEntry.from_json(v)
            for k, v in self._store.scan("ledger")
            if k in wanted
        }
        return {c: found.get(c) for c in channels}

    def record(self, channel: ChannelKey, day: date, entry: LedgerEntry, *, now: datetime) -> None:
        # Unfinished entries are also listed in a small table, so the retry sweep
        # reads only those, not the whole history. Listed before written, unlisted
        # after: a crash in between leaves a stale listing, never a missing one.
        key = _key(channel, day)
        finished = entry.state in (DeliveryState.SENT, DeliveryState.DROPPED) or entry.permanent
        if not finished:
            self._open[key] = True
            self._store.commit("open_deliveries")
        entry = replace(entry, updated_at=now.isoformat(timespec="seconds"))
        self._entries[key] = entry.to_json()
        self._store.commit("ledger")
        if finished and key in self._open:
            # Another process may unlist it between the check and the delete.
            with contextlib.suppress(KeyError):
                del self._open[key]
            self._store.commit("open_deliveries")

    def start_posting(self, digest: Digest, *, attempts: int, now: datetime) -> None:
        entry = _entry(DeliveryState.POSTING, digest, attempts)
        self.record(digest.channel, digest.day, entry, now=now)

    def mark_empty(self, digest: Digest, *, now: datetime) -> None:
        """Nothing to post: the digest's days are done all the same."""
        self.record(digest.channel, digest.day, _entry(DeliveryState.SENT, digest, 0), now=now)

    def mark_failed(
        self, digest: Digest, *, attempts: int, permanent: bool, error: str, now: datetime
    ) -> None:
        failed = replace(
            _entry(DeliveryState.FAILED, digest, attempts), permanent=permanent, error=error
        )
        self.record(digest.channel, digest.day, failed, now=now)

    def mark_dropped(self, digest: Digest, *, now: datetime) -> None:
        self.record(digest.channel, digest.day, _entry(DeliveryState.DROPPED, digest, 0), now=now)

    def mark_sent(self, digest: Digest, *, attempts: int, now: datetime) -> None:
        # The posted set is committed first: a crash between the two commits
        # leaves the entry "posting", which the adapter resolves by looking.
        posted = dict(self._posted.get(str(digest.channel), {}))
        for entry in digest.entries:
            posted[entry.paper.id] = [(entry.day or digest.day).isoformat(), list(entry.matched)]
        self._posted[str(digest.channel)] = posted
        self._store.commit("posted")
        sent = _entry(DeliveryState.SENT, digest, attempts)
        self.record(digest.channel, digest.day, sent, now=now)

    def posted_ids(self, channel: ChannelKey) -> set[str]:
        return set(self._posted.get(str(channel), {}))

    def posted_of(self, channels: list[ChannelKey]) -> dict[ChannelKey, set[str]]:
        """Many channels' posted papers; one table scan when that beats one read each."""
        if len(channels) < 64:
            return {c: self.posted_ids(c) for c in channels}
        wanted = {str(c): c for c in channels}
        found = {wanted[k]: set(v) for k, v in self._store.scan("posted") if k in wanted}
        return {c: found.get(c, set()) for c in channels}

    def why(self, channel: ChannelKey, paper_id: str) -> tuple[date, list[str]] | None:
        found = self._posted.get(str(channel), {}).get(paper_id)
        return (date.fromisoformat(found[0]), found[1]) if found else None

    def unfinished(self) -> list[tuple[ChannelKey, date, LedgerEntry]]:
        """Entries not sent and not permanently failed: to resume or retry."""
        result = []
        for key, _ in self._store.scan("open_deliveries"):
            raw = self._entries.get(key)
            entry = LedgerEntry.from_json(raw) if raw else None
            finished = entry is None or entry.state in (DeliveryState.SENT, DeliveryState.DROPPED)
            if finished or entry is None or entry.permanent:
                continue
            channel, _, day = key.rpartition("|")
            result.append((ChannelKey.parse(channel), date.fromisoformat(day), entry))
        return result


def digest_ids(digest: Digest) -> tuple[str, ...]:
    return tuple(e.paper.id for e in digest.entries)


def _entry(state: DeliveryState, digest: Digest, attempts: int) -> LedgerEntry:
    return LedgerEntry(
        state,
        digest_ids(digest),
        {e.paper.id: list(e.matched) for e in digest.entries},
        attempts,
        paper_days={e.paper.id: e.day.isoformat() for e in digest.entries if e.day},
        days=tuple(d.isoformat() for d in digest.days),
    )
