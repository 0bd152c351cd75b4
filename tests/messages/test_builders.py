"""The message builders: content, limits, truncation. Escaping is the front ends' job."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.catalog import CatalogStats
from bot.domain.papers import Paper
from bot.domain.search import SearchHit, SearchPage
from bot.domain.summaries import tldr
from bot.messages import (
    build_author_page,
    build_error,
    build_help,
    build_paper,
    build_paper_card,
    build_recent_page,
    build_search_page,
    build_similar,
    build_stats,
)
from bot.messages.limits import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    markup_len,
    reply_violations,
    spans_cost,
)
from bot.messages.model import Card, text_of

from .conftest import HOSTILE_TITLE


def _page(papers: list[Paper], total: int, page: int = 1, size: int = 5) -> SearchPage:
    return SearchPage([SearchHit(p, 1.0) for p in papers], total, page, size)


def _field(card: Card, name: str) -> str:
    return next(text_of(f.value) for f in card.fields if f.name == name)


def test_paper_card_has_linked_title_authors_tldr_links_and_footer(
    feed_papers: list[Paper],
) -> None:
    paper = next(p for p in feed_papers if p.key == "2411.17700")
    card = build_paper_card(paper)
    assert card.title.startswith("Exploring the Impact of Generative AI")
    assert card.url == "https://arxiv.org/abs/2411.17700"
    assert _field(card, "Authors") == "Jun Cui"
    assert _field(card, "Categories") == "cs.CY"
    assert _field(card, "Published") == "2024-11-28"
    links = {s.text: s.url for f in card.fields for s in f.value if s.url}
    assert links == {
        "abstract": "https://arxiv.org/abs/2411.17700",
        "PDF": "https://arxiv.org/pdf/2411.17700v1",
    }
    assert card.footer == "arXiv:2411.17700 · v1"


def test_paper_card_leads_with_the_tldr(feed_papers: list[Paper]) -> None:
    paper = feed_papers[3]
    description = text_of(build_paper_card(paper).description)
    assert description.startswith(f"TL;DR {tldr(paper.abstract, max_chars=300)}")


def test_long_authors_title_and_abstract_are_cut_at_words_with_an_ellipsis(
    huge_paper: Paper,
) -> None:
    reply = build_paper(huge_paper)
    (card,) = reply.cards
    assert reply_violations(reply) == []
    assert card.title.endswith("…") and markup_len(card.title) <= TITLE_MAX
    assert card.title.removesuffix("…").split() == ["Scaling"] * len(card.title.split())
    assert _field(card, "Authors").endswith(" et al.")
    assert _field(card, "Authors").count(",") == 4  # five names, then "et al."
    body = text_of(card.description)
    assert body.endswith("…") and spans_cost(card.description) <= DESCRIPTION_MAX
    assert body.removesuffix("…").endswith(("retrieval.", "retrieval", "improves", "method"))


def test_builders_leave_text_unescaped_for_the_front_ends() -> None:
    paper = Paper(title=HOSTILE_TITLE, abstract="We show [x](http://evil) works.", arxiv_id="1")
    card = build_paper_card(paper)
    assert card.title == HOSTILE_TITLE
    assert "[x](http://evil)" in text_of(card.description)


def test_unsafe_urls_are_not_links() -> None:
    paper = Paper(title="Feed item", url="javascript:alert(1)", pdf_url="http://x.org/a b(c)")
    card = build_paper_card(paper)
    assert card.url is None
    links = [s.url for f in card.fields for s in f.value if s.url]
    assert links == ["http://x.org/a%20b%28c%29"]


def test_paper_without_arxiv_id_shows_its_key_and_no_empty_fields() -> None:
    paper = Paper(title="A feed paper", doi="10.1000/xyz", sources=("feed",))
    reply = build_paper(paper)
    assert reply.cards[0].footer == "doi:10.1000/xyz"
    assert reply_violations(reply) == []


def test_search_page_numbers_entries_and_carries_a_pager(feed_papers: list[Paper]) -> None:
    reply = build_search_page(_page(feed_papers[5:10], total=23, page=2), "long context")
    (card,) = reply.cards
    text = text_of(card.description)
    assert text.startswith("6. ") and "\n\n10. " in text
    assert feed_papers[5].arxiv_id in text
    assert card.title == "Search: long context"
    assert card.footer == "page 2 of 5 · 23 papers"
    assert reply.pager is not None
    assert (reply.pager.command, reply.pager.argument, reply.pager.page, reply.pager.pages) == (
        "search",
        "long context",
        2,
        5,
    )
    links = [s.url for s in card.description if s.url]
    assert links == [f"https://arxiv.org/abs/{p.arxiv_id}" for p in feed_papers[5:10]]


def test_single_page_has_no_pager_and_empty_result_says_so() -> None:
    reply = build_search_page(_page([], total=0), "nothing here")
    assert reply.pager is None
    assert text_of(reply.cards[0].description) == "No papers match this query."
    assert reply.cards[0].footer == "0 papers"


def test_author_and_recent_pages(feed_papers: list[Paper]) -> None:
    author = build_author_page(_page(feed_papers[:5], total=7), "Jun Cui")
    assert author.cards[0].title == "Papers by Jun Cui"
    assert author.pager is not None and author.pager.argument == "Jun Cui"
    recent = build_recent_page(_page(feed_papers[:5], total=5), None)
    assert recent.cards[0].title == "Newest papers" and recent.pager is None
    in_cat = build_recent_page(_page(feed_papers[:5], total=12), "cs.CL")
    assert in_cat.pager is not None and in_cat.pager.argument == "cs.CL"


def test_list_of_huge_papers_stays_within_limits(huge_paper: Paper) -> None:
    papers = [replace(huge_paper, arxiv_id=f"2411.0000{i}") for i in range(10)]
    reply = build_search_page(_page(papers, total=100, size=10), "x" * 500)
    assert reply_violations(reply) == []
    assert text_of(reply.cards[0].description).count("\n\n") == 9  # every entry kept


def test_similar_lists_the_neighbours(feed_papers: list[Paper]) -> None:
    reply = build_similar(feed_papers[0], [SearchHit(p, 0.5) for p in feed_papers[1:4]])
    (card,) = reply.cards
    assert card.title.startswith("Similar to: Exploring")
    assert text_of(card.description).startswith("1. ")
    empty = build_similar(feed_papers[0], [])
    assert text_of(empty.cards[0].description) == "No similar papers in the catalog yet."


def test_stats() -> None:
    stats = CatalogStats(
        papers=1504,
        authors=6000,
        sources=1,
        categories=150,
        versions=1600,
        newest_added=datetime(2024, 11, 28, 5, 0, tzinfo=UTC),
        newest_published=datetime(2024, 11, 28, tzinfo=UTC),
        per_source={"arxiv-rss": 1504},
        top_categories=[("cs.LG", 300), ("cs.CL", 200)],
    )
    (card,) = build_stats(stats).cards
    assert _field(card, "Papers") == "1,504"
    assert _field(card, "Sources") == "arxiv-rss: 1,504"
    assert _field(card, "Top categories") == "cs.LG (300) · cs.CL (200)"
    assert _field(card, "Newest paper") == "2024-11-28"


class _Param:
    def __init__(self, name: str, description: str, required: bool) -> None:
        self.name, self.description, self.required = name, description, required


class _Command:
    def __init__(self, name: str, description: str, params: list[_Param]) -> None:
        self.name, self.description, self.params = name, description, params


def test_help_lists_usage_and_parameters() -> None:
    commands = [
        _Command("search", "Search.", [_Param("query", "words", True), _Param("sort", "", False)]),
        _Command("stats", "Counts.", []),
    ]
    text = text_of(build_help(commands).cards[0].description)
    assert text.startswith("/search query [sort] — Search.\n• query: words")
    assert "/stats — Counts." in text


def test_error_is_short_private_and_marked() -> None:
    reply = build_error("no paper 2411.99999 in the catalog")
    assert reply.content == "No paper 2411.99999 in the catalog"
    assert reply.ephemeral and reply.error and not reply.cards
    assert len(build_error("x " * 3000).content) <= 2000
