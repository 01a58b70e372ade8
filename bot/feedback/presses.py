"""Votes cast from a paper's buttons or reactions: the core side of feedback buttons.

Adapters call these coroutines from the event loop; the store work runs in a
worker thread. A press toggles the same vote ``like ID``/``save ID`` does.

The ``feedback_messages`` table maps each message Paperpost posted with buttons
(``where`` it is: the channel, or the Discord thread, holding it; its message
id) to the channel whose votes it counts, the papers on it and the Slack
message metadata an edit must carry on (crash recovery finds digest parts by
it). Reactions are counted only on messages found there; buttons also carry
their paper id, so a press on an unrecorded message still counts. Records are
kept ``KEEP`` (90 days): each process forgets older ones once a day.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from paperpost.bot.catalog.database import Database
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.sqlite_tables import as_database
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.feedback.votes import MAX_NAME, SEP, FeedbackStore, Kind, Vote
from paperpost.bot.papers.model import ARXIV_ID_RE, Paper

TABLE = "feedback_messages"
MAX_ID = 40  # arXiv ids are shorter: anything longer is not one
MAX_PAPERS = 25  # papers recorded for one message (Discord: 5 rows, Slack: fewer)
KEEP = timedelta(days=90)  # a message's record outlives its reactions this long


@dataclass(frozen=True, slots=True)
class Counts:
    likes: int = 0
    saves: int = 0


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """A message carrying buttons: whose votes it shows, for which papers."""

    channel: ChannelKey
    papers: tuple[str, ...]
    metadata: dict[str, Any] | None = None  # Slack message metadata, to keep on edits

    def to_json(self, *, on: date) -> str:
        return json.dumps({
            "channel": str(self.channel), "papers": list(self.papers),
            "metadata": self.metadata, "on": on.isoformat(),
        })  # fmt: skip

    @classmethod
    def from_json(cls, blob: str | bytes) -> PostedMessage:
        value = json.loads(blob)
        meta = value.get("metadata")
        return cls(
            ChannelKey.parse(value["channel"]),
            tuple(str(p) for p in value.get("papers") or ()),
            meta if isinstance(meta, dict) else None,
        )


def valid_paper_id(value: object) -> str | None:
    """``value`` when it has an arXiv id's form (payloads are untrusted), else None."""
    if isinstance(value, str) and len(value) <= MAX_ID and ARXIV_ID_RE.match(value):
        return value
    return None


def message_key(where: ChannelKey, message_id: str) -> str:
    return f"{where}{SEP}{message_id}"


