"""Any paper, however hostile or long its text, gives replies within every Discord limit."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.papers import Paper
from bot.domain.search import SearchHit, SearchPage
from bot.messages import build_error, build_paper, build_search_page, build_similar
from bot.messages.limits import fit_spans, fit_text, markup_len, reply_violations, safe_url
from bot.messages.model import Span

from .strategies import HEALTH, papers, texts


@settings(max_examples=80, deadline=None, suppress_health_check=HEALTH)
@given(papers)
def test_any_paper_card_is_within_limits(paper: Paper) -> None:
    assert reply_violations(build_paper(paper)) == []


@settings(max_examples=30, deadline=None, suppress_health_check=HEALTH)
@given(st.lists(papers, min_size=1, max_size=10), texts)
def test_any_list_page_is_within_limits(found: list[Paper], query: str) -> None:
    page = SearchPage([SearchHit(p, 0.0) for p in found], 1000, 3, len(found))
    assert reply_violations(build_search_page(page, query)) == []
    assert reply_violations(build_similar(found[0], page.hits)) == []


@given(texts)
def test_any_error_is_within_limits(message: str) -> None:
    assert reply_violations(build_error(message)) == []


@given(texts, st.integers(0, 300))
def test_fit_text_is_a_prefix_within_the_markup_budget(text: str, limit: int) -> None:
    fitted = fit_text(text, limit)
    assert markup_len(fitted) <= limit
    if fitted != text and fitted:
        assert fitted.endswith("…")
        assert text.startswith(fitted.removesuffix("…"))


def test_fit_text_cuts_at_a_word_boundary() -> None:
    assert fit_text("alpha beta gamma delta", 15) == "alpha beta…"
    assert markup_len("a*b") == 4
    assert markup_len("1. one\n2. two") == 15


def test_fit_spans_shortens_the_span_that_overflows() -> None:
    spans = (Span("Title", "bold", url="https://a.org"), Span(" " + "word " * 50))
    fitted = fit_spans(spans, 60)
    assert fitted[0] == spans[0]
    assert fitted[1].text.endswith("…")


def test_safe_url() -> None:
    assert safe_url("https://arxiv.org/abs/2411.17700") == "https://arxiv.org/abs/2411.17700"
    assert safe_url("http://x.org/a b)c") == "http://x.org/a%20b%29c"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("ftp://x.org") is None
    assert safe_url("https://" + "a" * 2000) is None
    assert safe_url("https://x.org/é") == "https://x.org/%C3%A9"
