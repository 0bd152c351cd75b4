"""arXiv API Atom responses, current and 2016 format, errors, truncation and malformed entries."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.ingest import FeedError
from bot.domain.ingest.arxiv_api import parse_arxiv_api
from bot.domain.papers import Author, PaperVersion

ARXIV = Path(__file__).resolve().parents[2] / "fixtures" / "arxiv"
CURRENT = (ARXIV / "api_2026-04_search_testing_max10.xml").read_bytes()
LEGACY = (ARXIV / "api_2016_legacy_search_au_del_maestro.xml").read_bytes()
ERROR = (ARXIV / "api_2026-04_error_400_id_abc.xml").read_bytes()
EMPTY = (ARXIV / "api_2026-04_empty_id_0000.0000.xml").read_bytes()


def _wrapped(name: str) -> tuple[int, str]:
    recorded = json.loads((ARXIV / name).read_text(encoding="utf-8"))
    return recorded["status_code"], recorded["body"]


def test_current_format_yields_every_entry() -> None:
    result = parse_arxiv_api(CURRENT)
    assert len(result.papers) == 10
    assert result.skipped == []
    assert result.feed_title is not None
    assert result.feed_title.startswith("arXiv Query: search_query=all:testing")


def test_current_format_first_entry() -> None:
    paper = parse_arxiv_api(CURRENT).papers[0]
    when = datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert paper.arxiv_id == "2202.12139"
    assert paper.version == 1
    assert paper.versions == (PaperVersion(1, when),)
    assert paper.title == (
        "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    )
    assert paper.author_names == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert paper.categories == ("cs.SE", "cs.LG")
    assert paper.published == when
    assert paper.updated == when
    assert paper.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert paper.journal_ref is not None
    assert paper.journal_ref.startswith("Artificial Intelligence in Software Testing @ 2022 IEEE")
    assert paper.doi == "10.1109/ICSTW55395.2022.00035"
    assert paper.url == "https://arxiv.org/abs/2202.12139"
    assert paper.pdf_url == "https://arxiv.org/pdf/2202.12139v1"
    assert paper.sources == ("arxiv-api",)
    assert paper.abstract.startswith("Deep Learning (DL) has revolutionized")
    assert paper.key == "2202.12139"


def test_dates_are_aware_utc() -> None:
    for paper in parse_arxiv_api(CURRENT).papers + parse_arxiv_api(LEGACY).papers:
        assert paper.published is not None
        assert paper.published.utcoffset() is not None
        assert paper.published.tzinfo == UTC


def test_abstract_and_title_whitespace_is_collapsed() -> None:
    for paper in parse_arxiv_api(LEGACY).papers:
        assert "\n" not in paper.abstract
        assert "  " not in paper.abstract
        assert paper.abstract == paper.abstract.strip()
        assert "\n" not in paper.title


def test_legacy_format_with_per_element_namespaces() -> None:
    result = parse_arxiv_api(LEGACY)
    assert len(result.papers) == 10
    first = result.papers[0]
    assert first.arxiv_id == "1201.4869"
    assert first.doi == "10.1142/S021797921244002X"
    assert first.journal_ref == "Int. J. Mod. Phys. B, 26, 1244002 (2012)"
    assert first.comment == "26 pages, 10 figures"
    assert first.categories == ("cond-mat.mes-hall", "cond-mat.other")
    assert first.abstract.startswith("As helium-4 is cooled below 2.17 K")


def test_legacy_old_style_id() -> None:
    papers = {p.arxiv_id: p for p in parse_arxiv_api(LEGACY).papers}
    paper = papers["cond-mat/0412498"]
    assert paper.version == 1
    assert paper.author_names == ("Adrian Del Maestro", "Subir Sachdev")
    assert paper.url == "https://arxiv.org/abs/cond-mat/0412498"
    assert paper.pdf_url == "https://arxiv.org/pdf/cond-mat/0412498v1"
    # The primary category comes first even where the <category> list orders it differently.
    assert paper.primary_category == "cond-mat.str-el"


def test_primary_category_first_without_duplicates() -> None:
    for paper in parse_arxiv_api(LEGACY).papers:
        assert len(set(paper.categories)) == len(paper.categories)


def test_affiliations_attach_to_their_author() -> None:
    doc = CURRENT.replace(
        b"<name>Arnaud Gotlieb</name>",
        b"<name>Arnaud Gotlieb</name><arxiv:affiliation>Simula Research Laboratory"
        b"</arxiv:affiliation><arxiv:affiliation>University of Oslo</arxiv:affiliation>",
        1,
    )
    paper = parse_arxiv_api(doc).papers[0]
    assert paper.authors == (
        Author("Mohit Kumar Ahuja"),
        Author("Arnaud Gotlieb", ("Simula Research Laboratory", "University of Oslo")),
        Author("Helge Spieker"),
    )


def test_str_input_parses_like_bytes() -> None:
    assert parse_arxiv_api(CURRENT.decode("utf-8")).papers == parse_arxiv_api(CURRENT).papers


def test_source_is_recorded() -> None:
    assert parse_arxiv_api(CURRENT, source="arxiv-backfill").papers[0].sources == (
        "arxiv-backfill",
    )


def test_error_feed_raises_with_arxivs_message() -> None:
    with pytest.raises(FeedError, match="incorrect id format for abc"):
        parse_arxiv_api(ERROR)


def test_recorded_400_response_raises() -> None:
    status, body = _wrapped("arxivpy_id_abc_s0_m100_b79c8dcf6bc3.json")
    assert status == 400
    with pytest.raises(FeedError, match="incorrect id format for abc"):
        parse_arxiv_api(body)


def test_recorded_200_response_matches_the_xml_fixture() -> None:
    status, body = _wrapped("arxivpy_q_testing_s0_m10_bc5a6c384fe9.json")
    assert status == 200
    assert parse_arxiv_api(body).papers == parse_arxiv_api(CURRENT).papers


def test_empty_feed_is_an_empty_result() -> None:
    result = parse_arxiv_api(EMPTY)
    assert result.empty
    assert result.papers == []
    assert result.skipped == []


def test_recorded_empty_response_is_empty() -> None:
    _, body = _wrapped("arxivpy_id_0000.0000_s0_m100_8b51d9633a68.json")
    assert parse_arxiv_api(body).empty


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.77, 0.99])
def test_truncated_document_raises(fraction: float) -> None:
    with pytest.raises(FeedError):
        parse_arxiv_api(CURRENT[: int(len(CURRENT) * fraction)])


def test_document_cut_right_after_an_entry_raises() -> None:
    cut = CURRENT.index(b"</entry>") + len(b"</entry>")
    with pytest.raises(FeedError):
        parse_arxiv_api(CURRENT[:cut])


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=CURRENT.rindex(b"</feed>") + len("</feed>") - 1))
def test_any_cut_before_the_end_raises(cut: int) -> None:
    with pytest.raises(FeedError):
        parse_arxiv_api(CURRENT[:cut])


def test_entry_without_id_is_skipped_and_others_land() -> None:
    doc = CURRENT.replace(b"<id>http://arxiv.org/abs/2405.13786v1</id>", b"", 1)
    result = parse_arxiv_api(doc)
    assert len(result.papers) == 9
    assert len(result.skipped) == 1
    skipped = result.skipped[0]
    assert skipped.position == 2
    assert "no <id>" in skipped.reason
    assert (
        skipped.ref == "Towards Explainable Test Case Prioritisation with Learning-to-Rank Models"
    )


def test_entry_without_title_is_skipped_with_its_id() -> None:
    doc = CURRENT.replace(
        b"<title>Towards Explainable Test Case Prioritisation with Learning-to-Rank Models</title>",
        b"<title>  </title>",
        1,
    )
    result = parse_arxiv_api(doc)
    assert len(result.papers) == 9
    assert result.skipped[0].reason == "entry has no title"
    assert result.skipped[0].ref == "2405.13786v1"


def test_entry_with_foreign_id_is_skipped() -> None:
    doc = CURRENT.replace(
        b"<id>http://arxiv.org/abs/2405.13786v1</id>", b"<id>urn:uuid:1234</id>", 1
    )
    result = parse_arxiv_api(doc)
    assert len(result.papers) == 9
    assert "not an arXiv id" in result.skipped[0].reason


def test_rss_is_not_an_api_response() -> None:
    with pytest.raises(FeedError, match="not an Atom feed"):
        parse_arxiv_api((ARXIV / "rss_2024-11-28_empty_test_archive.xml").read_bytes())


def test_doctype_is_refused() -> None:
    doc = b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]><feed/>'
    with pytest.raises(FeedError, match="DOCTYPE"):
        parse_arxiv_api(doc)


@pytest.mark.parametrize("data", [b"", b"   ", b"not xml", b"<html><body>503</body></html>"])
def test_non_feeds_raise(data: bytes) -> None:
    with pytest.raises(FeedError):
        parse_arxiv_api(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_raise_nothing_but_feed_error(data: bytes) -> None:
    with suppress(FeedError):
        parse_arxiv_api(data)


@settings(max_examples=200, deadline=None)
@given(data=st.text(max_size=500))
def test_arbitrary_text_raises_nothing_but_feed_error(data: str) -> None:
    with suppress(FeedError):
        parse_arxiv_api('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">' + data)
