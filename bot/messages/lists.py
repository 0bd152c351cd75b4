"""Paged lists of papers: ``/search``, ``/author`` and ``/recent``."""

from __future__ import annotations

from bot.domain.search import SearchPage
from bot.domain.text import plural
from bot.messages.limits import TITLE_MAX, fit_reply, fit_text
from bot.messages.model import Card, PagerState, Reply, Span
from bot.messages.papers import LIST_BLUE, entries


def _list_reply(
    page: SearchPage,
    *,
    title: str,
    command: str,
    argument: str,
    empty: str,
    author: str | None = None,
) -> Reply:
    first = (page.page - 1) * page.page_size + 1
    body = entries([h.paper for h in page.hits], first_number=first, author=author)
    if not body:
        if page.total and page.page > page.pages:
            empty = f"There is no page {page.page}: the list has {plural(page.pages, 'page')}."
        body = (Span(empty),)
    footer = f"{page.total_label} {'paper' if page.total == 1 else 'papers'}"
    if page.pages > 1:
        footer = f"page {page.page} of {page.pages} · {footer}"
    pager = PagerState(command, argument, page.page, page.pages) if page.pages > 1 else None
    card = Card(title=fit_text(title, TITLE_MAX), description=body, footer=footer, color=LIST_BLUE)
    return fit_reply(Reply(cards=(card,), pager=pager))


def build_search_page(page: SearchPage, query_text: str) -> Reply:
    """One page of ``/search`` results for ``query_text`` (as typed, with any ``sort:``)."""
    return _list_reply(
        page,
        title=f"Search: {query_text}",
        command="search",
        argument=query_text,
        empty="No papers match this query.",
    )


def build_author_page(page: SearchPage, name: str) -> Reply:
    """One page of the papers of an author, newest first; each entry's by-line shows the author
    even when they are not among the first names."""
    return _list_reply(
        page,
        title=f"Papers by {name}",
        command="author",
        argument=name,
        empty="No papers by this author in the catalog.",
        author=name,
    )


def build_recent_page(page: SearchPage, category: str | None) -> Reply:
    """One page of the newest papers, in one category or in all."""
    return _list_reply(
        page,
        title=f"Newest papers in {category}" if category else "Newest papers",
        command="recent",
        argument=category or "",
        empty="No papers in this category yet." if category else "The catalog is empty.",
    )