class Presses:
    def __init__(
        self,
        *,
        library: PaperLibrary,
        db: Database | Path,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = as_database(db)
        self.votes = FeedbackStore(self._db)
        self._library = library
        self._clock = clock
        self._pruned: date | None = None  # the day this process last forgot old records

    async def press(
        self, channel: ChannelKey, paper_id: str, kind: Kind, user: str, name: str | None = None
    ) -> bool | None:
        """Toggle ``user``'s ``kind`` vote on the paper: True when cast, False when taken
        back, None (nothing done) for a paper id that is malformed or not stored."""
        return await asyncio.to_thread(self._press, channel, paper_id, kind, user, name)

    def _press(
        self, channel: ChannelKey, paper_id: str, kind: Kind, user: str, name: str | None
    ) -> bool | None:
        if valid_paper_id(paper_id) is None or not user or SEP in user:
            return None
        if self._library.get(paper_id) is None:
            return None
        vote = Vote(channel, paper_id, kind, user, (name or user)[:MAX_NAME], self._clock())
        return self.votes.toggle(vote)

    async def set_vote(
        self, channel: ChannelKey, paper_id: str, kind: Kind, user: str, *, cast: bool
    ) -> bool:
        """Cast (``cast``) or take back one vote, whatever it was before (reactions: an
        added reaction casts, a removed one takes back). True when something changed."""
        return await asyncio.to_thread(self._set, channel, paper_id, kind, user, cast)

    def _set(self, channel: ChannelKey, paper_id: str, kind: Kind, user: str, cast: bool) -> bool:
        if valid_paper_id(paper_id) is None or not user or SEP in user:
            return False
        if not cast:
            return self.votes.remove(channel, paper_id, kind, user) > 0
        if self._library.get(paper_id) is None:
            return False
        vote = Vote(channel, paper_id, kind, user, user[:MAX_NAME], self._clock())
        return self.votes.cast(vote)

    async def paper(self, paper_id: str) -> Paper | None:
        """The stored paper (a link card's, re-rendered with its counts)."""
        if valid_paper_id(paper_id) is None:
            return None
        return await asyncio.to_thread(self._library.get, paper_id)

    async def counts(self, channel: ChannelKey, paper_ids: Iterable[str]) -> dict[str, Counts]:
        """Each paper's 👍 and 🔖 in ``channel``."""
        wanted = set(paper_ids)
        return await asyncio.to_thread(self._counts, channel, wanted)

    def _counts(self, channel: ChannelKey, wanted: set[str]) -> dict[str, Counts]:
        likes = dict.fromkeys(wanted, 0)
        saves = dict.fromkeys(wanted, 0)
        for vote in self.votes.votes(channel):
            if vote.paper_id in wanted:
                tally = likes if vote.kind is Kind.LIKE else saves
                tally[vote.paper_id] += 1
        return {p: Counts(likes[p], saves[p]) for p in wanted}

    async def remember(self, where: ChannelKey, message_id: str, message: PostedMessage) -> None:
        """Record a message just posted with buttons (again: the same row)."""
        papers = tuple(p for p in message.papers[:MAX_PAPERS] if valid_paper_id(p))
        row = PostedMessage(message.channel, papers, message.metadata)
        await asyncio.to_thread(self._remember, message_key(where, message_id), row)

    def _remember(self, key: str, message: PostedMessage) -> None:
        today = self._clock().date()
        with self._db.transaction(lock=f"posted:{key}") as conn:
            conn.execute(
                f'INSERT INTO "{TABLE}" (key, value) VALUES (?, ?) '
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, message.to_json(on=today)),
            )
        if self._pruned != today:  # once a day: the table holds months, not years
            self._pruned = today
            self.forget_before(today - KEEP)

    def forget_before(self, day: date) -> int:
        """Forget the messages recorded before ``day`` (their buttons still count
        presses; reactions on them are ignored from then on). How many went."""
        cutoff = day.isoformat()
        with self._db.connection() as conn:  # streamed: only the old keys are kept
            rows = conn.execute(f'SELECT key, value FROM "{TABLE}"')
            old = [(key,) for key, value in rows if _recorded_on(value) < cutoff]
        if old:
            with self._db.transaction() as conn:
                conn.executemany(f'DELETE FROM "{TABLE}" WHERE key = ?', old)
        return len(old)

    async def message(self, where: ChannelKey, message_id: str) -> PostedMessage | None:
        """The recorded message, or None when Paperpost did not record it."""
        return await asyncio.to_thread(self._message, message_key(where, message_id))

    def _message(self, key: str) -> PostedMessage | None:
        with self._db.connection() as conn:
            row = conn.execute(f'SELECT value FROM "{TABLE}" WHERE key = ?', (key,)).fetchone()
        if row is None:
            return None
        try:
            return PostedMessage.from_json(row[0])
        except (ValueError, KeyError, TypeError):
            return None  # a row this version cannot read is as good as unknown


def _recorded_on(blob: str | bytes) -> str:
    """The ISO day a record was written ("" for one this version cannot read: forgotten)."""
    try:
        value = json.loads(blob)
        on = value.get("on") if isinstance(value, dict) else None
    except ValueError:
        return ""
    return on if isinstance(on, str) else ""
