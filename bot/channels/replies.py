"""Replies: what the core answers to a command, as neutral values.

Every adapter renders a ``Reply`` in its own format (Block Kit, embeds, plain
text). Text here is plain and unescaped: adapters escape it for their markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from paperpost.bot.papers.model import Paper


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer to one command.

    text:         the message, plain text, may span lines.
    papers:       papers to show after the text, as a list of cards/lines.
    is_error:     the command failed; ``text`` says why and how to fix it.
    announcement: set when the command changed the channel (a subscription, a
                  setting): the adapter posts it publicly, prefixed with the
                  acting user in its own mention syntax, e.g. "@ana " +
                  "subscribed this channel to “agents”".
    shareable:    search-like results; adapters may offer "Share in channel".
    """

    text: str
    papers: tuple[Paper, ...] = ()
    is_error: bool = False
    announcement: str | None = None
    shareable: bool = False


def error(text: str) -> Reply:
    return Reply(text=text, is_error=True)
