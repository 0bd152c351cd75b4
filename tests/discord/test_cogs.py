"""Every cog loads and the tree syncs; Discord's commands match the shared registry."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.commands import default_registry
from bot.discord.client import PaperBot
from bot.discord.cogs import EXTENSIONS
from tests.fakediscord import FakeDiscord

from .conftest import TOKEN, World, make_services


async def test_every_cog_loads_and_the_synced_commands_match_the_registry(world: World) -> None:
    assert set(world.bot.extensions) == set(EXTENSIONS)
    registry = default_registry()
    synced = {c["name"]: c for c in world.fake.commands}
    assert set(synced) == {c.name for c in registry.commands}
    for command in registry.commands:
        remote = synced[command.name]
        assert remote["description"] == command.description
        options = remote.get("options") or []
        assert [o["name"] for o in options] == [p.name for p in command.params]
        for option, param in zip(options, command.params, strict=True):
            assert option["description"] == param.description  # from the cog's docstring
            assert bool(option.get("required")) == param.required


async def test_guild_ids_in_the_settings_sync_to_those_guilds_only(database_url: str) -> None:
    async with FakeDiscord(token=TOKEN) as fake:
        gid = fake.add_guild("Lab")
        services = make_services(database_url, fake, discord_guild_ids=[gid])
        try:
            bot = PaperBot(services, guild_ready_timeout=0.1)
            async with fake.run_client(bot, token=TOKEN, configure=False):
                assert fake.commands == []
                names = {c["name"] for c in fake.guild_commands[gid]}
                assert names == {c.name for c in default_registry().commands}
        finally:
            services.close()


class _Clash(commands.Cog):
    @app_commands.command(name="paper", description="A second /paper.")
    async def paper(self, interaction: discord.Interaction[Any]) -> None:  # pragma: no cover
        await interaction.response.send_message("never")


async def test_a_cog_with_a_clashing_command_name_fails_to_load(world: World) -> None:
    bot = world.new_bot(sync_commands=False)
    await bot.setup_hook()  # every extension loads on a fresh bot
    with pytest.raises(app_commands.CommandAlreadyRegistered):
        await bot.add_cog(_Clash())
