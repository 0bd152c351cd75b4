"""``/paper`` and ``/similar`` on Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import papers as handlers
from bot.discord.responses import respond

if TYPE_CHECKING:
    from bot.discord.client import PaperBot


class Papers(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="paper")
    @app_commands.rename(ref="id")
    async def paper(self, interaction: discord.Interaction[Any], ref: str) -> None:
        """One paper: title, authors, TL;DR, abstract and links.

        Parameters
        ----------
        ref
            An arXiv id (2411.17700) or arxiv.org link, a DOI, or a catalog key.
        """
        work = handlers.paper(self.bot.services.catalog, ref)
        await respond(interaction, self.bot, "paper", work)

    @app_commands.command(name="similar")
    @app_commands.rename(ref="id")
    async def similar(self, interaction: discord.Interaction[Any], ref: str) -> None:
        """Papers of the catalog most like a given one.

        Parameters
        ----------
        ref
            An arXiv id (2411.17700) or arxiv.org link, a DOI, or a catalog key.
        """
        services = self.bot.services
        work = handlers.similar(services.catalog, services.search, ref)
        await respond(interaction, self.bot, "similar", work)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Papers(cast("PaperBot", bot)))
