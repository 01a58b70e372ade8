"""The channel registry: every channel's settings and saved searches, in the store."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from paperpost.bot.catalog.store import Store
from paperpost.bot.channels.export_format import export_document, read_document
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.errors import StoreError

BULK_READ_THRESHOLD = 64
LOCK_WAIT = 10.0  # seconds a settings change waits for another one to finish


class ChannelRegistry:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table("channels")

    def get(self, key: ChannelKey) -> ChannelSettings:
        """A channel's settings; the defaults for a channel never configured."""
        raw = self._table.get(str(key))
        return ChannelSettings.from_json(raw) if raw else ChannelSettings()

    def settings_of(self, keys: list[ChannelKey]) -> dict[ChannelKey, ChannelSettings]:
        """Many channels' settings; one table scan when that beats one read each."""
        if len(keys) < BULK_READ_THRESHOLD:
            return {key: self.get(key) for key in keys}
        wanted = {str(k): k for k in keys}
        found = {
            wanted[k]: ChannelSettings.from_json(raw)
            for k, raw in self._store.scan("channels")
            if k in wanted
        }
        return {key: found.get(key) or ChannelSettings() for key in keys}

    @contextlib.contextmanager
    def changing(self) -> Iterator[None]:
        """Held while a command reads, changes and saves a channel's settings, so two
        processes or replicas changing one channel at once never lose either change.
        One lock for every channel (a file lock beside SQLite, a session advisory lock
        on PostgreSQL): changes are rare and hold it for milliseconds."""
        if self._store.db.dialect == "sqlite" and not os.access(self._store.data_dir, os.W_OK):
            yield  # a read-only folder: no lock file, and the save fails in one line anyway
            return
        lock = self._store.db.singleton_lock("channel-settings")
        deadline = time.monotonic() + LOCK_WAIT
        while not lock.try_acquire():
            if time.monotonic() > deadline:
                raise StoreError("another settings change is taking too long: try again")
            time.sleep(0.005)
        try:
            yield
        finally:
            lock.release()

    def save(self, key: ChannelKey, settings: ChannelSettings) -> None:
        self._table[str(key)] = settings.to_json()
        self._store.commit("channels")

    def delete(self, key: ChannelKey) -> None:
        """Forget the channel (deleted on its platform); a channel never saved is fine."""
        if str(key) in self._table:
            with contextlib.suppress(KeyError):  # another process deleted it meanwhile
                del self._table[str(key)]
            self._store.commit("channels")

    def all(self) -> list[tuple[ChannelKey, ChannelSettings]]:
        return sorted(
            (ChannelKey.parse(key), ChannelSettings.from_json(raw))
            for key, raw in self._store.scan("channels")
        )

    # -- export / import, as JSON that round-trips -----------------------------
    def export(self) -> dict[str, Any]:
        return export_document(self.all())

    def import_(self, data: Any) -> list[ChannelKey]:
        """Add or replace the channels of an ``export()`` document: every record is
        validated first (UserError naming the channel and the field), then all
        are written in one commit, or none."""
        parsed = read_document(data)
        self.save_many(parsed)
        return [key for key, _ in parsed]

    def save_many(self, channels: Iterable[tuple[ChannelKey, ChannelSettings]]) -> None:
        for key, settings in channels:
            self._table[str(key)] = settings.to_json()
        self._store.commit("channels")
