"""The ports every adapter types against: one ``Core``, and a ``Platform`` whose
``aclose`` every platform has, so the composition root never probes for it."""

from __future__ import annotations

import inspect

import pytest

from paperpost.adapters.console import ConsolePlatform
from paperpost.adapters.discord.delivery import DiscordPlatform
from paperpost.adapters.slack.delivery import SlackPlatform
from paperpost.bot.app import Paperpost
from paperpost.bot.ports import Core, Platform
from tests.conftest import no_sleep


@pytest.mark.parametrize("platform", [ConsolePlatform, SlackPlatform, DiscordPlatform])
def test_every_platform_fulfils_the_port_with_aclose(platform: type) -> None:
    for name in ("post_digest", "post_roundup", "aclose"):
        assert inspect.iscoroutinefunction(getattr(platform, name, None)), name
    assert isinstance(platform.name, str)


async def test_a_platform_without_connections_closes_as_a_no_op() -> None:
    closable: list[Platform] = [ConsolePlatform(), SlackPlatform(None, sleep=no_sleep)]  # type: ignore[arg-type]
    for platform in closable:
        assert await platform.aclose() is None


def test_the_core_fulfils_the_core_port() -> None:
    port = {n for n, v in vars(Core).items() if callable(v) and not n.startswith("_")}
    assert port == {"register_platform", "handle", "execute", "papers_linked", "forget_channel"}
    for name in port:
        ours, theirs = (
            inspect.signature(getattr(Paperpost, name)),
            inspect.signature(vars(Core)[name]),
        )
        assert list(ours.parameters) == list(theirs.parameters), name
