"""How hard the heavy loops work: Hypothesis examples, kill, SIGTERM and race rounds.

Small by default, so the README's test command stays quick on a busy machine;
``PAPERPOST_TEST_FULL=1`` (set by ``.ci/run``) runs the full counts.
"""

from __future__ import annotations

import os

FULL = os.environ.get("PAPERPOST_TEST_FULL", "") == "1"


def rounds(*, small: int, full: int) -> int:
    """``full`` under PAPERPOST_TEST_FULL=1, else ``small``; an explicit override wins."""
    return full if FULL else small
