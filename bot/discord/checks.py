"""Permission checks for commands that change a server's set-up (topics, subscriptions).

Declare them on the command, so the check is visible where the command is::

    @app_commands.command()
    @requires("manage_channels")
    async def subscribe(self, interaction: discord.Interaction, topic: str) -> None: ...

Discord then hides the command from members without the permission (default permissions), and
the bot refuses it anyway if a server's integration settings let them see it: the tree's error
handler answers with a short private message naming the missing permission.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import discord
from discord import app_commands

T = TypeVar("T")


def requires(*permissions: str) -> Callable[[T], T]:
    """Gate an app command on the member's permissions (``discord.Permissions`` names)."""
    unknown = [p for p in permissions if p not in discord.Permissions.VALID_FLAGS]
    if unknown or not permissions:
        raise ValueError(f"not Discord permission names: {unknown or 'none given'}")
    flags = dict.fromkeys(permissions, True)

    def decorate(func: T) -> T:
        func = app_commands.guild_only(func)
        func = cast(Any, app_commands.default_permissions)(**flags)(func)
        return cast(T, cast(Any, app_commands.checks.has_permissions)(**flags)(func))

    return decorate


def manage_channels_only() -> Callable[[T], T]:
    """Commands that change what the bot posts where: members with Manage Channels only."""
    return requires("manage_channels")


def permission_label(name: str) -> str:
    """``manage_channels`` -> ``Manage Channels``."""
    return name.replace("_", " ").title().replace("Tts", "TTS")
