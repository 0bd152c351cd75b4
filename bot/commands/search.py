"""``/search``, ``/author`` and ``/recent``: paged lists of papers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.commands.registry import Args, Command, Context, Param
from bot.domain.query import QueryError
from bot.domain.search import (
    SearchBackend,
    SearchPage,
    check_category,
    papers_by_author,
    recent_papers,
    search_papers,
)
from bot.messages import (
    Reply,
    build_author_page,
    build_error,
    build_recent_page,
    build_search_page,
)

PAGE_SIZE = 5
SORTS = ("relevance", "recent")


async def _page(fetch: Callable[[int], SearchPage], page: int) -> SearchPage:
    """``fetch(page)`` in a worker thread. A page past the end (a button pressed after the
    results shrank) gives the last page instead; the first page says where that is, since
    counts may be estimated past the end."""
    result = await asyncio.to_thread(fetch, max(1, page))
    if not result.hits and result.page > 1:
        first = await asyncio.to_thread(fetch, 1)
        result = first if first.pages == 1 else await asyncio.to_thread(fetch, first.pages)
    return result


def query_text(query: str, sort: str | None) -> str:
    """The query as the parser reads it, with the sort option folded in as ``sort:``."""
    query = " ".join(query.split())
    return f"{query} sort:{sort}" if sort else query


async def search(
    backend: SearchBackend, query: str, sort: str | None = None, page: int = 1
) -> Reply:
    """One page of papers matching a query (words, "phrases", au:, cat:, since:, sort:...)."""
    if sort is not None and sort not in SORTS:
        return build_error(f"sort is {' or '.join(SORTS)}, not {sort!r}")
    text = query_text(query, sort)
    try:
        found = await _page(
            lambda n: search_papers(backend, text, page=n, page_size=PAGE_SIZE), page
        )
    except QueryError as exc:
        return build_error(f"cannot search for that: {exc.message}")
    return build_search_page(found, text)


async def author(backend: SearchBackend, name: str, page: int = 1) -> Reply:
    """One page of an author's papers, newest first."""
    name = " ".join(name.split())
    try:
        found = await _page(
            lambda n: papers_by_author(backend, name, page=n, page_size=PAGE_SIZE), page
        )
    except QueryError as exc:
        return build_error(exc.message)
    return build_author_page(found, name)


async def recent(backend: SearchBackend, category: str | None = None, page: int = 1) -> Reply:
    """One page of the newest papers, in one category or archive (cs.CL, cs), or in all."""
    try:
        code = check_category(category) if category and category.strip() else None
        found = await _page(
            lambda n: recent_papers(backend, code, page=n, page_size=PAGE_SIZE), page
        )
    except QueryError as exc:
        return build_error(exc.message)
    return build_recent_page(found, code)


async def _run_search(ctx: Context, args: Args) -> Reply:
    return await search(ctx.deps.search, args["query"], args.get("sort") or None)


async def _page_search(ctx: Context, argument: str, page: int) -> Reply:
    return await search(ctx.deps.search, argument, page=page)


async def _run_author(ctx: Context, args: Args) -> Reply:
    return await author(ctx.deps.search, args["name"])


async def _page_author(ctx: Context, argument: str, page: int) -> Reply:
    return await author(ctx.deps.search, argument, page=page)


async def _run_recent(ctx: Context, args: Args) -> Reply:
    return await recent(ctx.deps.search, args.get("category") or None)


async def _page_recent(ctx: Context, argument: str, page: int) -> Reply:
    return await recent(ctx.deps.search, argument or None, page=page)


COMMANDS = (
    Command(
        name="search",
        description='Search the catalog: words, "phrases", au:, cat:, since:, sort:recent.',
        params=(
            Param("query", "What to look for, e.g. long context cat:cs.CL since:2024-11"),
            Param("sort", "relevance (default with words) or recent", False, SORTS),
        ),
        run=_run_search,
        turn_page=_page_search,
    ),
    Command(
        name="author",
        description="Papers by an author, newest first.",
        params=(Param("name", "The author's name, e.g. Yoshua Bengio"),),
        run=_run_author,
        turn_page=_page_author,
    ),
    Command(
        name="recent",
        description="The newest papers, in one category or in all.",
        params=(Param("category", "An arXiv category such as cs.CL; all if left out", False),),
        run=_run_recent,
        turn_page=_page_recent,
    ),
)
