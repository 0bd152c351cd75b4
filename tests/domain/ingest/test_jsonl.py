"""JSON Lines: arXiv's metadata snapshot, and paperbot's own export shape round-tripping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.ingest import SkippedEntry
from bot.domain.ingest.arxiv_api import parse_arxiv_api
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.ingest.feeds import parse_feed
from bot.domain.ingest.jsonl import (
    iter_papers_jsonl,
    iter_snapshot,
    paper_to_json,
    parse_snapshot_date,
)
from bot.domain.ingest.listing import parse_listing
from bot.domain.papers import Author, Paper, PaperVersion

HERE = Path(__file__).resolve().parent / "fixtures"
ARXIV = Path(__file__).resolve().parents[2] / "fixtures" / "arxiv"
SNAPSHOT = (HERE / "snapshot_excerpt.jsonl").read_text(encoding="utf-8").splitlines()


@cache
def _snapshot() -> dict[str, Paper]:
    papers = [p for p in iter_snapshot(SNAPSHOT) if isinstance(p, Paper)]
    return {p.arxiv_id or "": p for p in papers}


def test_every_snapshot_record_becomes_a_paper() -> None:
    results = list(iter_snapshot(SNAPSHOT))
    assert len(results) == 20
    assert all(isinstance(r, Paper) for r in results)


def test_snapshot_record_fields() -> None:
    paper = _snapshot()["0704.0101"]
    assert paper.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert paper.author_names == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan")
    assert paper.abstract.startswith("A fully differential calculation in perturbative")
    assert "\n" not in paper.abstract
    assert paper.categories == ("hep-ph",)
    assert paper.doi == "10.1103/PhysRevD.76.013009"
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007"
    assert paper.comment == "37 pages, 15 figures; published version"
    assert paper.version == 2
    assert paper.published == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert paper.updated == datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)
    assert paper.versions == (
        PaperVersion(1, datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        PaperVersion(2, datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)),
    )
    assert paper.url == "https://arxiv.org/abs/0704.0101"
    assert paper.pdf_url == "https://arxiv.org/pdf/0704.0101v2"
    assert paper.sources == ("arxiv-snapshot",)


def test_categories_primary_first() -> None:
    assert _snapshot()["2106.09685"].categories == ("cs.CL", "cs.AI", "cs.LG")


def test_old_style_ids() -> None:
    assert _snapshot()["hep-th/9901001"].pdf_url == "https://arxiv.org/pdf/hep-th/9901001v1"
    assert _snapshot()["math/0309136"].version == 3
    assert _snapshot()["cond-mat/0412498"].key == "cond-mat/0412498"


@pytest.mark.parametrize(
    ("arxiv_id", "names"),
    [
        ("1501.00001", ("Przemysław Olbratowski", "Paweł Niedbalski", "Jarosław Żygierewicz")),
        ("1912.01234", ("Martin Luther King Jr.", "Wilke van der Schee")),
        ("1405.7890", ("Seán O'Brien", "Luca D'Amico")),
        ("1811.04444", ("Ngô Bảo Châu",)),
        ("0801.0001", ("The ATLAS Collaboration",)),
        ("1206.5538", ("J. Andersson", "G. Jönsson", "L. Schäfer")),
    ],
)
def test_names_from_authors_parsed(arxiv_id: str, names: tuple[str, ...]) -> None:
    assert _snapshot()[arxiv_id].author_names == names


def test_fourth_authors_parsed_element_is_an_affiliation() -> None:
    assert _snapshot()["2001.00123"].authors == (
        Author("Ana Lopes", ("Universidade do Porto",)),
        Author("Ravi Kumar", ("IISc Bangalore",)),
    )


def test_tex_in_title_and_abstract() -> None:
    paper = _snapshot()["1206.5538"]
    assert paper.title == "On the Schrödinger equation with a Pöschl--Teller potential"
    assert "$\\zeta$-function of the Schrödinger operator" in paper.abstract


def test_first_of_several_dois() -> None:
    assert _snapshot()["1206.5538"].doi == "10.1063/1.4772475"


def test_record_without_versions_or_authors_parsed() -> None:
    paper = _snapshot()["2402.00001"]
    assert paper.version is None
    assert paper.published is None
    assert paper.updated == datetime(2024, 2, 1, tzinfo=UTC)
    assert paper.author_names == ("Solo Author",)


def test_last_version_dates_the_update() -> None:
    paper = _snapshot()["1703.10593"]
    assert paper.version == 5
    assert paper.updated == datetime(2020, 8, 24, 4, 0, tzinfo=UTC)
    assert [v.version for v in paper.versions] == [1, 2, 3, 4, 5]


def test_bytes_lines_and_blank_lines() -> None:
    lines = [line.encode() + b"\n" for line in SNAPSHOT[:3]]
    lines.insert(1, b"\n")
    papers = list(iter_snapshot(lines))
    assert [p.arxiv_id for p in papers if isinstance(p, Paper)] == [
        "0704.0101",
        "0704.0102",
        "hep-th/9901001",
    ]


def test_bad_lines_are_skipped_with_line_numbers_and_iteration_goes_on() -> None:
    lines: list[str | bytes] = [
        SNAPSHOT[0],
        '{"id": "0704.0002", "title": "Trunc',
        '{"title": "No id here"}',
        '{"id": "0704.0003", "title": "   "}',
        "[1, 2, 3]",
        '{"id": "not-an-id", "title": "Foreign"}',
        b"\xff\xfe{}",
        SNAPSHOT[1],
    ]
    results = list(iter_snapshot(lines))
    assert isinstance(results[0], Paper)
    assert isinstance(results[-1], Paper)
    skipped = [r for r in results if isinstance(r, SkippedEntry)]
    assert [(s.position, s.reason.split(":")[0]) for s in skipped] == [
        (2, "invalid JSON"),
        (3, "record has no id"),
        (4, "record has no title"),
        (5, "line is not a JSON object"),
        (6, "record id is not an arXiv id"),
        (7, "invalid JSON"),
    ]
    assert skipped[1].ref == "No id here"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 2 Apr 2007 19:18:42 GMT", datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        ("Sat, 13 Dec 2008 17:26:00 GMT", datetime(2008, 12, 13, 17, 26, tzinfo=UTC)),
        ("Mon, 2 Apr 2007 21:18:42 +0200", datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        ("2 Apr 2007 19:18:42 GMT", datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        ("2007-04-02T19:18:42Z", datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        ("Mon, 31 Feb 2007 19:18:42 GMT", None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_snapshot_date(text: str | None, expected: datetime | None) -> None:
    assert parse_snapshot_date(text) == expected


@settings(max_examples=100, deadline=None)
@given(
    record=st.dictionaries(
        st.sampled_from(
            [
                "id",
                "title",
                "authors",
                "authors_parsed",
                "versions",
                "categories",
                "doi",
                "abstract",
            ]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
            max_leaves=10,
        ),
    )
)
def test_arbitrary_snapshot_records_never_raise(record: dict[str, object]) -> None:
    for outcome in iter_snapshot([json.dumps(record)]):
        assert isinstance(outcome, Paper | SkippedEntry)


@settings(max_examples=200, deadline=None)
@given(line=st.binary(max_size=200))
def test_arbitrary_lines_never_raise(line: bytes) -> None:
    list(iter_snapshot([line]))
    list(iter_papers_jsonl([line]))


# ---------------------------------------------------------------------------------------------
# paperbot's export shape

EXPORT_KEYS = [
    "id",
    "version",
    "title",
    "authors",
    "affiliations",
    "categories",
    "published",
    "updated",
    "abstract",
    "doi",
    "journal_ref",
    "comment",
    "url",
    "pdf_url",
    "sources",
]


def test_paper_to_json_shape() -> None:
    record = paper_to_json(_snapshot()["0704.0101"])
    assert list(record) == EXPORT_KEYS
    assert record["id"] == "0704.0101"
    assert record["version"] == "v2"
    assert record["authors"] == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert record["categories"] == ["hep-ph"]
    assert record["published"] == "2007-04-02T19:18:42Z"
    assert record["sources"] == ["arxiv-snapshot"]
    json.dumps(record)  # serialisable as is


def test_paper_to_json_of_a_bare_paper() -> None:
    record = paper_to_json(Paper(title="Untitled note"))
    assert record["id"].startswith("t:")
    assert record["version"] is None
    assert record["published"] is None
    assert record["authors"] == []


def _round_trip(papers: list[Paper]) -> list[Paper | SkippedEntry]:
    lines = [json.dumps(paper_to_json(p), ensure_ascii=False) for p in papers]
    return list(iter_papers_jsonl(lines))


def _all_sources() -> list[Paper]:
    rss = parse_arxiv_rss((ARXIV / "rss_2024-11-28_all_archives.xml").read_bytes()).papers
    api = parse_arxiv_api((ARXIV / "api_2016_legacy_search_au_del_maestro.xml").read_bytes())
    toc = parse_feed((HERE / "journal_toc.rss").read_bytes(), source="jcll").papers
    listing = parse_listing((HERE / "listing.txt").read_text(encoding="utf-8")).papers
    return [*rss, *api.papers, *_snapshot().values(), *toc, *listing]


def test_export_import_round_trips_at_json_level() -> None:
    papers = _all_sources()
    back = _round_trip(papers)
    assert all(isinstance(p, Paper) for p in back)
    assert [paper_to_json(p) for p in back if isinstance(p, Paper)] == [
        paper_to_json(p) for p in papers
    ]


def test_round_trip_keeps_keys_and_fields() -> None:
    for original, back in zip(_all_sources(), _round_trip(_all_sources()), strict=True):
        assert isinstance(back, Paper)
        assert back.key == original.key
        assert back.arxiv_id == original.arxiv_id
        assert back.version == original.version
        assert back.author_names == original.author_names
        assert back.published == original.published
        assert back.updated == original.updated
        assert back.categories == original.categories


def test_round_trip_is_exact_when_affiliations_are_shared() -> None:
    papers = parse_listing((HERE / "listing.txt").read_text(encoding="utf-8")).papers
    back = _round_trip(papers)
    assert back == papers


def test_stored_title_key_survives_a_round_trip() -> None:
    stored = Paper(title="Renamed since", catalog_key="t:0123456789abcdef")
    back = _round_trip([stored])[0]
    assert isinstance(back, Paper)
    assert back.key == "t:0123456789abcdef"


def test_doi_key_round_trips_without_becoming_an_arxiv_id() -> None:
    paper = Paper(title="A journal article", doi="10.5555/x.1")
    back = _round_trip([paper])[0]
    assert isinstance(back, Paper)
    assert back.arxiv_id is None
    assert back.key == "doi:10.5555/x.1"
    assert back.catalog_key is None


def test_import_accepts_author_objects_and_an_author_string() -> None:
    lines = [
        json.dumps(
            {"id": "2411.17702", "title": "T", "authors": [{"name": "A B", "affiliations": ["X"]}]}
        ),
        json.dumps({"id": "2411.17703", "title": "T", "authors": "A B, C D"}),
    ]
    first, second = iter_papers_jsonl(lines)
    assert isinstance(first, Paper)
    assert isinstance(second, Paper)
    assert first.authors == (Author("A B", ("X",)),)
    assert second.author_names == ("A B", "C D")
    assert first.sources == ("paperbot-jsonl",)


def test_export_bad_lines_are_skipped() -> None:
    lines = ['{"id": "2411.17702"}', "{", '{"title": "x"}', '{"id": "2411.17702", "title": "ok"}']
    results = list(iter_papers_jsonl(lines))
    assert [type(r).__name__ for r in results] == [
        "SkippedEntry",
        "SkippedEntry",
        "SkippedEntry",
        "Paper",
    ]
    assert [r.position for r in results if isinstance(r, SkippedEntry)] == [1, 2, 3]
