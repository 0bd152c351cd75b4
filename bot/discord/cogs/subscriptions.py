"""``/subscribe``, ``/unsubscribe``, ``/subscriptions`` and ``/digest preview|now`` on Discord.

Subscribing, unsubscribing and ``/digest now`` need Manage Channels (``@requires``, and again in
the handler). ``/digest preview`` answers privately.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import available_timezones

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import subscriptions as handlers
from bot.discord.checks import permission_label, requires
from bot.discord.cogs.topics import CHOICE_TEXT_MAX, CHOICES_MAX, actor_of, topic_choices
from bot.discord.responses import respond, respond_privately
from bot.messages import Reply
from bot.messages.topics import build_cannot_post_here, no_thread_note, with_closing_note

if TYPE_CHECKING:
    from bot.discord.client import PaperBot

_WHEN = ("daily 08:00", "weekly mon 09:30", "asap", "every 2h")
_ZONES = sorted(available_timezones())


def zone_choices(current: str) -> list[app_commands.Choice[str]]:
    wanted = current.strip().lower().replace(" ", "_")
    found = [z for z in ("UTC", *_ZONES) if wanted in z.lower()]
    return [app_commands.Choice(name=z[:CHOICE_TEXT_MAX], value=z) for z in found[:CHOICES_MAX]]


# What the bot needs in a channel to post digests there, and to continue them in a thread.
_TO_POST = ("view_channel", "send_messages", "embed_links")
_FOR_THREADS = ("create_public_threads", "send_messages_in_threads")


def _bot_missing(
    interaction: discord.Interaction[Any], channel: Any, thread: bool
) -> tuple[list[str], list[str]]:
    """The permissions the bot lacks in ``channel`` to post digests, and (with ``thread``) to
    start threads there; nothing when they cannot be known (the channel or the bot's member is
    not cached: the first digest then finds out, and a 403 pauses with a notice)."""
    guild = interaction.guild
    me = guild.me if guild is not None else None
    if me is None or not isinstance(channel, discord.abc.GuildChannel):
        return [], []
    perms = channel.permissions_for(me)
    missing = [name for name in _TO_POST if not getattr(perms, name)]
    threads = [name for name in _FOR_THREADS if thread and not getattr(perms, name)]
    return missing, threads


def _labels(names: list[str]) -> list[str]:
    return [permission_label(n) for n in names]


async def _reply(reply: Reply) -> Reply:
    return reply


async def _noted(work: Awaitable[Reply], note: str) -> Reply:
    return with_closing_note(await work, note)


class Subscriptions(commands.Cog):
    digest = app_commands.Group(
        name="digest", description="A topic's digest: preview it, or post it now.", guild_only=True
    )

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="subscribe")
    @requires("manage_channels")
    async def subscribe(
        self,
        interaction: discord.Interaction[Any],
        topic: app_commands.Range[str, 1, 40],
        channel: discord.TextChannel | None = None,
        when: app_commands.Range[str, 1, 60] | None = None,
        timezone: app_commands.Range[str, 1, 60] | None = None,
        thread: bool = False,
        notify_empty: bool = False,
    ) -> None:
        """Deliver a topic's digest to a channel; again to change or resume it.

        Parameters
        ----------
        topic
            A topic of this server, or a ready-made one (see /topic list)
        channel
            Where the digest goes; this channel if left out
        when
            daily 08:00 (default), weekly mon 09:30, asap (as papers arrive), every 2h
        timezone
            An IANA time zone such as Europe/Berlin; UTC if left out
        thread
            Put long digests in a thread
        notify_empty
            Post one line when there is nothing new, saying why
        """
        actor = actor_of(interaction, self.bot)
        target = channel if channel is not None else interaction.channel
        missing, thread_missing = _bot_missing(interaction, target, thread)
        if missing:
            name = getattr(target, "name", None)
            where = f"#{name}" if name else "this channel"
            work = _reply(build_cannot_post_here(where, _labels(missing)))
            await respond(interaction, self.bot, "subscribe", work)
            return
        work = handlers.subscribe(
            self.bot.services,
            actor,
            topic,
            channel.id if channel is not None else None,
            when,
            timezone,
            use_thread=thread,
            notify_empty=notify_empty,
        )
        if thread_missing:
            work = _noted(work, no_thread_note(_labels(thread_missing)))
        await respond(interaction, self.bot, "subscribe", work)

    @app_commands.command(name="unsubscribe")
    @requires("manage_channels")
    async def unsubscribe(
        self,
        interaction: discord.Interaction[Any],
        topic: app_commands.Range[str, 1, 40],
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Stop delivering a topic to a channel.

        Parameters
        ----------
        topic
            The topic's name
        channel
            The channel; this channel if left out
        """
        actor = actor_of(interaction, self.bot)
        work = handlers.unsubscribe(
            self.bot.services, actor, topic, channel.id if channel is not None else None
        )
        await respond(interaction, self.bot, "unsubscribe", work)

    @app_commands.command(name="subscriptions")
    @app_commands.guild_only()
    async def subscriptions(self, interaction: discord.Interaction[Any]) -> None:
        """The channels of this server and the topics they receive."""
        actor = actor_of(interaction, self.bot)
        work = handlers.list_subscriptions(self.bot.services, actor)
        await respond(interaction, self.bot, "subscriptions", work)

    @digest.command(name="preview")
    async def preview(
        self, interaction: discord.Interaction[Any], topic: app_commands.Range[str, 1, 40]
    ) -> None:
        """What the topic's next digest would hold (only you see it).

        Parameters
        ----------
        topic
            A topic of this server, or a ready-made one (see /topic list)
        """
        actor = actor_of(interaction, self.bot)
        work = handlers.digest_preview(self.bot.services, actor, topic)
        await respond_privately(interaction, self.bot, "digest preview", work)

    @digest.command(name="now")
    @requires("manage_channels")
    async def now(
        self, interaction: discord.Interaction[Any], topic: app_commands.Range[str, 1, 40]
    ) -> None:
        """Post the topic's digest to its channels in this server now.

        Parameters
        ----------
        topic
            The topic's name
        """
        actor = actor_of(interaction, self.bot)
        work = handlers.digest_now(self.bot.services, actor, topic)
        await respond_privately(interaction, self.bot, "digest now", work)

    @subscribe.autocomplete("topic")
    @preview.autocomplete("topic")
    async def _complete_topic(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """The server's topics, then the ready-made ones (these commands take them too)."""
        return await topic_choices(self.bot, interaction, current)

    @unsubscribe.autocomplete("topic")
    @now.autocomplete("topic")
    async def _complete_own_topic(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Only the server's own topics: these commands need a subscribed one."""
        return await topic_choices(self.bot, interaction, current, ready_made=False)

    @subscribe.autocomplete("when")
    async def _complete_when(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip()
        options = ([typed] if typed and typed not in _WHEN else []) + list(_WHEN)
        return [app_commands.Choice(name=o[:CHOICE_TEXT_MAX], value=o[:60]) for o in options]

    @subscribe.autocomplete("timezone")
    async def _complete_zone(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return zone_choices(current)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Subscriptions(cast("PaperBot", bot)))
