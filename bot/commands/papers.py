"""``/paper`` and ``/similar``: one paper, and the papers nearest to it."""

from __future__ import annotations

import asyncio

from bot.commands.registry import Args, Command, Context, Param
from bot.domain.catalog import Catalog
from bot.domain.lookups import BadPaperRef, PaperNotFound, find_paper
from bot.domain.query import QueryError
from bot.domain.search import SearchBackend, similar_papers
from bot.messages import Reply, build_error, build_paper, build_similar

SIMILAR_COUNT = 5

_REF = "An arXiv id (2411.17700) or arxiv.org link, a DOI, or a catalog key."


async def paper(catalog: Catalog, ref: str) -> Reply:
    """The card of one paper."""
    try:
        found = await asyncio.to_thread(find_paper, catalog, ref)
    except (BadPaperRef, PaperNotFound) as exc:
        return build_error(str(exc))
    return build_paper(found)


async def similar(catalog: Catalog, backend: SearchBackend, ref: str) -> Reply:
    """The papers of the catalog nearest to one paper."""
    try:
        found = await asyncio.to_thread(similar_papers, backend, catalog, ref, limit=SIMILAR_COUNT)
    except (BadPaperRef, PaperNotFound, QueryError) as exc:
        return build_error(str(exc))
    return build_similar(found.paper, found.hits)


async def _run_paper(ctx: Context, args: Args) -> Reply:
    return await paper(ctx.deps.catalog, args["id"])


async def _run_similar(ctx: Context, args: Args) -> Reply:
    return await similar(ctx.deps.catalog, ctx.deps.search, args["id"])


COMMANDS = (
    Command(
        name="paper",
        description="One paper: title, authors, TL;DR, abstract and links.",
        params=(Param("id", _REF),),
        run=_run_paper,
    ),
    Command(
        name="similar",
        description="Papers of the catalog most like a given one.",
        params=(Param("id", _REF),),
        run=_run_similar,
    ),
)
