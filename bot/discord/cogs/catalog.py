"""``/stats`` on Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import catalog as handlers
from bot.discord.responses import respond

if TYPE_CHECKING:
    from bot.discord.client import PaperBot


class Catalog(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="stats")
    async def stats(self, interaction: discord.Interaction[Any]) -> None:
        """How many papers, authors and categories the catalog holds."""
        await respond(interaction, self.bot, "stats", handlers.stats(self.bot.services.catalog))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Catalog(cast("PaperBot", bot)))
