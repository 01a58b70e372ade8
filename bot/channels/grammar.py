"""The command grammar shared by every platform: ``/papers <command> [args]``.

Adapters only translate (a Slack slash-command's text, Discord's typed
options, a console line) into a ``Command``; the core executes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from paperpost.bot.channels.plain_text import echo
from paperpost.bot.channels.settings import SETTING_NAMES, setting_named
from paperpost.bot.errors import CommandError

MAX_COMMAND_LENGTH = 2_000
COMMAND_NAMES = (
    "help", "search", "show", "top", "subscribe", "unsubscribe", "list", "settings", "set",
    "pause", "resume", "preview", "why", "like", "save", "saved", "unsave", "forget", "post",
    "similar",
)  # fmt: skip
# Team feedback (bot/feedback): votes and the reading list, handled by FeedbackCommands.
FEEDBACK_COMMANDS = frozenset({"like", "save", "saved", "unsave", "forget"})
# The commands that change a channel (subscriptions, settings, pause, posting its digest
# now): Discord puts them under /papers-admin, Slack's "Share in channel" never re-runs them.
CHANGES_CHANNEL = frozenset({"subscribe", "unsubscribe", "set", "pause", "resume", "post"})
ALIASES = {
    "find": "search",
    "sub": "subscribe",
    "unsub": "unsubscribe",
    "subs": "list",
    "?": "help",
}
NEEDS_ARGUMENT = {
    "search": "search what? e.g. /papers search diffusion video",
    "show": "show which paper? give an arXiv id or URL, e.g. /papers show 2608.19880",
    "subscribe": "subscribe to what? e.g. /papers subscribe agents OR robots",
    "unsubscribe": "unsubscribe from what? give the number from /papers list, the query, or all",
    "similar": "similar to which paper? give an arXiv id or URL, e.g. /papers similar 2608.19880",
    "why": "why which paper? give an arXiv id, e.g. /papers why 2608.19880",
    "like": "like which paper? give an arXiv id, e.g. /papers like 2608.19880",
    "save": "save which paper? give an arXiv id, e.g. /papers save 2608.19880",
    "unsave": "unsave which paper? give an arXiv id, e.g. /papers unsave 2608.19880",
    "forget": "forget takes me: /papers forget me erases your votes and saves here",
}
USAGE = """\
/papers search QUERY        search every paper seen (try: agents "tool use" upvotes:>=10)
/papers show ID|URL         one paper by arXiv id or URL
/papers similar ID|URL      the papers most like one paper
/papers top [week|month]    the most upvoted papers of the latest day, week or month
/papers subscribe QUERY     add a saved search to this channel's daily digest
/papers unsubscribe N|QUERY|all
/papers list                this channel's saved searches
/papers preview [QUERY]     what the digest would have carried lately (with QUERY added)
/papers why ID              which saved search brought a paper here
/papers settings            this channel's settings
/papers set time HH:MM | tz ZONE | top N | days mon-fri|daily|mon,wed,fri
            | threads on|off | min-upvotes N | weekly DAY HH:MM|off
/papers pause | resume      stop or restart the daily digest
/papers post                post this channel's next digest now
/papers like ID | save ID   👍 a paper, or 🔖 save it to this channel's reading list (again: undo)
/papers saved [week|month|all]   this channel's reading list, who saved each
/papers unsave ID [all]     remove your save (all: everyone's, for channel admins)
/papers forget me           erase your votes and saves in this channel
/papers top team [week|month]    this channel's most liked and saved papers
Query syntax: words (any form; "word" for that form only), "phrase", OR, -exclude,
prefix*, author:, org:, title:, upvotes:>=N, since:YYYY-MM-DD, before:YYYY-MM-DD,
or an arXiv id/URL."""


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # one of COMMAND_NAMES
    arg: str = ""  # the rest of the line: a query, an id, "week", "all", a setting's value
    setting: str | None = None  # for "set": one of SETTING_NAMES

    @property
    def changes_channel(self) -> bool:
        # "unsave ID all" removes everyone's saves: an admin's command.
        everyone = self.name == "unsave" and self.arg.lower().endswith(" all")
        return self.name in CHANGES_CHANNEL or everyone


def parse_command(line: str) -> Command:
    """Parse one command line, with or without the leading ``/papers``."""
    if len(line) > MAX_COMMAND_LENGTH:
        raise CommandError(
            f"that command is {len(line):,} characters long; keep it under "
            f"{MAX_COMMAND_LENGTH:,} (queries need only a few words)"
        )
    text = " ".join(line.split())
    if text.lower().startswith("/papers"):
        text = text[len("/papers") :].strip()
    if not text:
        return Command("help")
    word, _, rest = text.partition(" ")
    name = ALIASES.get(word.lower(), word.lower())
    rest = rest.strip()
    if name not in COMMAND_NAMES:
        raise CommandError(
            f"unknown command {echo(word, 40)}. Commands: {', '.join(COMMAND_NAMES)}; "
            "try /papers help"
        )
    if name in NEEDS_ARGUMENT and not rest:
        raise CommandError(NEEDS_ARGUMENT[name])
    if name == "set":
        word, _, value = rest.partition(" ")
        setting = setting_named(word)
        if setting is None:
            raise CommandError(
                f"set what? use one of: {', '.join(SETTING_NAMES)}, e.g. /papers set time 08:30"
            )
        if not value.strip():
            raise CommandError(
                f"set {setting.name} to what? e.g. /papers set {setting.name} {setting.example}"
            )
        return Command("set", value.strip(), setting.name)
    top_args = ("", "day", "week", "month", "team", "team week", "team month")
    if name == "top" and rest.lower() not in top_args:
        raise CommandError("top takes week or month, or team: e.g. /papers top team week")
    if name == "forget" and rest.lower() != "me":
        raise CommandError(NEEDS_ARGUMENT["forget"])
    if name == "saved" and rest.lower() not in ("", "week", "month", "all"):
        raise CommandError("saved takes week, month or all, e.g. /papers saved week")
    return Command(name, rest)
