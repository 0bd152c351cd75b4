"""Answering interactions with replies: deferral, followups, page turns and the command log.

Every command goes through :func:`respond`. The handler starts at once; if it has not finished
within ``defer_after`` seconds the interaction is deferred ("paperbot is thinking…", which buys
15 minutes) and the reply follows as a followup. Fast answers go out directly, so an error
stays private (ephemeral) — after a public deferral Discord would show it to the channel.
One log line per command: guild, command, latency, outcome, interaction id; never the token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.pagination import pager_view
from bot.discord.render import render_reply
from bot.messages import Reply

if TYPE_CHECKING:
    from bot.discord.client import PaperBot

log = logging.getLogger("bot.discord.commands")


def log_command(
    interaction: discord.Interaction[Any], command: str, started: float | None, outcome: str
) -> None:
    """The command's log line; latency from ``started`` (perf_counter), or else from the
    interaction's creation (its snowflake's time)."""
    if started is not None:
        latency_ms = (time.perf_counter() - started) * 1000
    else:
        age = discord.utils.utcnow() - interaction.created_at
        latency_ms = age.total_seconds() * 1000
    log.info(
        "guild=%s command=%s latency_ms=%.0f outcome=%s interaction=%s",
        interaction.guild_id or "dm",
        command,
        latency_ms,
        outcome,
        interaction.id,
    )


async def _settle(
    interaction: discord.Interaction[Any], work: Awaitable[Reply], defer_after: float, update: bool
) -> tuple[Reply, bool]:
    """Run ``work``; defer the interaction if it takes longer than ``defer_after``."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=defer_after)
        deferred = not done
        if deferred:
            if update:
                await interaction.response.defer()
            else:
                await interaction.response.defer(thinking=True)
        return await task, deferred
    except BaseException:
        task.cancel()
        raise


def _kwargs(reply: Reply, owner: int) -> dict[str, Any]:
    message = render_reply(reply)
    out: dict[str, Any] = {"content": message.content or None, "embeds": message.embeds}
    view = pager_view(reply.pager, owner)
    out["view"] = view if view is not None else discord.utils.MISSING
    return out


async def respond(
    interaction: discord.Interaction[Any],
    bot: PaperBot,
    command: str,
    work: Awaitable[Reply],
) -> None:
    """Answer a slash command with the reply ``work`` produces."""
    started = time.perf_counter()
    reply, deferred = await _settle(interaction, work, bot.defer_after, update=False)
    kwargs = _kwargs(reply, interaction.user.id)
    if deferred:
        await interaction.followup.send(**kwargs, ephemeral=reply.ephemeral, wait=True)
    else:
        await interaction.response.send_message(**kwargs, ephemeral=reply.ephemeral)
    log_command(interaction, f"/{command}", started, "error" if reply.error else "ok")


async def respond_page(
    interaction: discord.Interaction[Any],
    bot: PaperBot,
    *,
    command: str,
    argument: str,
    page: int,
    owner: int,
) -> None:
    """Turn a list to ``page`` in place, if the person clicking is the one who asked."""
    started = time.perf_counter()
    what = f"/{command} page {page}"
    if interaction.user.id != owner:
        await interaction.response.send_message(
            f"Only the person who asked can turn these pages; run /{command} yourself.",
            ephemeral=True,
        )
        log_command(interaction, what, started, "refused")
        return
    work = bot.registry.turn_page(bot.services, command, argument, page)
    reply, deferred = await _settle(interaction, work, bot.defer_after, update=True)
    if reply.error:
        message = render_reply(reply)
        if deferred:
            await interaction.followup.send(message.content, ephemeral=True)
        else:
            await interaction.response.send_message(message.content, ephemeral=True)
        log_command(interaction, what, started, "error")
        return
    kwargs = _kwargs(reply, owner)
    if kwargs["view"] is discord.utils.MISSING:
        kwargs["view"] = None  # the list shrank to one page: drop the buttons
    if deferred:
        await interaction.edit_original_response(**kwargs)
    else:
        await interaction.response.edit_message(**kwargs)
    log_command(interaction, what, started, "ok")
