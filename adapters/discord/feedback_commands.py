"""The feedback commands under ``/papers``: like, save, saved, unsave, forget."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

import discord
from discord import app_commands

from paperpost.bot.channels.grammar import Command

PaperArg = app_commands.Range[str, 1, 300]
PAPER_HELP = "arXiv id (2608.19880) or an arxiv.org / huggingface.co URL"


class Runner(Protocol):
    def __call__(
        self, interaction: discord.Interaction, command: Command, *, ephemeral: bool
    ) -> Awaitable[None]: ...


def add_feedback_commands(group: app_commands.Group, run: Runner) -> None:
    @group.command(name="like", description="👍 a paper (again: take it back)")
    @app_commands.describe(paper=PAPER_HELP)
    async def like(interaction: discord.Interaction, paper: PaperArg) -> None:
        await run(interaction, Command("like", paper), ephemeral=True)

    @group.command(name="save", description="🔖 save a paper to this channel's reading list")
    @app_commands.describe(paper=PAPER_HELP)
    async def save(interaction: discord.Interaction, paper: PaperArg) -> None:
        await run(interaction, Command("save", paper), ephemeral=True)

    @group.command(name="saved", description="This channel's reading list")
    @app_commands.describe(period="all (default), week or month")
    @app_commands.choices(
        period=[app_commands.Choice(name=p, value=p) for p in ("all", "week", "month")]
    )
    async def saved(interaction: discord.Interaction, period: str | None = None) -> None:
        await run(interaction, Command("saved", period or ""), ephemeral=False)

    @group.command(name="unsave", description="Remove your save of a paper")
    @app_commands.describe(paper=PAPER_HELP)
    async def unsave(interaction: discord.Interaction, paper: PaperArg) -> None:
        # Only the paper: "ID all" (everyone's saves) is for channel changers, not /papers.
        await run(interaction, Command("unsave", (paper.split() or [""])[0]), ephemeral=True)

    @group.command(name="forget", description="Erase your votes and saves in this channel")
    async def forget(interaction: discord.Interaction) -> None:
        await run(interaction, Command("forget", "me"), ephemeral=True)
