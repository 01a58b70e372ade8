"""The contracts between the core and the adapters around it.

``Core``: what every adapter (Slack, Discord, console) may ask of the core.
``Platform``: what every adapter fulfils for delivery (the outbox's port).
``Health``: what the core reports to ``/healthz``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from paperpost.bot.catalog.installations import InstallationRecords
from paperpost.bot.channels.grammar import Command
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.replies import Reply
from paperpost.bot.channels.workspaces import ChannelPauser
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.shared_rate import SharedRate
from paperpost.bot.delivery.weekly_roundup import Roundup
from paperpost.bot.feedback.presses import Presses
from paperpost.bot.papers.model import Paper

PartGuard = Callable[[], Awaitable[None]]


async def no_guard() -> None:
    """The ``before_part`` of a post nobody else can take over (tests, previews)."""


class Platform(Protocol):
    """Posts digests to one platform (``slack``, ``discord`` or ``console``).

    ``post_digest`` posts every part of ``digest`` to ``digest.channel``, or
    raises ``bot.errors.DeliveryError`` (``permanent=True`` when retrying is
    useless: channel gone, no access; ``retry_after`` when the platform said
    how long to wait). It returns only once the platform accepted every part.

    With ``resume=True`` an earlier attempt may have posted some or all of the
    parts (the process died, or a part failed): the adapter first looks for
    this digest's parts among the channel's recent messages, by the marker it
    puts on each digest message, and posts only the missing ones.

    ``aclose`` releases what the platform holds (HTTP sessions); the composition
    root calls it once, after the last post. A platform holding nothing makes it
    a no-op.

    ``before_part`` is awaited before each part is posted: the outbox renews
    its claim on the digest there, and it raises (``ClaimLost``) when another
    process took the digest over; the adapter lets that propagate.
    """

    name: str

    async def post_digest(
        self, digest: Digest, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class RoundupPlatform(Protocol):
    """A ``Platform`` that also posts weekly roundups (bot/delivery/weekly_roundup.py):
    one message, raising ``DeliveryError`` as ``post_digest`` does. With ``resume=True``
    it first looks for ``roundup.marker`` among the channel's recent messages and
    posts nothing when it is there. ``before_part`` is awaited just before posting."""

    name: str

    async def post_roundup(
        self, roundup: Roundup, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None: ...


class Core(Protocol):
    """What adapters need from ``bot.app.Paperpost``: commands in, replies out
    (``handle`` a typed line, or ``execute`` a command built from typed options;
    neither raises; ``name`` is the user's display name, kept with their votes), a
    place to register their delivery platform, the papers pasted links name
    (``papers_linked``, for link cards; never raises), a channel the platform
    deleted (``forget_channel``: its votes, saves, settings and saved searches go),
    and the votes cast with a paper's buttons or reactions (``presses``).

    ``installations`` keeps the workspaces installed through an install flow (Slack
    OAuth), and ``pauser`` pauses a workspace's channels when it uninstalls."""

    presses: Presses
    installations: InstallationRecords
    pauser: ChannelPauser
    allowances: SharedRate  # posting allowances shared by every process on the store

    def register_platform(self, platform: Platform) -> None: ...

    async def handle(
        self, channel: ChannelKey, text: str, *, user: str | None = None, name: str | None = None
    ) -> Reply: ...

    async def execute(
        self, channel: ChannelKey, command: Command, *, user: str | None = None,
        name: str | None = None,
    ) -> Reply: ...  # fmt: skip

    async def papers_linked(self, urls: Sequence[str]) -> dict[str, Paper]: ...

    async def forget_channel(self, channel: ChannelKey) -> None: ...


@dataclass(frozen=True, slots=True)
class Health:
    papers: int
    latest_day: date | None
    scheduled_channels: int
    papers_from: str | None = None  # "huggingface", or "snapshot" (bundled, not live)


@runtime_checkable
class ClosableSource(Protocol):
    """A paper source holding connections (the Hugging Face client)."""

    async def aclose(self) -> None: ...
