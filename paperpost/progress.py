"""A one-line progress bar on stderr for day ranges (redrawn in place on a TTY)."""

from __future__ import annotations

import sys
from datetime import date
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, *, width: int = 30, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.width = width
        self.stream = stream or sys.stderr

    def advance(self, day: date, papers: int) -> None:
        self.done += 1
        filled = self.width * self.done // self.total
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"[{bar}] {self.done}/{self.total} {day.isoformat()} {papers:>3} papers"
        end = "\r" if self.stream.isatty() else "\n"
        print(line, end=end, file=self.stream, flush=True)

    def finish(self) -> None:
        if self.stream.isatty():
            print(file=self.stream)
