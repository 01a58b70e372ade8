"""The bundled snapshot: a few real Hugging Face Daily Papers days shipped in
the package, so ``paperpost demo`` and ``--offline`` work with no network.

The files are real ``GET /api/daily_papers?date=…`` responses, archived by
github.com/2404589803/hf-daily-paper-newsletter-chinese (Apache-2.0).
"""

from __future__ import annotations

import json
from datetime import date
from importlib import resources

from paperpost.bot.papers.model import Paper, papers_from_hf_day


class BundledSnapshot:
    """A paper source reading the days shipped inside the package."""

    def __init__(self) -> None:
        self._files = {
            date.fromisoformat(entry.name.removesuffix(".json")): entry
            for entry in resources.files("paperpost.bot.papers").joinpath("snapshot_days").iterdir()
            if entry.name.endswith(".json")
        }

    def days(self) -> list[date]:
        return sorted(self._files)

    async def fetch_day(self, day: date) -> list[Paper]:
        entry = self._files.get(day)
        if entry is None:
            return []
        return papers_from_hf_day(json.loads(entry.read_text("utf-8")), requested_day=day)

    async def aclose(self) -> None:
        """Nothing to close; present so it is interchangeable with the HF source."""
