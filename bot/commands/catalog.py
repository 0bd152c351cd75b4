"""``/stats``: what the catalog holds."""

from __future__ import annotations

import asyncio

from bot.commands.registry import Args, Command, Context
from bot.domain.catalog import Catalog
from bot.messages import Reply, build_stats


async def stats(catalog: Catalog) -> Reply:
    """Catalog statistics: papers, authors, categories, sources, newest paper."""
    return build_stats(await asyncio.to_thread(catalog.stats))


async def _run_stats(ctx: Context, args: Args) -> Reply:
    return await stats(ctx.deps.catalog)


COMMANDS = (
    Command(
        name="stats",
        description="How many papers, authors and categories the catalog holds.",
        run=_run_stats,
    ),
)
