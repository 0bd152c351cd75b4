"""``/topic add|edit|remove|list|show`` on Discord, with topic-name autocomplete.

Adding, editing and removing need Manage Channels: declared with ``@requires`` (Discord's check)
and checked again by the handler, which gets the member's permissions in its
:class:`~bot.commands.topics.Actor`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import topics as handlers
from bot.commands.topics import Actor
from bot.discord.checks import requires
from bot.discord.poster import channel_label
from bot.discord.responses import respond

if TYPE_CHECKING:
    from bot.discord.client import PaperBot

CHOICES_MAX = 25
CHOICE_TEXT_MAX = 100


def actor_of(interaction: discord.Interaction[Any], bot: PaperBot) -> Actor:
    """Who runs the command, where, and whether they may manage channels."""
    return Actor(
        guild_id=interaction.guild_id or 0,
        channel_id=interaction.channel_id or 0,
        user_id=interaction.user.id,
        can_manage=bool(interaction.guild_id) and interaction.permissions.manage_channels,
        label=channel_label(bot),
    )


async def topic_choices(
    bot: PaperBot,
    interaction: discord.Interaction[Any],
    current: str,
    *,
    ready_made: bool = True,
) -> list[app_commands.Choice[str]]:
    """At most 25 topic names (the server's, then ready-made ones where the command takes
    them), each at most 100 chars."""
    if interaction.guild_id is None:
        return []
    names = await handlers.topic_names(
        bot.services,
        interaction.guild_id,
        current[:CHOICE_TEXT_MAX],
        limit=CHOICES_MAX,
        ready_made=ready_made,
    )
    return [app_commands.Choice(name=n[:CHOICE_TEXT_MAX], value=n[:CHOICE_TEXT_MAX]) for n in names]


class Topics(commands.Cog):
    topic = app_commands.Group(
        name="topic", description="This server's saved queries.", guild_only=True
    )

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @topic.command(name="add")
    @requires("manage_channels")
    async def add(
        self,
        interaction: discord.Interaction[Any],
        name: app_commands.Range[str, 1, 40],
        query: app_commands.Range[str, 1, 500] | None = None,
    ) -> None:
        """Save a query under a name; a ready-made topic needs only its name.

        Parameters
        ----------
        name
            A short name: lower-case letters, digits, dashes (long-context)
        query
            In the search language, e.g. "long context" OR "million tokens" cat:cs.CL
        """
        actor = actor_of(interaction, self.bot)
        work = handlers.add_topic(self.bot.services, actor, name, query)
        await respond(interaction, self.bot, "topic add", work)

    @topic.command(name="edit")
    @requires("manage_channels")
    async def edit(
        self,
        interaction: discord.Interaction[Any],
        name: app_commands.Range[str, 1, 40],
        query: app_commands.Range[str, 1, 500],
    ) -> None:
        """Change a topic's query.

        Parameters
        ----------
        name
            The topic's name
        query
            The new query, in the search language
        """
        actor = actor_of(interaction, self.bot)
        work = handlers.edit_topic(self.bot.services, actor, name, query)
        await respond(interaction, self.bot, "topic edit", work)

    @topic.command(name="remove")
    @requires("manage_channels")
    async def remove(
        self, interaction: discord.Interaction[Any], name: app_commands.Range[str, 1, 40]
    ) -> None:
        """Remove a topic and its subscriptions.

        Parameters
        ----------
        name
            The topic's name
        """
        actor = actor_of(interaction, self.bot)
        work = handlers.remove_topic(self.bot.services, actor, name)
        await respond(interaction, self.bot, "topic remove", work)

    @topic.command(name="list")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        """This server's topics, and the ready-made ones it can add."""
        actor = actor_of(interaction, self.bot)
        await respond(
            interaction, self.bot, "topic list", handlers.list_topics(self.bot.services, actor)
        )

    @topic.command(name="show")
    async def show(
        self, interaction: discord.Interaction[Any], name: app_commands.Range[str, 1, 40]
    ) -> None:
        """A topic's query, its matches of the last seven days, and where it goes.

        Parameters
        ----------
        name
            The topic's name
        """
        actor = actor_of(interaction, self.bot)
        work = handlers.show_topic(self.bot.services, actor, name)
        await respond(interaction, self.bot, "topic show", work)

    @add.autocomplete("name")
    @show.autocomplete("name")
    async def _complete_name(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.bot, interaction, current)

    @edit.autocomplete("name")
    @remove.autocomplete("name")
    async def _complete_own_name(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Only the server's own topics: a ready-made one is edited once added."""
        return await topic_choices(self.bot, interaction, current, ready_made=False)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Topics(cast("PaperBot", bot)))
