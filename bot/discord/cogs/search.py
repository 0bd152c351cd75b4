"""``/search``, ``/author`` and ``/recent`` on Discord, with category autocomplete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import search as handlers
from bot.discord.responses import respond
from bot.domain.categories import complete_category

if TYPE_CHECKING:
    from bot.discord.client import PaperBot

CHOICES_MAX = 25
CHOICE_TEXT_MAX = 100


def category_choices(current: str) -> list[app_commands.Choice[str]]:
    """At most 25 categories matching what has been typed, each label at most 100 characters."""
    return [
        app_commands.Choice(name=f"{code} — {name}"[:CHOICE_TEXT_MAX], value=code)
        for code, name in complete_category(current[:CHOICE_TEXT_MAX], limit=CHOICES_MAX)
    ]


class Search(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="search")
    async def search(
        self,
        interaction: discord.Interaction[Any],
        query: app_commands.Range[str, 1, 500],
        sort: Literal["relevance", "recent"] | None = None,
    ) -> None:
        """Search the catalog: words, "phrases", au:, cat:, since:, sort:recent.

        Parameters
        ----------
        query
            What to look for, e.g. long context cat:cs.CL since:2024-11
        sort
            relevance (default with words) or recent
        """
        work = handlers.search(self.bot.services.search, query, sort)
        await respond(interaction, self.bot, "search", work)

    @app_commands.command(name="author")
    async def author(
        self, interaction: discord.Interaction[Any], name: app_commands.Range[str, 1, 200]
    ) -> None:
        """Papers by an author, newest first.

        Parameters
        ----------
        name
            The author's name, e.g. Yoshua Bengio
        """
        work = handlers.author(self.bot.services.search, name)
        await respond(interaction, self.bot, "author", work)

    @app_commands.command(name="recent")
    async def recent(
        self, interaction: discord.Interaction[Any], category: str | None = None
    ) -> None:
        """The newest papers, in one category or in all.

        Parameters
        ----------
        category
            An arXiv category such as cs.CL; all if left out
        """
        work = handlers.recent(self.bot.services.search, category)
        await respond(interaction, self.bot, "recent", work)

    @recent.autocomplete("category")
    async def _complete_category(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return category_choices(current)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Search(cast("PaperBot", bot)))
