"""arXiv's daily RSS: the 2024-11-28 all-archives feed, empty and error channels, damage."""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.ingest import FeedError, ParseResult
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.ingest.feeds import split_author_string
from bot.domain.papers import Author, Paper, PaperVersion

ARXIV = Path(__file__).resolve().parents[2] / "fixtures" / "arxiv"
ALL = (ARXIV / "rss_2024-11-28_all_archives.xml").read_bytes()
EMPTY = (ARXIV / "rss_2024-11-28_empty_test_archive.xml").read_bytes()
ERROR = (ARXIV / "rss_2024-11-28_error_bad_archive.xml").read_bytes()
ANNOUNCED = datetime(2024, 11, 28, 5, 0, tzinfo=UTC)  # Thu, 28 Nov 2024 00:00:00 -0500


@cache
def _all() -> ParseResult:
    return parse_arxiv_rss(ALL)


@cache
def _by_id() -> dict[str, Paper]:
    return {p.arxiv_id or "": p for p in _all().papers}


def _small_feed(items: int = 3) -> bytes:
    """The real feed's channel with only its first few items."""
    head, _, rest = ALL.partition(b"<item>")
    chunks = rest.split(b"<item>")[:items]
    chunks[-1] = chunks[-1].split(b"</item>")[0] + b"</item>"
    return head + b"".join(b"<item>" + c for c in chunks) + b"\n  </channel>\n</rss>\n"


def test_every_item_becomes_a_paper() -> None:
    result = _all()
    assert len(result.papers) == 1504
    assert result.skipped == []
    assert result.feed_title is not None
    assert result.feed_title.endswith("updates on arXiv.org")


def test_counts_per_announce_type() -> None:
    counts = Counter(p.announce_type for p in _all().papers)
    assert counts == {"new": 926, "replace": 569, "cross": 9}


def test_ids_are_unique_and_without_version() -> None:
    ids = [p.arxiv_id for p in _all().papers]
    assert len(set(ids)) == 1504
    assert all(i and "v" not in i for i in ids)


def test_new_paper_fields() -> None:
    paper = _by_id()["2411.17702"]
    assert paper.title == (
        'Finding "Good Views" of Electrocardiogram Signals for Inferring Abnormalities in '
        "Cardiac Condition"
    )
    assert paper.author_names == ("Hyewon Jeong", "Suyeol Yun", "Hammaad Adam")
    assert paper.categories == ("eess.SP", "cs.LG")
    assert paper.version == 1
    assert paper.versions == (PaperVersion(1, None),)
    assert paper.announce_type == "new"
    assert paper.published == ANNOUNCED
    assert paper.updated == ANNOUNCED
    assert paper.url == "https://arxiv.org/abs/2411.17702"
    assert paper.pdf_url == "https://arxiv.org/pdf/2411.17702v1"
    assert paper.sources == ("arxiv-rss",)
    assert paper.doi is None


def test_abstract_is_the_text_after_the_abstract_marker() -> None:
    paper = _by_id()["2411.17700"]
    assert paper.abstract.startswith("This study investigates the influence of generative")
    assert paper.abstract.endswith("regression and structural equations (PLS-SEM).")
    assert "Announce Type" not in paper.abstract


def test_doi_and_journal_reference() -> None:
    paper = _by_id()["2411.17758"]
    assert paper.doi == "10.1016/j.segan.2024.101477"
    assert paper.journal_ref == (
        "Sustainable Energy, Grids and Networks, Volume 39, 2024, 101477, ISSN 2352-4677"
    )
    assert paper.author_names == ("Kamil Erdayandi", "Mustafa Asan Mustafa")


def test_doi_and_journal_reference_counts() -> None:
    assert sum(1 for p in _all().papers if p.doi) == 111
    assert sum(1 for p in _all().papers if p.journal_ref) == 97


def test_cross_list_of_a_later_version() -> None:
    paper = _by_id()["2202.06515"]
    assert paper.announce_type == "cross"
    assert paper.version == 3
    assert paper.doi == "10.1063/5.0236964"
    assert paper.categories == ("astro-ph.CO", "astro-ph.GA", "physics.flu-dyn")


def test_replacement_is_an_update_not_a_publication() -> None:
    paper = _by_id()["1401.3665"]
    assert paper.announce_type == "replace"
    assert paper.version == 4
    assert paper.published is None
    assert paper.updated == ANNOUNCED


def test_parenthesised_affiliations_stay_whole() -> None:
    paper = _by_id()["2411.17817"]
    assert paper.authors[0] == Author(
        "Tianliang Yan",
        ("University of Birmingham, School of Physics and Astronomy, Birmingham, United Kingdom",),
    )
    assert len(paper.authors) == 8
    assert paper.authors[-1].name == "Denis Martynov"


def test_tex_accents_in_names_become_letters() -> None:
    assert _by_id()["2411.17775"].author_names == ("Václav Vavryčuk",)
    names = {name for p in _all().papers for name in p.author_names}
    assert not [n for n in names if "\\" in n or "{" in n]


def test_empty_feed_is_an_empty_result() -> None:
    result = parse_arxiv_rss(EMPTY)
    assert result.empty
    assert result.feed_title == "test updates on arXiv.org"


