"""Replies: what the core answers to a command, as neutral values.

Every adapter renders a ``Reply`` in its own format (Block Kit, embeds, plain
text). Text here is plain and unescaped: adapters escape it for their markup.

``apology`` is the one error sink: every path that catches an unexpected
exception (the core, each adapter) answers with it, so there is one wording
and one reference id, and the id is in the log line too.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from paperpost.bot.papers.model import Paper

log = logging.getLogger(__name__)

# Upper-case hex after "PP-": user text echoed in replies is lower-cased or
# canonicalised, so it can never look like a reference (tests match this).
APOLOGY_REF = re.compile(r"\(ref PP-[0-9A-F]{8}\)")


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer to one command.

    text:            the message, plain text, may span lines.
    papers:          papers to show after the text, as a list of cards/lines.
    is_error:        the command failed; ``text`` says why and how to fix it.
    announcement:    set when the command changed the channel (a subscription, a
                     setting): the adapter posts it publicly, prefixed with the
                     acting user in its own mention syntax, e.g. "@ana " +
                     "subscribed this channel to “agents”".
    shareable:       search-like results; adapters may offer "Share in channel".
    command:         the name of the command that produced it (``None`` when the
                     line did not parse), so adapters never re-parse the line.
    changed_channel: the command changed the channel's subscriptions or settings.
    """

    text: str
    papers: tuple[Paper, ...] = ()
    is_error: bool = False
    announcement: str | None = None
    shareable: bool = False
    command: str | None = None
    changed_channel: bool = False


def error(text: str, *, command: str | None = None) -> Reply:
    return Reply(text=text, is_error=True, command=command)


def changed(text: str, announcement: str) -> Reply:
    """The reply of a command that changed the channel, announced there."""
    return Reply(text=text, announcement=announcement, changed_channel=True)


def new_ref() -> str:
    return "PP-" + secrets.token_hex(4).upper()


def apology(exc: BaseException, *, command: str | None = None, **context: object) -> Reply:
    """Log ``exc`` with a fresh reference id and answer with the same id.

    ``context`` (channel, platform, …) goes into the log line as fields.
    """
    ref = new_ref()
    log.error(
        "unexpected failure (ref %s)", ref,
        exc_info=exc, extra={"ref": ref, "command": command, **context},
    )  # fmt: skip
    return error(
        f"Sorry, something went wrong on my side (ref {ref}). Please try again; if it "
        "keeps failing, quote this ref to whoever runs Paperpost.",
        command=command,
    )
