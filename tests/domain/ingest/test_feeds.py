"""Generic RSS/Atom feeds (a journal's contents, a lab blog) and the shared text helpers."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.ingest import FeedError
from bot.domain.ingest.feeds import (
    find_doi,
    is_truncated_xml,
    latex_to_unicode,
    parse_feed,
    strip_html,
)
from bot.domain.papers import Author

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOC = (FIXTURES / "journal_toc.rss").read_bytes()
BLOG = (FIXTURES / "lab_blog.atom").read_bytes()


def test_journal_toc_papers_and_skips() -> None:
    result = parse_feed(TOC, source="jcll")
    assert result.feed_title == "Journal of Computational Linguistics Letters: Latest Articles"
    assert len(result.papers) == 4
    assert len(result.skipped) == 1


def test_entry_without_title_is_skipped_with_reason() -> None:
    skipped = parse_feed(TOC, source="jcll").skipped[0]
    assert skipped.position == 4
    assert skipped.reason == "entry has no title"
    assert skipped.ref == "https://journals.example.org/jcll/issue/12-4"


def test_journal_entry_fields() -> None:
    paper = parse_feed(TOC, source="jcll").papers[0]
    assert paper.title == "In situ evaluation of morphological analysers for low-resource languages"
    assert paper.author_names == ("Amal Haddad", "José Martínez-López", "Wei Zhang")
    assert paper.abstract == (
        "Morphological analysers are usually evaluated on held-out treebanks. "
        "We instead measure them & their failure modes in use, across 14 languages."
    )
    assert paper.doi == "10.5555/jcll.2024.0412"
    assert paper.journal_ref == "Journal of Computational Linguistics Letters 12, 301-318"
    assert paper.url == "https://journals.example.org/jcll/article/10.5555/jcll.2024.0412"
    assert paper.categories == ("Morphology", "Evaluation")
    assert paper.published == datetime(2024, 11, 27, tzinfo=UTC)
    assert paper.sources == ("jcll",)
    assert paper.arxiv_id is None
    assert paper.key == "doi:10.5555/jcll.2024.0412"


def test_one_creator_element_with_every_author_is_split() -> None:
    paper = parse_feed(TOC, source="jcll").papers[1]
    assert paper.author_names == ("A. Lee", "B. Kim", "C. Wu")


def test_doi_from_a_doi_org_identifier() -> None:
    assert parse_feed(TOC, source="jcll").papers[1].doi == "10.5555/jcll.2024.0398"


def test_doi_from_a_doi_org_guid() -> None:
    assert parse_feed(TOC, source="jcll").papers[2].doi == "10.5555/jcll.2024.0377"


def test_family_comma_given_stays_one_author() -> None:
    assert parse_feed(TOC, source="jcll").papers[2].author_names == ("Doe, Jane",)


def test_published_from_pubdate_in_utc() -> None:
    paper = parse_feed(TOC, source="jcll").papers[1]
    assert paper.published == datetime(2024, 11, 25, 12, 30, tzinfo=UTC)


def test_entry_naming_one_arxiv_id_merges_with_it() -> None:
    paper = parse_feed(TOC, source="jcll").papers[3]
    assert (paper.arxiv_id, paper.version) == ("2411.17702", 1)
    assert paper.key == "2411.17702"
    # Only real arXiv categories survive onto an arXiv-keyed record.
    assert paper.categories == ("eess.SP",)


def test_blog_entry_with_related_arxiv_link() -> None:
    result = parse_feed(BLOG, source="lab-blog")
    assert result.feed_title == "Example Lab Blog"
    paper = result.papers[0]
    assert paper.title == "Good views of ECG signals, explained"
    assert (paper.arxiv_id, paper.version) == ("2411.17702", 2)
    assert paper.authors == (Author("Hyewon Jeong"), Author("Suyeol Yun"))
    assert paper.abstract == "Which positive pairs make contrastive ECG models work?"
    assert paper.categories == ("eess.SP",)
    assert paper.published == datetime(2024, 11, 28, 9, 30, tzinfo=UTC)
    assert paper.updated == datetime(2024, 11, 29, 2, 0, tzinfo=UTC)
    assert paper.url == "https://lab.example.org/blog/good-views"


def test_blog_entry_naming_arxiv_id_in_its_content() -> None:
    paper = parse_feed(BLOG, source="lab-blog").papers[1]
    assert paper.arxiv_id == "2405.13786"
    assert paper.version is None
    assert paper.abstract.startswith("Our workshop paper (arXiv:2405.13786) asks")
    assert paper.author_names == ("Aurora Ramírez",)


def test_entry_naming_several_arxiv_ids_is_not_any_of_them() -> None:
    paper = parse_feed(BLOG, source="lab-blog").papers[2]
    assert paper.arxiv_id is None
    assert paper.categories == ("reading-list",)
    assert paper.key.startswith("t:")


def test_str_input() -> None:
    assert (
        parse_feed(BLOG.decode("utf-8"), source="b").papers == parse_feed(BLOG, source="b").papers
    )


def test_empty_channel_is_an_empty_result() -> None:
    doc = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    result = parse_feed(doc, source="x")
    assert result.empty
    assert result.feed_title == "Quiet"


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.8, 0.97])
def test_truncated_feed_raises(fraction: float) -> None:
    with pytest.raises(FeedError, match="truncated"):
        parse_feed(TOC[: int(len(TOC) * fraction)], source="x")


def test_feed_cut_after_an_item_raises() -> None:
    cut = TOC.index(b"</item>") + len(b"</item>")
    with pytest.raises(FeedError):
        parse_feed(TOC[:cut], source="x")


def test_feedparser_alone_would_salvage_a_truncated_feed() -> None:
    # Why the truncation check exists: feedparser keeps the entries before the cut.
    import feedparser

    cut = TOC.index(b"</item>", TOC.index(b"</item>") + 1) + 20
    assert len(feedparser.parse(TOC[:cut]).entries) >= 2
    with pytest.raises(FeedError):
        parse_feed(TOC[:cut], source="x")


@pytest.mark.parametrize(
    "data",
    [b"", b"plain words", b"<!DOCTYPE html><html><body><p>Not a feed</p></body></html>", b"{}"],
)
def test_non_feeds_raise(data: bytes) -> None:
    with pytest.raises(FeedError):
        parse_feed(data, source="x")


def test_a_path_is_never_opened() -> None:
    # feedparser opens a str/bytes argument that names a file; parse_feed must not.
    with pytest.raises(FeedError):
        parse_feed(str(FIXTURES / "journal_toc.rss"), source="x")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_raise_nothing_but_feed_error(data: bytes) -> None:
    with suppress(FeedError):
        parse_feed(data, source="x")


@settings(max_examples=150, deadline=None)
@given(body=st.text(max_size=400))
def test_arbitrary_item_content_raises_nothing_but_feed_error(body: str) -> None:
    doc = f'<?xml version="1.0"?><rss version="2.0"><channel><item>{body}</item></channel></rss>'
    with suppress(FeedError):
        parse_feed(doc, source="x")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One Two"),
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("<b>bold</b><script>evil()</script> rest", "bold rest"),
        ("x < y and y > z", "x < y and y > z"),
        ("line<br/>break", "line break"),
        ("", ""),
    ],
)
def test_strip_html(html: str, text: str) -> None:
    assert strip_html(html) == text


@pytest.mark.parametrize(
    ("tex", "name", "expected"),
    [
        ("V\\'aclav Vavry\\v{c}uk", True, "Václav Vavryčuk"),
        ("Przemys{\\l}aw", True, "Przemysław"),
        ("Kad{\\i}o\\u{g}lu", True, "Kadıoğlu"),
        ("Jaros{\\l}aw \\.Zygierewicz", True, "Jarosław Żygierewicz"),
        ("Gu\\dhmundur", True, "Guðmundur"),
        ("Fr\\'{e}d\\'{e}ric", True, "Frédéric"),
        ('Schr\\"odinger equation', False, "Schrödinger equation"),
        ("$\\Omega$ and $\\mathcal{O}(n)$", False, "$\\Omega$ and $\\mathcal{O}(n)$"),
        ("$x^{2}$ costs \\lambda", False, "$x^{2}$ costs \\lambda"),
        ("Holb{\\ae}k", False, "Holbæk"),
        ("No TeX at all", False, "No TeX at all"),
    ],
)
def test_latex_to_unicode(tex: str, name: bool, expected: str) -> None:
    assert latex_to_unicode(tex, name=name) == expected


@pytest.mark.parametrize(
    ("text", "doi"),
    [
        ("doi:10.1038/s41586-024-08001-1", "10.1038/s41586-024-08001-1"),
        ("https://doi.org/10.1103/PhysRevD.76.013009.", "10.1103/PhysRevD.76.013009"),
        ("see (doi 10.5555/abc.1)", "10.5555/abc.1"),
        ("no identifier", None),
    ],
)
def test_find_doi(text: str, doi: str | None) -> None:
    assert find_doi(text) == doi


@pytest.mark.parametrize(
    ("text", "truncated"),
    [
        ("<rss><channel></channel></rss>", False),
        ("<?xml version='1.0'?>\n<!-- c -->\n<feed>x</feed>\n\n", False),
        ("<feed/>", False),
        ("<rss><channel><item></item>", True),
        ("<feed><entry/>", True),
        ("plain text", True),
    ],
)
def test_is_truncated_xml(text: str, truncated: bool) -> None:
    assert is_truncated_xml(text) is truncated
