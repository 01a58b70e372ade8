"""``/papers`` and ``/papers-admin`` as typed Discord application commands.

Discord applies ``default_member_permissions`` to top-level commands only, so
the commands that change a channel (subscriptions, settings, pause/resume)
live in a second group, ``/papers-admin``, that needs Manage Channels unless a
server admin grants it to others (Server Settings → Integrations).

Every callback builds a core ``Command`` from the typed options and calls
``core.execute``; it defers first, since the core may search or write.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from functools import cache
from zoneinfo import available_timezones

import discord
from discord import app_commands

from paperpost.adapters.discord.feedback_commands import add_feedback_commands
from paperpost.adapters.discord.render import CONTENT_MAX, markdown_text, render_reply
from paperpost.bot.channels.grammar import CHANGES_CHANNEL, MAX_COMMAND_LENGTH, Command
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.replies import apology
from paperpost.bot.channels.settings import MAX_SUBSCRIPTION_LENGTH, MAX_TOP_N
from paperpost.bot.ports import Core

log = logging.getLogger(__name__)

ADMIN_GROUP = "papers-admin"  # the commands that change a channel (grammar.CHANGES_CHANNEL)
# Discord choices are closed lists: the presets plus the common patterns.
DAY_CHOICES = ("mon-fri", "daily", "mon,wed,fri", "tue,thu", "sat,sun",
               "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # fmt: skip
_ADMIN_MENTION = re.compile(r"/papers (" + "|".join(sorted(CHANGES_CHANNEL)) + r")\b")
NOT_IN_GUILD = "Paperpost works in server channels: use /papers there."


def channel_key(interaction: discord.Interaction) -> ChannelKey | None:
    if interaction.guild_id is None or interaction.channel_id is None:
        return None
    return ChannelKey("discord", str(interaction.guild_id), str(interaction.channel_id))


def for_discord(text: str) -> str:
    """Point the core's generic ``/papers subscribe …`` hints at ``/papers-admin``."""
    return _ADMIN_MENTION.sub(lambda m: f"/{ADMIN_GROUP} {m[1]}", text)


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


async def timezone_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    needle = current.strip().lower().replace(" ", "_")
    starts = [z for z in _zones() if z.lower().startswith(needle)]
    within = [z for z in _zones() if needle in z.lower() and z not in starts]
    return [app_commands.Choice(name=z, value=z) for z in (starts + within)[:25]]


