"""Answering interactions with replies: deferral, followups, page turns and the command log.

Every command goes through :func:`respond`. The handler starts at once; if it has not finished
within ``defer_after`` seconds the interaction is deferred ("paperbot is thinking…", which buys
15 minutes) and the reply follows as a followup. Fast answers go out directly, so an error
stays private (ephemeral) — after a public deferral Discord would show it to the channel.
One log line per command: guild, command, latency, outcome, interaction id; never the token.

In a server, the reply also names the server's subscriptions that were paused (Discord answered
403/404 for their channel) and nobody was told about yet: the first command of any kind after
a pause carries the notice, once (:func:`bot.commands.topics.pause_notice`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import discord

from bot.commands.registry import Place
from bot.commands.topics import pause_notice
from bot.discord.pagination import page_buttons
from bot.discord.poster import channel_label
from bot.discord.render import render_reply
from bot.messages import Reply
from bot.messages.topics import with_notice

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


async def _with_pause_notice(
    interaction: discord.Interaction[Any], bot: PaperBot, work: Awaitable[Reply]
) -> Reply:
    """``work``'s reply, preceded by the server's pause notice when there is one to give."""
    reply = await work
    if interaction.guild_id is None:
        return reply
    try:
        notice = await pause_notice(bot.services, interaction.guild_id, channel_label(bot))
    except Exception:  # the command's own answer matters more than the notice
        log.exception("could not look up paused subscriptions (interaction %s)", interaction.id)
        return reply
    return with_notice(reply, notice)


async def _kwargs(bot: PaperBot, reply: Reply, owner: int) -> dict[str, Any]:
    message = render_reply(reply)
    out: dict[str, Any] = {"content": message.content or None, "embeds": message.embeds}
    view = await page_buttons(reply.pager, owner, bot.services.paged_queries)
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
    work = _with_pause_notice(interaction, bot, work)
    reply, deferred = await _settle(interaction, work, bot.defer_after, update=False)
    kwargs = await _kwargs(bot, reply, interaction.user.id)
    if deferred:
        await interaction.followup.send(**kwargs, ephemeral=reply.ephemeral, wait=True)
    else:
        await interaction.response.send_message(**kwargs, ephemeral=reply.ephemeral)
    log_command(interaction, f"/{command}", started, "error" if reply.error else "ok")


async def respond_privately(
    interaction: discord.Interaction[Any], bot: PaperBot, command: str, work: Awaitable[Reply]
) -> None:
    """Answer with a reply only the asker sees, however long ``work`` takes: the interaction is
    deferred privately at once (``respond`` defers publicly when work is slow)."""
    started = time.perf_counter()
    await interaction.response.defer(ephemeral=True, thinking=True)
    reply = await work
    kwargs = await _kwargs(bot, reply, interaction.user.id)
    kwargs["content"] = kwargs["content"] or discord.utils.MISSING
    await interaction.followup.send(**kwargs, ephemeral=True, wait=True)
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
    place = None
    if interaction.guild_id is not None and interaction.channel_id is not None:
        place = Place(interaction.guild_id, interaction.channel_id)
    work = bot.registry.turn_page(bot.services, command, argument, page, place)
    reply, deferred = await _settle(interaction, work, bot.defer_after, update=True)
    if reply.error:
        message = render_reply(reply)
        if deferred:
            await interaction.followup.send(message.content, ephemeral=True)
        else:
            await interaction.response.send_message(message.content, ephemeral=True)
        log_command(interaction, what, started, "error")
        return
    kwargs = await _kwargs(bot, reply, owner)
    if kwargs["view"] is discord.utils.MISSING:
        kwargs["view"] = None  # the list shrank to one page: drop the buttons
    if deferred:
        await interaction.edit_original_response(**kwargs)
    else:
        await interaction.response.edit_message(**kwargs)
    log_command(interaction, what, started, "ok")
