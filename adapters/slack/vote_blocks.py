"""The 👍 and 🔖 buttons under a paper, as Block Kit: pure functions, no I/O.

Each paper gets one actions block whose ``block_id`` names the paper (block ids
are unique within a message) and two buttons, ``paperpost_like`` and
``paperpost_save``, whose ``value`` is the paper id (an action id need only be
unique within its block). Digest blocks say ``paperpost_digest:ID``: an edit of
a digest part must carry its message metadata, so the presser knows not to
edit one whose metadata it cannot restore.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from paperpost.bot.feedback.presses import Counts, valid_paper_id
from paperpost.bot.feedback.votes import Kind

LIKE_ACTION = "paperpost_like"
SAVE_ACTION = "paperpost_save"
ACTIONS = {LIKE_ACTION: Kind.LIKE, SAVE_ACTION: Kind.SAVE}
DIGEST_BLOCK = "paperpost_digest"
CARD_BLOCK = "paperpost_votes"
BLOCK_PREFIXES = (DIGEST_BLOCK + ":", CARD_BLOCK + ":")


def _label(emoji: str, word: str, count: int) -> str:
    return f"{emoji} {word} · {count:,}" if count else f"{emoji} {word}"


def vote_actions(paper_id: str, counts: Counts | None = None, *, digest: bool) -> ActionsBlock:
    """The two buttons for ``paper_id``, labelled with ``counts`` when there are any."""
    counts = counts or Counts()
    like = ButtonElement(
        text=_label("👍", "Useful", counts.likes), action_id=LIKE_ACTION, value=paper_id
    )
    save = ButtonElement(
        text=_label("🔖", "Save", counts.saves), action_id=SAVE_ACTION, value=paper_id
    )
    block_id = f"{DIGEST_BLOCK if digest else CARD_BLOCK}:{paper_id}"
    return ActionsBlock(block_id=block_id, elements=[like, save])


def voted_paper(block: Any) -> tuple[str, bool] | None:
    """(paper id, is a digest block) of one of our actions blocks, else None."""
    if not isinstance(block, dict) or block.get("type") != "actions":
        return None
    block_id = block.get("block_id")
    if not isinstance(block_id, str) or not block_id.startswith(BLOCK_PREFIXES):
        return None
    prefix, _, paper_id = block_id.partition(":")
    valid = valid_paper_id(paper_id)
    return (valid, prefix == DIGEST_BLOCK) if valid else None


def papers_in(blocks: Any) -> list[str]:
    """The papers whose buttons ``blocks`` (a message's, from a payload) hold."""
    found = [voted_paper(b) for b in (blocks if isinstance(blocks, list) else [])]
    return list(dict.fromkeys(f[0] for f in found if f))


def has_digest_buttons(blocks: Any) -> bool:
    found = [voted_paper(b) for b in (blocks if isinstance(blocks, list) else [])]
    return any(f and f[1] for f in found)


def with_counts(blocks: Any, counts: Mapping[str, Counts]) -> list[dict[str, Any]]:
    """``blocks`` with our buttons relabelled from ``counts``; every other block as is."""
    updated: list[dict[str, Any]] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        voted = voted_paper(block)
        if voted is None:
            updated.append(block)
            continue
        paper_id, digest = voted
        updated.append(vote_actions(paper_id, counts.get(paper_id), digest=digest).to_dict())
    return updated
