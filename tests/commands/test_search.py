"""/search, /author, /recent and /similar handlers on the real catalog."""

from __future__ import annotations

import pytest

from bot.app import Services
from bot.commands import default_registry
from bot.commands.papers import similar
from bot.commands.search import author, query_text, recent, search
from bot.messages.model import text_of


async def test_search_pages_through_the_results(services: Services) -> None:
    first = await search(services.search, "long context")
    assert not first.error and first.pager is not None
    assert (first.pager.command, first.pager.argument, first.pager.page) == (
        "search",
        "long context",
        1,
    )
    assert first.pager.pages > 1
    second = await search(services.search, "long context", page=2)
    assert second.pager is not None and second.pager.page == 2
    assert text_of(second.cards[0].description).startswith("6. ")
    assert second.cards[0].description != first.cards[0].description


async def test_a_page_past_the_end_shows_the_last_page(services: Services) -> None:
    reply = await search(services.search, "long context", page=999)
    assert reply.pager is not None and reply.pager.page == reply.pager.pages


async def test_sort_is_folded_into_the_query(services: Services) -> None:
    assert query_text("  long   context ", "recent") == "long context sort:recent"
    reply = await search(services.search, "long context", "recent")
    assert reply.pager is not None and reply.pager.argument == "long context sort:recent"
    bad = await search(services.search, "long context", "best")
    assert bad.error


@pytest.mark.parametrize(
    "query", ['"unclosed', "cat:nonsense.XX llm", "au:", "x" * 600, "long context sort:relevance"]
)
async def test_queries_the_parser_rejects_are_error_replies(services: Services, query: str) -> None:
    sort = "recent" if query.endswith("sort:relevance") else None
    reply = await search(services.search, query, sort)
    assert reply.error and reply.ephemeral
    assert reply.content.startswith("Cannot search for that: ")


async def test_author(services: Services) -> None:
    reply = await author(services.search, "  Banibrata   Mukhopadhyay ")
    assert reply.cards[0].title == "Papers by Banibrata Mukhopadhyay"
    assert reply.cards[0].footer == "5 papers" and reply.pager is None
    text = text_of(reply.cards[0].description)
    assert "\n\n5. " in text and "Banibrata Mukhopadhyay" in text
    assert (await author(services.search, "!!!")).error


async def test_recent(services: Services) -> None:
    everything = await recent(services.search)
    assert everything.cards[0].title == "Newest papers"
    assert everything.pager is not None and everything.pager.argument == ""
    in_cl = await recent(services.search, "CS.cl")
    assert in_cl.cards[0].title == "Newest papers in cs.CL"
    assert in_cl.pager is not None and in_cl.pager.argument == "cs.CL"
    bad = await recent(services.search, "astrology")
    assert bad.error and "'astrology' is not an arXiv category" in bad.content


async def test_similar(services: Services) -> None:
    reply = await similar(services.catalog, services.search, "2411.17700")
    assert reply.cards[0].title.startswith("Similar to: Exploring")
    assert "2411.17700" not in text_of(reply.cards[0].description)
    assert (await similar(services.catalog, services.search, "2411.99999")).error
    assert (await similar(services.catalog, services.search, "nonsense")).error


async def test_turn_page_through_the_registry(services: Services) -> None:
    registry = default_registry()
    reply = await registry.turn_page(services, "recent", "cs.CL", 3)
    assert reply.pager is not None and reply.pager.page == 3
    assert reply.cards[0].title == "Newest papers in cs.CL"