class PaperCommands:
    """Builds the two command groups around one core."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.papers = app_commands.Group(
            name="papers", description="Hugging Face Daily Papers: search, top, digests",
            guild_only=True,
        )  # fmt: skip
        self.admin = app_commands.Group(
            name=ADMIN_GROUP, description="Change this channel's paper digest",
            guild_only=True, default_permissions=discord.Permissions(manage_channels=True),
        )  # fmt: skip
        self.set = app_commands.Group(
            name="set", description="Change one digest setting", parent=self.admin
        )
        self._add_reading_commands()
        self._add_admin_commands()
        self._add_settings()

    @property
    def groups(self) -> list[app_commands.Group]:
        return [self.papers, self.admin]

    # -- running one command -------------------------------------------------
    async def run(
        self, interaction: discord.Interaction, command: Command, *,
        ephemeral: bool, code_block: bool = False,
    ) -> None:  # fmt: skip
        key = channel_key(interaction)
        if key is None:
            await interaction.response.send_message(NOT_IN_GUILD, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)  # within 3 s
        user, name = str(interaction.user.id), interaction.user.display_name
        try:
            reply = await self.core.execute(key, command, user=user, name=name)
        except Exception as exc:  # the core never raises; this is the last line of defence
            reply = apology(exc, command=command.name, platform="discord", channel=str(key))
        text = for_discord(reply.text)
        # Announce first, so the channel sees the change before the user's confirmation.
        if (
            reply.announcement
            and not reply.is_error
            and not await self.announce(interaction, reply.announcement)
        ):
            text += "\n(I could not announce this in the channel: may I send messages here?)"
        reply = replace(reply, text=text)
        for message in render_reply(reply, code_block=code_block):
            await interaction.followup.send(
                content=message.content or discord.utils.MISSING,
                embeds=message.embeds or discord.utils.MISSING,
                ephemeral=ephemeral,
                allowed_mentions=discord.AllowedMentions.none(),
            )

    async def announce(self, interaction: discord.Interaction, announcement: str) -> bool:
        """Tell the channel who changed it; the mention shows but pings nobody."""
        prefix = f"<@{interaction.user.id}> "
        content = prefix + markdown_text(for_discord(announcement), CONTENT_MAX - len(prefix))
        channel = interaction.client.get_partial_messageable(
            interaction.channel_id or 0, guild_id=interaction.guild_id
        )
        try:
            await channel.send(content, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.warning("could not announce in %s: %s", interaction.channel_id, exc)
            return False
        return True

    # -- /papers -------------------------------------------------------------
    def _add_reading_commands(self) -> None:
        group, run = self.papers, self.run

        @group.command(name="help", description="How to use Paperpost")
        async def help_(interaction: discord.Interaction) -> None:
            await run(interaction, Command("help"), ephemeral=True, code_block=True)

        @group.command(name="search", description="Search every paper seen")
        @app_commands.describe(query='words, "phrase", OR, -exclude, author:, org:, upvotes:>=N')
        async def search(
            interaction: discord.Interaction,
            query: app_commands.Range[str, 1, MAX_COMMAND_LENGTH - 20],
        ) -> None:
            await run(interaction, Command("search", query), ephemeral=True)

        @group.command(name="show", description="One paper by arXiv id or URL")
        @app_commands.describe(paper="arXiv id (2608.19880) or an arxiv.org / huggingface.co URL")
        async def show(
            interaction: discord.Interaction, paper: app_commands.Range[str, 1, 300]
        ) -> None:
            await run(interaction, Command("show", paper), ephemeral=False)

        @group.command(name="similar", description="The papers most like one paper")
        @app_commands.describe(paper="arXiv id (2608.19880) or an arxiv.org / huggingface.co URL")
        async def similar(
            interaction: discord.Interaction, paper: app_commands.Range[str, 1, 300]
        ) -> None:
            await run(interaction, Command("similar", paper), ephemeral=True)

        @group.command(
            name="top", description="The most upvoted papers of the latest day, week or month"
        )
        @app_commands.describe(period="day (default), week or month")
        @app_commands.choices(
            period=[
                app_commands.Choice(name=p, value=p)
                for p in ("day", "week", "month", "team week", "team month")
            ]
        )
        async def top(interaction: discord.Interaction, period: str | None = None) -> None:
            await run(
                interaction,
                Command("top", "" if period in (None, "day") else period),
                ephemeral=False,
            )

        @group.command(name="list", description="This channel's saved searches")
        async def list_(interaction: discord.Interaction) -> None:
            await run(interaction, Command("list"), ephemeral=False)

        @group.command(name="settings", description="This channel's digest settings")
        async def settings(interaction: discord.Interaction) -> None:
            await run(interaction, Command("settings"), ephemeral=False)

        @group.command(name="preview", description="What the digest would have carried lately")
        @app_commands.describe(query="a saved search to try out (optional)")
        async def preview(
            interaction: discord.Interaction,
            query: app_commands.Range[str, 1, MAX_SUBSCRIPTION_LENGTH] | None = None,
        ) -> None:
            await run(interaction, Command("preview", query or ""), ephemeral=True)

        @group.command(name="why", description="Which saved search brought a paper here")
        @app_commands.describe(paper="arXiv id, e.g. 2608.19880")
        async def why(
            interaction: discord.Interaction, paper: app_commands.Range[str, 1, 300]
        ) -> None:
            await run(interaction, Command("why", paper), ephemeral=False)

        add_feedback_commands(group, run)

    # -- /papers-admin ---------------------------------------------------------
    def _add_admin_commands(self) -> None:
        group, run = self.admin, self.run

        @group.command(name="subscribe", description="Add a saved search to this channel's digest")
        @app_commands.describe(query='e.g. agents OR robots, "tool use" upvotes:>=10')
        async def subscribe(
            interaction: discord.Interaction,
            query: app_commands.Range[str, 1, MAX_SUBSCRIPTION_LENGTH],
        ) -> None:
            await run(interaction, Command("subscribe", query), ephemeral=True)

        @group.command(name="unsubscribe", description="Remove a saved search")
        @app_commands.describe(which="its number in /papers list, the query itself, or all")
        async def unsubscribe(
            interaction: discord.Interaction,
            which: app_commands.Range[str, 1, MAX_SUBSCRIPTION_LENGTH],
        ) -> None:
            await run(interaction, Command("unsubscribe", which), ephemeral=True)

        @group.command(name="pause", description="Stop the daily digest here")
        async def pause(interaction: discord.Interaction) -> None:
            await run(interaction, Command("pause"), ephemeral=True)

        @group.command(name="resume", description="Restart the daily digest here")
        async def resume(interaction: discord.Interaction) -> None:
            await run(interaction, Command("resume"), ephemeral=True)

        @group.command(name="post", description="Post this channel's next digest now")
        async def post(interaction: discord.Interaction) -> None:
            await run(interaction, Command("post"), ephemeral=True)

    def _add_settings(self) -> None:
        group, run = self.set, self.run

        def setting(name: str, value: str) -> Command:
            return Command("set", value, name)

        @group.command(name="time", description="When the digest is posted (24-hour HH:MM)")
        @app_commands.describe(time="e.g. 08:30")
        async def set_time(
            interaction: discord.Interaction, time: app_commands.Range[str, 1, 10]
        ) -> None:
            await run(interaction, setting("time", time), ephemeral=True)

        @group.command(name="tz", description="The time zone of the digest time")
        @app_commands.describe(zone="an IANA zone, e.g. Europe/Berlin")
        @app_commands.autocomplete(zone=timezone_autocomplete)
        async def set_tz(
            interaction: discord.Interaction, zone: app_commands.Range[str, 1, 64]
        ) -> None:
            await run(interaction, setting("tz", zone), ephemeral=True)

        @group.command(name="top", description="How many papers a digest carries at most")
        @app_commands.describe(count=f"1 to {MAX_TOP_N}")
        async def set_top(
            interaction: discord.Interaction, count: app_commands.Range[int, 1, MAX_TOP_N]
        ) -> None:
            await run(interaction, setting("top", str(count)), ephemeral=True)

        @group.command(name="days", description="Which days the digest is posted")
        @app_commands.choices(days=[app_commands.Choice(name=d, value=d) for d in DAY_CHOICES])
        async def set_days(interaction: discord.Interaction, days: str) -> None:
            await run(interaction, setting("days", days), ephemeral=True)

        @group.command(name="threads", description="Put each digest's details in a thread")
        async def set_threads(interaction: discord.Interaction, enabled: bool) -> None:
            await run(interaction, setting("threads", "on" if enabled else "off"), ephemeral=True)

        @group.command(name="min-upvotes", description="Leave out papers with fewer upvotes")
        async def set_min_upvotes(
            interaction: discord.Interaction, upvotes: app_commands.Range[int, 0, 100_000]
        ) -> None:
            await run(interaction, setting("min-upvotes", str(upvotes)), ephemeral=True)

        @group.command(name="weekly", description="The weekly roundup: a day and a time, or off")
        @app_commands.describe(when="e.g. fri 16:00 (this channel's zone), or off")
        async def set_weekly(
            interaction: discord.Interaction, when: app_commands.Range[str, 1, 20]
        ) -> None:
            await run(interaction, setting("weekly", when), ephemeral=True)
