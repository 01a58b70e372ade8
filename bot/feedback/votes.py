"""Team feedback: likes and saves, one vote per user per paper per kind.

Each vote is one row of the store's ``feedback`` table (a sqlitedict table:
``key TEXT PRIMARY KEY, value BLOB`` holding JSON), keyed
``channel␟paper␟kind␟user`` so a channel's votes are one key range. Writes go
through the storage port (``database.py``) in transactions locked on the vote's
key, like the delivery claims: a toggle reads and flips its row atomically, so
any number of Paperpost processes on one folder (or replicas on one PostgreSQL
database) count each vote once.

Only ``forget`` (a user's own votes in a channel) and a platform's
channel-deletion event (``forget_channel``) remove votes; posting errors and
``unsubscribe`` never touch them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from paperpost.bot.catalog.database import Connection, Database
from paperpost.bot.catalog.sqlite_tables import as_database
from paperpost.bot.channels.key import ChannelKey

TABLE = "feedback"
SEP = "\x1f"  # the unit separator: never part of a channel key, paper id or kind
BUSY_TIMEOUT = 30.0
MAX_NAME = 80  # a display name is capped: it comes from the platform, untrusted


class Kind(StrEnum):
    LIKE = "like"
    SAVE = "save"


@dataclass(frozen=True, slots=True)
class Vote:
    channel: ChannelKey
    paper_id: str
    kind: Kind
    user: str  # the platform's user id ("U123", a Discord snowflake, "you")
    name: str  # the display name at voting time, plain text
    at: datetime  # when the vote was cast, UTC

    def key(self) -> str:
        return vote_key(self.channel, self.paper_id, self.kind, self.user)

    def value(self) -> dict[str, str]:
        return {"name": self.name, "at": self.at.isoformat()}

    def to_json(self) -> list[str]:
        """The export form: ``[channel, paper, kind, user, name, at]``."""
        return [str(self.channel), self.paper_id, str(self.kind), self.user, self.name,
                self.at.isoformat()]  # fmt: skip

    @classmethod
    def from_json(cls, row: Any) -> Vote:
        """An exported vote back; ``ValueError`` naming what is wrong."""
        if not (isinstance(row, list) and len(row) == 6 and all(isinstance(x, str) for x in row)):
            raise ValueError("a vote is [channel, paper, kind, user, name, at] (six strings)")
        channel, paper, kind, user, name, at = row
        if not paper or SEP in paper + user or not user:
            raise ValueError(f"vote {row!r} has an empty or malformed paper id or user")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError(f"vote time {at!r} has no UTC offset")
        return cls(ChannelKey.parse(channel), paper, Kind(kind), user, name[:MAX_NAME], when)


def vote_key(channel: ChannelKey, paper_id: str, kind: Kind, user: str) -> str:
    return SEP.join((str(channel), paper_id, str(kind), user))


def _range(prefix: str) -> tuple[str, str]:
    """Keys starting with ``prefix + SEP``: SEP is 0x1F, so 0x20 bounds them."""
    return prefix + SEP, prefix + chr(ord(SEP) + 1)


class FeedbackStore:
    """Votes in the store's database (the ``feedback`` table ``Store`` declares)."""

    def __init__(self, db: Database | Path) -> None:
        self._db = as_database(db, timeout=BUSY_TIMEOUT)

    def _connect(self) -> contextlib.AbstractContextManager[Connection]:
        return self._db.connection()

    def _write(self, lock: str | None = None) -> contextlib.AbstractContextManager[Connection]:
        return self._db.transaction(lock=None if lock is None else f"vote:{lock}")

    def toggle(self, vote: Vote) -> bool:
        """Cast ``vote``, or take it back when the user had cast it: True when cast."""
        key = vote.key()
        with self._write(key) as conn:
            if conn.execute(f'SELECT 1 FROM "{TABLE}" WHERE key = ?', (key,)).fetchone():
                conn.execute(f'DELETE FROM "{TABLE}" WHERE key = ?', (key,))
                return False
            conn.execute(
                f'INSERT INTO "{TABLE}" (key, value) VALUES (?, ?)',
                (key, json.dumps(vote.value(), ensure_ascii=False)),
            )
            return True

    def cast(self, vote: Vote) -> bool:
        """Cast ``vote`` unless the user already had (a reaction added): True when new."""
        with self._write(vote.key()) as conn:
            cur = conn.execute(
                f'INSERT INTO "{TABLE}" (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
                (vote.key(), json.dumps(vote.value(), ensure_ascii=False)),
            )
            return cur.rowcount > 0

    def remove(self, channel: ChannelKey, paper_id: str, kind: Kind, user: str | None) -> int:
        """Remove one user's vote (``user``) or everyone's (``None``); how many went."""
        prefix = SEP.join((str(channel), paper_id, str(kind)))
        with self._write(prefix) as conn:
            if user is not None:
                cur = conn.execute(f'DELETE FROM "{TABLE}" WHERE key = ?', (prefix + SEP + user,))
            else:
                cur = conn.execute(
                    f'DELETE FROM "{TABLE}" WHERE key >= ? AND key < ?', _range(prefix)
                )
            return cur.rowcount

    def forget_user(self, channel: ChannelKey, user: str) -> int:
        """Erase every vote and save of ``user`` in ``channel``; how many went."""
        keys = [v.key() for v in self.votes(channel) if v.user == user]
        with self._write() as conn:
            conn.executemany(f'DELETE FROM "{TABLE}" WHERE key = ?', [(k,) for k in keys])
        return len(keys)

    def forget_channel(self, channel: ChannelKey) -> int:
        """The channel was deleted on its platform: its votes go with it."""
        with self._write() as conn:
            cur = conn.execute(
                f'DELETE FROM "{TABLE}" WHERE key >= ? AND key < ?', _range(str(channel))
            )
            return cur.rowcount

    def votes(self, channel: ChannelKey | None = None) -> list[Vote]:
        """Every vote of ``channel`` (of every channel when ``None``)."""
        sql = f'SELECT key, value FROM "{TABLE}"'
        args: tuple[str, ...] = ()
        if channel is not None:
            sql, args = sql + " WHERE key >= ? AND key < ?", _range(str(channel))
        with self._connect() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [_vote(key, blob) for key, blob in rows]

    def add_many(self, votes: Iterable[Vote]) -> None:
        """Store ``votes`` (an import): a vote already there keeps one row."""
        rows = [(v.key(), json.dumps(v.value(), ensure_ascii=False)) for v in votes]
        with self._write() as conn:
            conn.executemany(
                f'INSERT INTO "{TABLE}" (key, value) VALUES (?, ?) '
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rows,
            )


def _vote(key: str, blob: str | bytes) -> Vote:
    channel, paper, kind, user = key.split(SEP)
    value = json.loads(blob)
    return Vote(
        ChannelKey.parse(channel), paper, Kind(kind), user, str(value["name"]),
        datetime.fromisoformat(value["at"]),
    )  # fmt: skip
