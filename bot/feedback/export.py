"""Votes in the ``channels export`` document: an optional ``feedback`` field.

``"feedback": [[channel, paper, kind, user, name, at], ...]``. A document
written before votes existed has no such field and imports no votes; an
import never removes votes (only ``forget`` and channel deletion do).
"""

from __future__ import annotations

from typing import Any

from paperpost.bot.errors import UserError
from paperpost.bot.feedback.votes import FeedbackStore, Vote


def export_votes(votes: FeedbackStore) -> list[list[str]]:
    return sorted(v.to_json() for v in votes.votes())


def parse_votes(document: Any) -> list[Vote]:
    """The votes of an export document; ``UserError`` naming the first bad one."""
    rows = document.get("feedback", []) if isinstance(document, dict) else []
    if not isinstance(rows, list):
        raise UserError('"feedback" in the import must be a list of votes')
    parsed = []
    for i, row in enumerate(rows):
        try:
            parsed.append(Vote.from_json(row))
        except (UserError, ValueError) as exc:
            raise UserError(f"vote {i + 1} in the import is invalid: {exc}") from None
    return parsed
