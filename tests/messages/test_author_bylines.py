"""``/author`` entries always show the author looked up, even past the first three names."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.papers import Author, Paper
from bot.domain.search import SearchHit, SearchPage
from bot.messages import build_author_page, build_search_page
from bot.messages.limits import reply_violations
from bot.messages.model import text_of
from bot.messages.papers import author_byline

TWELVE = [
    "Ada First",
    "Bo Second",
    "Cy Third",
    "Di Fourth",
    "Geoffrey E. Hinton",
    *(f"Person Number{i}" for i in range(6, 13)),
]


def _paper(names: list[str], n: int = 1) -> Paper:
    return Paper(
        title=f"Paper {n}",
        authors=tuple(Author(name) for name in names),
        abstract="We study things.",
        arxiv_id=f"2411.{17000 + n:05d}",
        version=1,
        categories=("cs.LG",),
    )


def _page(papers: list[Paper]) -> SearchPage:
    return SearchPage([SearchHit(p, 0.0) for p in papers], len(papers), 1, 5)


def test_an_author_past_the_first_three_is_shown_with_their_place() -> None:
    line = author_byline(TWELVE, 90, author="Hinton G")
    assert line == "Ada First, Bo Second, … Geoffrey E. Hinton (5th of 12), et al."
    assert author_byline(TWELVE, 90) == "Ada First, Bo Second, Cy Third et al."


def test_an_author_among_the_first_three_keeps_the_usual_by_line() -> None:
    assert author_byline(TWELVE, 90, author="bo second") == "Ada First, Bo Second, Cy Third et al."
    assert author_byline(TWELVE[:5], 90, author="geoffrey hinton") == (
        "Ada First, Bo Second, … Geoffrey E. Hinton (5th of 5)"
    )
    assert author_byline(TWELVE, 90, author="nobody here") == author_byline(TWELVE, 90)


def test_a_tight_limit_drops_the_other_names_first() -> None:
    assert author_byline(TWELVE, 45, author="hinton") == "… Geoffrey E. Hinton (5th of 12), et al."
    cut = author_byline(TWELVE, 32, author="hinton")
    assert cut.startswith("… Geoff") and cut.endswith("(5th of 12), et al.") and len(cut) <= 32
    assert author_byline(["Ann Long-Name", "Bea Other", "Cy Found"], 30, author="found") == (
        "… Cy Found (3rd of 3)"
    )


@given(
    st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=30),
    st.integers(0, 29),
    st.integers(1, 120),
)
def test_never_longer_than_the_limit(names: list[str], pick: int, limit: int) -> None:
    author = names[pick % len(names)]
    assert len(author_byline(names, limit, author=author)) <= limit


def test_the_author_page_shows_the_author_in_every_entry_and_search_does_not() -> None:
    papers = [
        _paper(TWELVE, 1),
        _paper(["Geoffrey Hinton", "Someone Else"], 2),
        _paper([*TWELVE[:3], "Di Fourth", "G. Hinton"], 3),
    ]
    reply = build_author_page(_page(papers), "Geoffrey Hinton")
    assert reply_violations(reply) == []
    body = text_of(reply.cards[0].description)
    assert "Ada First, Bo Second, … Geoffrey E. Hinton (5th of 12), et al. · cs.LG" in body
    assert "\nGeoffrey Hinton, Someone Else · cs.LG" in body
    assert "Ada First, Bo Second, … G. Hinton (5th of 5) · cs.LG" in body
    searched = text_of(build_search_page(_page(papers), "hinton").cards[0].description)
    assert "Hinton (5th" not in searched and "Cy Third et al." in searched
