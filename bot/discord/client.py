"""The Discord bot: a commands.Bot built with the application's services.

Start-up points discord.py at the configured REST and gateway URLs (for REST proxies and the
tests' local Discord), loads every cog in :data:`bot.discord.cogs.EXTENSIONS`, registers the
persistent page buttons, and syncs the slash commands, globally or to the configured guilds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.commands import Registry, default_registry
from bot.commands.topics import CONSOLE_GUILD
from bot.digests.scheduler import DigestScheduler
from bot.digests.service import DigestService, Scope
from bot.discord.checks import permission_label
from bot.discord.cogs import EXTENSIONS
from bot.discord.pagination import PageButton, StoredPageButton
from bot.discord.poster import DiscordPauseNotifier, DiscordPoster
from bot.discord.responses import log_command

if TYPE_CHECKING:
    from bot.app import Services
    from bot.settings import Settings

log = logging.getLogger(__name__)

DEFER_AFTER = 1.0


def configure_endpoints(settings: Settings) -> None:
    """Point discord.py at the configured REST base and gateway (class attributes, global)."""
    discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


class PaperBot(commands.Bot):
    """paperbot on Discord. ``services`` and ``registry`` are built once, at the entry point."""

    def __init__(
        self,
        services: Services,
        *,
        registry: Registry | None = None,
        extensions: Sequence[str] = EXTENSIONS,
        sync_commands: bool = True,
        defer_after: float = DEFER_AFTER,
        run_scheduler: bool = True,
        **options: Any,
    ) -> None:
        # A paper bot has no voice: spare the log discord.py's warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents(guilds=True),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.services = services
        self.registry = registry or default_registry()
        self.extension_names = tuple(extensions)
        self.sync_on_start = sync_commands
        self.defer_after = defer_after
        self.run_scheduler = run_scheduler
        self.scheduler: DigestScheduler | None = None
        self.tree.error(self.on_app_command_error)

    async def login(self, token: str) -> None:
        configure_endpoints(self.services.settings)
        await super().login(token)

    async def setup_hook(self) -> None:
        for name in self.extension_names:
            await self.load_extension(name)
        self.add_dynamic_items(PageButton, StoredPageButton)
        if self.sync_on_start:
            await self.sync_commands()
        await self.start_digests()

    async def start_digests(self) -> None:
        """Digests post through this client; the scheduler runs in this event loop."""
        services = self.services
        store = services.subscriptions
        services.digests = DigestService(
            store,
            DiscordPoster(self),
            clock=services.digests.clock,
            options=services.digests.options,
            notifier=DiscordPauseNotifier(
                self, store.mark_pause_notified, store.release_pause_notice
            ),
            scope=Scope(CONSOLE_GUILD, only=False),  # the console's subscriptions are its own
            stale_after=services.digests.stale_after,
        )
        if not self.run_scheduler:
            return
        self.scheduler = DigestScheduler(
            services.engine,
            store,
            services.digests,
            ingest=services.ingest_configured,  # then the search index
            ingest_schedule=services.settings.ingest_schedule,
            ingest_timezone=services.settings.ingest_timezone,
            lease_ttl=timedelta(seconds=services.settings.scheduler_lease_seconds),
        )
        services.scheduler = self.scheduler
        await self.scheduler.start()

    async def close(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            if self.services.scheduler is scheduler:
                self.services.scheduler = None
            try:
                await scheduler.stop()
            except Exception:  # closing must finish whatever the database says
                log.exception("could not stop the digest scheduler cleanly")
        await super().close()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Publish the slash commands: to each configured guild (at once), else globally."""
        guild_ids = self.services.settings.discord_guild_ids
        if not guild_ids:
            synced = await self.tree.sync()
            log.info("synced %d commands globally", len(synced))
            return synced
        synced = []
        for gid in guild_ids:
            guild = discord.Object(gid)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), gid)
        return synced

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guilds", self.user, len(self.guilds))

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """A short private message for the person; the detail, with the interaction id, in the
        log."""
        name = f"/{interaction.command.qualified_name}" if interaction.command else "/?"
        if isinstance(error, app_commands.MissingPermissions):
            needed = " and ".join(permission_label(p) for p in error.missing_permissions)
            message = f"You need the {needed} permission to use {name}."
            outcome = "refused"
        elif isinstance(error, app_commands.CheckFailure):
            message = f"You cannot use {name} here."
            outcome = "refused"
        else:
            original = getattr(error, "original", error)
            log.error(
                "command %s failed (interaction %s)",
                name,
                interaction.id,
                exc_info=(type(original), original, original.__traceback__),
            )
            message = f"Sorry, {name} failed. The error is logged as interaction {interaction.id}."
            outcome = "failed"
        try:
            if interaction.response.is_done():
                await interaction.followup.send(message, ephemeral=True)
            else:
                await interaction.response.send_message(message, ephemeral=True)
        except discord.HTTPException as exc:
            log.warning("could not tell interaction %s about its error: %s", interaction.id, exc)
        log_command(interaction, name, None, outcome)


async def _serve(bot: PaperBot, token: str) -> None:
    async with bot:
        await bot.start(token)


def run_discord(services: Services) -> int:
    """Run the bot until interrupted; returns the exit status."""
    token = services.settings.discord_token
    if token is None:
        raise ValueError("no DISCORD_TOKEN set")
    bot = PaperBot(services)
    try:
        asyncio.run(_serve(bot, token.get_secret_value()))
    except discord.LoginFailure:
        log.error("Discord refused the token (DISCORD_TOKEN); check it in the developer portal")
        return 1
    except discord.PrivilegedIntentsRequired as exc:
        log.error("Discord refused a privileged intent: %s", exc)
        return 1
    except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
        # Logging in failed (the gateway reconnects by itself once connected): no network, a
        # Discord outage, or a wrong PAPERBOT_DISCORD_API_BASE. A supervisor starts us again.
        log.error(
            "could not reach Discord at %s to log in (%s: %s); paperbot stops",
            services.settings.discord_api_base,
            exc.__class__.__name__,
            exc,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
