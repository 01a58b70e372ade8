"""The console adapter: the channel ``console:local`` on stdin and stdout.

For local use, scripting and tests (like Hubot's shell adapter): one command
per line, with or without the ``/papers`` prefix; replies and digests printed
as plain text; it ends cleanly at end of input.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from typing import TextIO

from paperpost.bot.channels.key import CONSOLE_CHANNEL
from paperpost.bot.channels.plain_text import paper_detail, paper_line, plural
from paperpost.bot.channels.replies import Reply
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.weekly_roundup import Roundup
from paperpost.bot.ports import Core, PartGuard, no_guard

CONSOLE_USER = "you"


def render_reply(reply: Reply) -> str:
    lines = []
    if reply.announcement:
        lines.append(f"[to the channel] @{CONSOLE_USER} {reply.announcement}")
    if reply.text:
        lines.append(("error: " if reply.is_error else "") + reply.text)
    if len(reply.papers) == 1 and reply.command == "show":
        lines.append(paper_detail(reply.papers[0]))  # the full card, as Slack and Discord show it
    else:
        lines.extend(paper_line(i, p) for i, p in enumerate(reply.papers, 1))
    return "\n".join(lines)


def render_digest(digest: Digest) -> str:
    """The digest as the platforms post it: with threads on, the list, then each
    paper's full card as a reply in the list's thread."""
    lines = [f"== {digest.headline} ({plural(len(digest.entries), 'paper')}) =="]
    for i, entry in enumerate(digest.entries, 1):
        lines.append(paper_line(i, entry.paper))
        lines.append(f"    {entry.why}")
    if digest.threads:
        for i, entry in enumerate(digest.entries, 1):
            lines.append(f"  ↳ in the thread, {i}/{len(digest.entries)}:")
            lines.append(textwrap.indent(paper_detail(entry.paper), "    "))
    return "\n".join(lines)


def render_roundup(roundup: Roundup) -> str:
    """The weekly roundup as plain text: papers by reference, with their counts."""
    lines = [f"== {roundup.headline} =="]
    if roundup.team:
        lines.append("The team's most liked and saved:")
        lines += [
            f"{i:>2}. {p.title}  👍 {p.likes} · 🔖 {p.saves}" + (f"\n    {p.url}" if p.url else "")
            for i, p in enumerate(roundup.team, 1)
        ]
    if roundup.missed:
        lines.append("Most upvoted this week, not shown here:")
        lines += [
            f"{i:>2}. {p.title}  [▲{p.upvotes}]\n    {p.hf_url}"
            for i, p in enumerate(roundup.missed, 1)
        ]
    return "\n".join(lines)


class ConsolePlatform:
    """Prints digests; the terminal keeps no history to search, so resume reprints."""

    name = "console"

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out

    async def post_digest(
        self, digest: Digest, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None:
        await before_part()  # one part: the whole digest
        print(render_digest(digest), file=self._out or sys.stdout, flush=True)

    async def post_roundup(
        self, roundup: Roundup, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None:
        await before_part()
        print(render_roundup(roundup), file=self._out or sys.stdout, flush=True)

    async def aclose(self) -> None:
        """Nothing to release: the terminal is not ours to close."""


async def serve_console(
    core: Core, *, stdin: TextIO | None = None, out: TextIO | None = None
) -> None:
    """Answer each line of ``stdin`` until end of input."""
    stdin = stdin or sys.stdin
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            return
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        reply = await core.handle(CONSOLE_CHANNEL, line, user=CONSOLE_USER, name=CONSOLE_USER)
        print(render_reply(reply), file=out or sys.stdout, flush=True)
