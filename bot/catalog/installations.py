"""Where a platform's installations live: one row per workspace (and per
installing user), and the one-time states of install flows in progress.

Platform-neutral rows in two key-value tables of the store (``installations``,
``oauth_states``), so they land on every storage backend. Secrets never reach
these rows in the clear: the adapter seals them first (``sealed.py``) and keeps
only what it looks rows up by (team, enterprise, user, time) readable.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

from paperpost.bot.catalog.store import Store

INSTALLATIONS = "installations"
STATES = "oauth_states"


class InstallationRecords:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- installations -----------------------------------------------------------
    def get(self, key: str) -> dict[str, Any] | None:
        row = self._store.table(INSTALLATIONS).get(key)
        return row if isinstance(row, dict) else None

    def put(self, rows: dict[str, dict[str, Any]]) -> None:
        """Write ``rows`` (key → row) in one commit."""
        table = self._store.table(INSTALLATIONS)
        for key, row in rows.items():
            table[key] = row
        self._store.commit(INSTALLATIONS)

    def delete(self, wanted: Callable[[str, dict[str, Any]], bool]) -> list[str]:
        """Delete every row ``wanted(key, row)`` picks, in one commit; their keys."""
        keys = [key for key, row in self.rows() if wanted(key, row)]
        table = self._store.table(INSTALLATIONS)
        for key in keys:
            table.pop(key, None)
        self._store.commit(INSTALLATIONS)
        return keys

    def rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for key, row in self._store.scan(INSTALLATIONS):
            if isinstance(row, dict):
                yield key, row

    # -- install flows in progress -------------------------------------------------
    def issue_state(self, *, now: float, ttl: float) -> str:
        """A new random state, valid until ``now + ttl``; expired ones are dropped."""
        table = self._store.table(STATES)
        for key, row in list(self._store.scan(STATES)):
            if not isinstance(row, dict) or float(row.get("expires_at", 0)) <= now:
                table.pop(key, None)
        state = secrets.token_urlsafe(24)
        table[state] = {"expires_at": now + ttl}
        self._store.commit(STATES)
        return state

    def consume_state(self, state: str, *, now: float) -> bool:
        """Whether ``state`` was issued and has not expired; it is gone afterwards."""
        table = self._store.table(STATES)
        row = table.pop(state, None)
        self._store.commit(STATES)
        return isinstance(row, dict) and float(row.get("expires_at", 0)) > now
