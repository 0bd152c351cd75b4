"""``/help`` on Discord: the registry's command list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import help as handlers
from bot.discord.responses import respond

if TYPE_CHECKING:
    from bot.discord.client import PaperBot


class Help(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        """The commands and what they take."""
        footer = "Lists page with ◀ ▶ buttons that only the person who asked can press."
        work = handlers.help_(self.bot.registry.commands, footer=footer)
        await respond(interaction, self.bot, "help", work)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Help(cast("PaperBot", bot)))