def test_bad_archive_raises_with_arxivs_description() -> None:
    with pytest.raises(FeedError, match="Bad archive 'astroph'"):
        parse_arxiv_rss(ERROR)


@pytest.mark.parametrize("fraction", [0.01, 0.25, 0.5, 0.9, 0.9999])
def test_truncated_feed_raises(fraction: float) -> None:
    with pytest.raises(FeedError):
        parse_arxiv_rss(ALL[: int(len(ALL) * fraction)])


def test_feed_cut_between_items_raises() -> None:
    cut = ALL.rindex(b"</item>") + len(b"</item>")
    with pytest.raises(FeedError):
        parse_arxiv_rss(ALL[:cut])


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_cut_of_a_small_feed_raises(data: st.DataObject) -> None:
    feed = _small_feed()
    cut = data.draw(st.integers(0, feed.rindex(b"</rss>") + len(b"</rss>") - 1))
    with pytest.raises(FeedError):
        parse_arxiv_rss(feed[:cut])


def test_small_feed_parses() -> None:
    assert [p.arxiv_id for p in parse_arxiv_rss(_small_feed()).papers] == [
        "2411.17700",
        "2411.17701",
        "2411.17702",
    ]


def test_item_without_any_id_is_skipped_and_others_land() -> None:
    feed = _small_feed()
    feed = feed.replace(b'<guid isPermaLink="false">oai:arXiv.org:2411.17701v1</guid>', b"")
    feed = feed.replace(b"<link>https://arxiv.org/abs/2411.17701</link>", b"")
    feed = feed.replace(b"arXiv:2411.17701v1 Announce Type", b"Announce Type")
    result = parse_arxiv_rss(feed)
    assert [p.arxiv_id for p in result.papers] == ["2411.17700", "2411.17702"]
    assert len(result.skipped) == 1
    assert result.skipped[0].position == 2
    assert "no arXiv id" in result.skipped[0].reason
    assert result.skipped[0].ref is not None
    assert result.skipped[0].ref.startswith("Equivalent of Non-Trivial Riemann Zeros")


def test_item_without_guid_falls_back_to_description_version() -> None:
    feed = _small_feed().replace(
        b'<guid isPermaLink="false">oai:arXiv.org:2411.17701v1</guid>', b""
    )
    paper = parse_arxiv_rss(feed).papers[1]
    assert (paper.arxiv_id, paper.version) == ("2411.17701", 1)


def test_item_without_title_is_skipped() -> None:
    feed = _small_feed().replace(
        b"<title>Equivalent of Non-Trivial Riemann Zeros Condition in Matrix Representation and "
        b"Particle Anti-Particle Symmetry Breaking</title>",
        b"<title></title>",
    )
    result = parse_arxiv_rss(feed)
    assert len(result.papers) == 2
    assert result.skipped[0].reason == "item has no title"
    assert result.skipped[0].ref == "2411.17701v1"


def test_atom_is_not_rss() -> None:
    with pytest.raises(FeedError, match="not an RSS document"):
        parse_arxiv_rss((ARXIV / "api_2026-04_empty_id_0000.0000.xml").read_bytes())


@pytest.mark.parametrize(
    ("creator", "names"),
    [
        ("Jane Doe", ["Jane Doe"]),
        ("Jane Doe, Wei Zhang", ["Jane Doe", "Wei Zhang"]),
        ("Jane Doe and Wei Zhang", ["Jane Doe", "Wei Zhang"]),
        ("A. Lee, B. Kim, and C. Wu", ["A. Lee", "B. Kim", "C. Wu"]),
        ("A. Lee, B. Kim,", ["A. Lee", "B. Kim"]),
        ("A. Lee,, B. Kim , ", ["A. Lee", "B. Kim"]),
        ("Alexander Andersen, Sandra Anderson", ["Alexander Andersen", "Sandra Anderson"]),
        ("J. Andr\\'es-Arcones, J\\\"org F. Unger", ["J. Andrés-Arcones", "Jörg F. Unger"]),
    ],
)
def test_split_author_string(creator: str, names: list[str]) -> None:
    assert [a.name for a in split_author_string(creator)] == names


def test_split_author_string_keeps_and_inside_affiliations() -> None:
    authors = split_author_string(
        "Jadelynn Dao (Andrew and Peggy Cherng Department, Caltech), Sarah Solomon (Dartmouth)"
    )
    assert authors == [
        Author("Jadelynn Dao", ("Andrew and Peggy Cherng Department, Caltech",)),
        Author("Sarah Solomon", ("Dartmouth",)),
    ]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_raise_nothing_but_feed_error(data: bytes) -> None:
    with suppress(FeedError):
        parse_arxiv_rss(data)


@settings(max_examples=200, deadline=None)
@given(body=st.text(max_size=400))
def test_arbitrary_item_content_raises_nothing_but_feed_error(body: str) -> None:
    doc = (
        '<?xml version="1.0"?><rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>x</title><item>'
        f"{body}</item></channel></rss>"
    )
    with suppress(FeedError):
        parse_arxiv_rss(doc)
