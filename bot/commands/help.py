"""``/help``: the commands and what their parameters mean, from the registry."""

from __future__ import annotations

from collections.abc import Sequence

from bot.commands.registry import Args, Command, Context
from bot.messages import Reply, build_help
from bot.messages.help import CommandDoc


async def help_(commands: Sequence[CommandDoc], *, footer: str = "") -> Reply:
    """The command list."""
    return build_help(commands, footer=footer)


async def _run_help(ctx: Context, args: Args) -> Reply:
    return await help_(ctx.registry.commands)


COMMANDS = (Command(name="help", description="The commands and what they take.", run=_run_help),)
