"""The contract every platform adapter fulfils for delivery (the outbox's port)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from paperpost.bot.delivery.digest import Digest

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

    ``before_part`` is awaited before each part is posted: the outbox renews
    its claim on the digest there, and it raises (``ClaimLost``) when another
    process took the digest over; the adapter lets that propagate.
    """

    name: str

    async def post_digest(
        self, digest: Digest, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None: ...
