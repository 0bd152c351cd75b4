"""Search on SQLite (FTS5) and PostgreSQL (tsvector) alike: the `catalog` fixture runs both; the
`search` fixture runs each through the database's search and through the tantivy index built from
it (storage.fulltext), which must give the same answers.

A small hand-made catalog, where each query's answer can be read off the papers below; the
results are also checked against the in-memory reference (bot.domain.query.matches) where the
backends' semantics are the reference's (docs/search.md lists where they are not).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.papers import Author, Paper
from bot.domain.query import QueryError, matches, parse_query
from bot.domain.search import (
    ResultSlice,
    papers_by_author,
    recent_papers,
    search_papers,
    similar_papers,
)
from storage.catalog import SqlCatalog
from storage.fulltext import TantivySearch, build_index
from storage.search import SqlSearch, fts5_match

TODAY = date(2024, 11, 29)
NOW = datetime(2024, 11, 29, 12, 0, tzinfo=UTC)


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(hour=5, tzinfo=UTC)


def _paper(
    arxiv_id: str | None,
    title: str,
    authors: list[str | tuple[str, str]],
    abstract: str,
    categories: tuple[str, ...],
    published: str | None,
    doi: str | None = None,
) -> Paper:
    return Paper(
        title=title,
        authors=tuple(Author(a) if isinstance(a, str) else Author(a[0], (a[1],)) for a in authors),
        abstract=abstract,
        arxiv_id=arxiv_id,
        version=1 if arxiv_id else None,
        categories=categories,
        published=_day(published) if published else None,
        updated=_day(published) if published else None,
        doi=doi,
        sources=("test",),
    )


PAPERS = [
    _paper(
        "2411.00001",
        "Graph neural networks for molecules",
        [("Geoffrey E. Hinton", "University of Toronto"), "Yann LeCun"],
        "We study message passing on molecular graphs.",
        ("cs.LG", "q-bio.BM"),
        "2024-11-01",
    ),
    _paper(
        "1706.03762",
        "Attention is all you need",
        ["Ashish Vaswani", "Noam Shazeer"],
        "The transformer architecture relies on attention alone.",
        ("cs.CL",),
        "2017-06-12",
    ),
    _paper(
        "2410.00002",
        "Transformers for graph learning",
        ["G. Hinton", "Wei Zhang"],
        "Graph transformers outperform message passing networks: state of the art results.",
        ("cs.LG",),
        "2024-10-15",
    ),
    _paper(
        "2411.00003",
        "A survey of large language models",
        ["Wei Zhang", "Li Wang"],
        "Large language models are surveyed, from pretraining to alignment.",
        ("cs.CL", "cs.AI"),
        "2024-11-20",
    ),
    _paper(
        "2301.00004",
        "Schrödinger equations on tori",
        ["Loïc Herviou"],
        "Well-posedness for the nonlinear Schrödinger equation.",
        ("math.AP",),
        "2023-01-05",
    ),
    _paper(
        "2411.00005",
        "Quantum error correction with cavities",
        ["Jean-Paul Sartre", ("Kate O'Brien", "ETH Zürich")],
        "Photon loss in cavity modes limits the memory.",
        ("quant-ph", "physics.optics"),
        "2024-11-25",
    ),
    _paper(
        None,
        "Deep learning for weather forecasting",
        ["Ana Lima"],
        "Neural forecasts of rain.",
        (),
        None,
        doi="10.1000/weather",
    ),
]
KEY = {
    "gnn": "2411.00001",
    "attention": "1706.03762",
    "graph_tf": "2410.00002",
    "survey": "2411.00003",
    "schrodinger": "2301.00004",
    "quantum": "2411.00005",
    "weather": "doi:10.1000/weather",
}
NAME = {v: k for k, v in KEY.items()}


Search = SqlSearch | TantivySearch


@pytest.fixture(params=["database", "tantivy"])
def search(request: pytest.FixtureRequest, catalog: SqlCatalog, tmp_path: Path) -> Search:
    catalog.upsert(PAPERS)
    if request.param == "database":
        return SqlSearch(catalog.engine)
    build_index(catalog.engine, tmp_path / "index")
    tantivy = TantivySearch(catalog.engine, tmp_path / "index")
    assert tantivy.status()[0], tantivy.status()
    return tantivy


def names(found: ResultSlice) -> list[str]:
    return [NAME[h.paper.key] for h in found.hits]


def run(search: Search, text: str, limit: int = 20, offset: int = 0) -> ResultSlice:
    return search.search(parse_query(text, today=TODAY), limit=limit, offset=offset)


def found_set(search: Search, text: str) -> set[str]:
    result = run(search, text, limit=50)
    assert result.total == len(result.hits), text
    return set(names(result))


CASES = {
    "graph message": {"gnn", "graph_tf"},
    "graph transformer": {"graph_tf"},
    '"message passing"': {"gnn", "graph_tf"},
    '"passing message"': set(),
    "molecules OR cavities": {"gnn", "quantum"},
    "graph -transformer": {"gnn"},
    "graph NOT transformer": {"gnn"},
    "transform*": {"attention", "graph_tf"},
    "title:transformers": {"graph_tf"},
    "abstract:transformer": {"attention", "graph_tf"},
    "title:(graph molecules)": {"gnn"},
    "author:hinton": {"gnn", "graph_tf"},
    'author:"geoffrey hinton"': {"gnn", "graph_tf"},
    'author:"wei zhang"': {"graph_tf", "survey"},
    'author:"li zhang"': set(),
    "author:herviou": {"schrodinger"},
    "author:hervióu": {"schrodinger"},
    "schrodinger": {"schrodinger"},
    "Schrödinger": {"schrodinger"},
    "org:toronto": {"gnn"},
    "org:toronto OR transformer": {"gnn", "attention", "graph_tf"},
    "cat:cs.LG -org:toronto": {"graph_tf"},
    "cat:cs.CL": {"attention", "survey"},
    "cat:cs": {"gnn", "attention", "graph_tf", "survey"},
    "graph -cat:cs.CL": {"gnn", "graph_tf"},
    "cat:cs.CL OR cat:quant-ph": {"attention", "survey", "quantum"},
    "cat:cs -graph": {"attention", "survey"},
    "id:2411.00003": {"survey"},
    "2411.00003": {"survey"},
    "graph -id:2411.00001": {"graph_tf"},
    "year:2017": {"attention"},
    "until:2023-12-31": {"attention", "schrodinger"},
    "since:2024-10-01 until:2024-10-31": {"graph_tf"},
    "graph since:2024-11-01": {"gnn"},
    "(graph OR photon) cat:cs.LG": {"gnn", "graph_tf"},
    "(message passing) OR (cavity photon)": {"gnn", "graph_tf", "quantum"},
    "state of the art": {"graph_tf"},
    "weather": {"weather"},
}


@pytest.mark.parametrize("text", list(CASES))
def test_each_query_finds_what_the_papers_say(search: Search, text: str) -> None:
    assert found_set(search, text) == CASES[text]


# Where the backends agree with the in-memory reference (single-word author: terms do not take
# initials on the index side, so they are left out).
REFERENCE_QUERIES = [q for q in CASES if q not in ("author:hinton", "author:herviou", "year:2017")]


@pytest.mark.parametrize("text", REFERENCE_QUERIES)
def test_results_are_the_reference_matches(search: Search, text: str) -> None:
    query = parse_query(text, today=TODAY)
    stored = {p.key: p for p in search._catalog.iter_papers()}
    expected = {NAME[k] for k, p in stored.items() if matches(query, p, now=NOW)}
    assert found_set(search, text) == expected


def test_title_matches_rank_above_abstract_matches(search: Search) -> None:
    found = run(search, "transformer")
    assert names(found) == ["graph_tf", "attention"]
    assert found.hits[0].score > found.hits[1].score > 0


def test_sort_recent_orders_by_date(search: Search) -> None:
    assert names(run(search, "graph sort:recent")) == ["gnn", "graph_tf"]
    assert [h.score for h in run(search, "graph sort:recent").hits] == [0.0, 0.0]
    # Without words the order is by date too: the undated paper counts from when it was added.
    assert names(run(search, "cat:cs"))[:2] == ["survey", "gnn"]


def test_a_stop_word_query_lists_the_newest_papers(search: Search) -> None:
    found = run(search, "the of a")
    assert found.total == len(PAPERS)
    assert names(found)[0] == "weather"  # no date: its day is when it entered the catalog


def test_pages_are_consistent_and_counted(search: Search) -> None:
    first = run(search, "cat:cs", limit=3)
    second = run(search, "cat:cs", limit=3, offset=3)
    assert first.total == second.total == 4
    assert len(first.hits) == 3 and len(second.hits) == 1
    assert not set(names(first)) & set(names(second))
    assert run(search, "cat:cs", limit=3, offset=30).hits == []


def test_domain_functions_page_through_the_backend(search: Search) -> None:
    page = search_papers(search, "graph OR attention", page=2, page_size=2, today=TODAY)
    assert (page.total, page.page, page.pages, len(page.hits)) == (3, 2, 2, 1)
    assert page.total_label == "3"
    by = papers_by_author(search, "hinton g", page=1, page_size=5)
    assert [NAME[h.paper.key] for h in by.hits] == ["gnn", "graph_tf"]
    newest = recent_papers(search, "CS.cl", page=1, page_size=5)
    assert [NAME[h.paper.key] for h in newest.hits] == ["survey", "attention"]
    with pytest.raises(QueryError, match="not an arXiv category"):
        recent_papers(search, "cs.XX")
    with pytest.raises(QueryError):
        papers_by_author(search, "!!!")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Hinton G", ["gnn", "graph_tf"]),
        ("geoffrey hinton", ["gnn", "graph_tf"]),
        ("Hintón", ["gnn", "graph_tf"]),
        ("G. E. Hinton", ["gnn"]),
        ("hinton, geoffrey", ["gnn", "graph_tf"]),
        ("Kate O'Brien", ["quantum"]),
        ("o'brien", ["quantum"]),
        ("J.-P. Sartre", ["quantum"]),
        ("jean-paul sartre", ["quantum"]),
        ("Zhang Wei", ["survey", "graph_tf"]),
        ("Li Zhang", []),
        ("Noam", ["attention"]),  # a given name alone: the index's authors field
        ("Nobody Atall", []),
    ],
)
def test_author_lookup_tolerates_accents_initials_and_order(
    search: Search, name: str, expected: list[str]
) -> None:
    found = search.by_author(name, limit=10, offset=0)
    assert names(found) == expected
    assert found.total == len(expected)


def test_recent_lists_a_category_an_archive_or_everything(search: Search) -> None:
    assert names(search.recent("cs.CL", limit=10, offset=0)) == ["survey", "attention"]
    assert names(search.recent("cs", limit=10, offset=0)) == [
        "survey",
        "gnn",
        "graph_tf",
        "attention",
    ]
    everything = search.recent(None, limit=2, offset=0)
    assert everything.total == len(PAPERS) and names(everything) == ["weather", "quantum"]
    with pytest.raises(QueryError):
        search.recent("nonsense", limit=5, offset=0)


def test_similar_papers_share_distinctive_words_and_leave_the_paper_out(
    search: Search, catalog: SqlCatalog
) -> None:
    hits = search.similar(KEY["gnn"], limit=5)
    assert hits and NAME[hits[0].paper.key] == "graph_tf"
    assert KEY["gnn"] not in [h.paper.key for h in hits]
    assert search.similar("no-such-key", limit=5) == []
    result = similar_papers(search, catalog, "arXiv:2411.00001v1", limit=3)
    assert result.paper.key == KEY["gnn"]
    assert [h.paper.key for h in result.hits] == [h.paper.key for h in hits[:3]]


@pytest.mark.parametrize(
    "text",
    [
        "NEAR(graph message)",
        "{title}:graph",
        "title : graph",
        "^graph",
        "graph AND NOT message",
        "graph*",
        'author:"g"',
        "author:g",
        "author:will",
        "org:eth",
        "co-training",
        "c++ OR c#",
        "🚀 graph",
        "ﾃｽﾄ graph",
        "\u200bgra\u200dph",
        "שלום graph",
        '"a" "the"',
        "-the cat:cs",
        "the*",
    ],
)
def test_fts_syntax_and_odd_text_never_reach_the_engine(search: Search, text: str) -> None:
    found = run(search, text)
    assert found.total >= len(found.hits)


def test_the_match_string_quotes_every_word() -> None:
    from bot.domain.query import Term
    from storage.search import FAnd, FLeaf, FOr

    node = FAnd(
        (FOr((FLeaf("term", ("near",)), FLeaf("prefix", ("col",), "title"))),),
        (FLeaf("phrase", ("a", "b"), "author"),),
    )
    assert fts5_match(node) == '((("near" OR {title} : "col" *)) NOT {authors_folded} : "a b")'
    assert Term("x").text == "x"


def _zebras(n: int) -> list[Paper]:
    """``n`` papers about zebras, one day apart; every third in q-bio.PE, the rest in cs.CV."""
    return [
        _paper(
            f"2401.{i:05d}",
            f"Zebra stripes study {i}",
            [f"Author Number{i}"],
            "Zebra " * (1 + i % 4) + "stripes and camouflage.",
            ("q-bio.PE",) if i % 3 == 0 else ("cs.CV",),
            (date(2024, 1, 1) + timedelta(days=i)).isoformat(),
        )
        for i in range(1, n + 1)
    ]


@pytest.mark.parametrize("sort", ["", " sort:recent"])
def test_broad_queries_rank_a_window_and_cap_the_count(catalog: SqlCatalog, sort: str) -> None:
    catalog.upsert(_zebras(30))
    small = SqlSearch(catalog.engine, text_cap=5, rank_all=5, window=8)
    found = small.search(parse_query("zebra" + sort, today=TODAY), limit=2, offset=0)
    assert found.capped and found.total >= 5
    assert len(found.hits) == 2
    assert all("Zebra" in h.paper.title for h in found.hits)
    # The window holds the newest matches.
    assert all(h.paper.key >= "2401.00020" for h in found.hits)
    # With a filter that rejects most of the window, the window widens until the page is full.
    filtered = small.search(
        parse_query("zebra cat:q-bio.PE" + sort, today=TODAY), limit=4, offset=0
    )
    assert len(filtered.hits) == 4
    assert all(h.paper.categories == ("q-bio.PE",) for h in filtered.hits)
    deep = small.search(parse_query("zebra cat:q-bio.PE" + sort, today=TODAY), limit=4, offset=8)
    assert len(deep.hits) == 2  # 10 q-bio.PE zebras in all
    probed = SqlSearch(catalog.engine, text_cap=5, rank_all=5, window=2, lookup_max=0)
    assert len(probed.search(parse_query("zebra cat:q-bio.PE" + sort), limit=4, offset=0).hits) == 4
    # The pages of one window agree with each other (no paper on two pages).
    query = parse_query("zebra" + sort, today=TODAY)
    pages = [
        h.paper.key
        for offset in range(0, 8, 2)
        for h in small.search(query, limit=2, offset=offset).hits
    ]
    assert len(pages) == len(set(pages)) == 8


def test_paths_agree_whatever_the_thresholds(catalog: SqlCatalog) -> None:
    catalog.upsert(PAPERS)
    default = SqlSearch(catalog.engine)
    variants = [
        SqlSearch(catalog.engine, filter_set_max=1),
        SqlSearch(catalog.engine, filter_set_max=100),
        SqlSearch(catalog.engine, text_cap=100, rank_all=1, window=1),
        SqlSearch(catalog.engine, rank_all=1, window=1),  # SQLite: papers looked up one by one
        SqlSearch(catalog.engine, rank_all=1, window=1, lookup_max=0),  # a window, set-probed
    ]
    for text in ["graph cat:cs.LG", "graph OR attention since:2017-01-01", "transform* -cat:cs.CL"]:
        query = parse_query(text, today=TODAY)
        want = {h.paper.key for h in default.search(query, limit=20, offset=0).hits}
        for variant in variants:
            got = variant.search(query, limit=20, offset=0)
            assert {h.paper.key for h in got.hits} == want, text
            assert got.total == len(want)


def test_count_reports_totals(search: Search) -> None:
    assert search.count(parse_query("graph", today=TODAY)) == (2, False)
    assert search.count(parse_query("cat:cs", today=TODAY)) == (4, False)


def test_database_errors_a_query_causes_become_messages() -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from storage.search import _query_error

    slow = _query_error(OperationalError("SELECT", {}, Exception("interrupted")))
    assert isinstance(slow, QueryError) and "took too long" in slow.message
    cancelled = _query_error(
        OperationalError("SELECT", {}, Exception("canceling statement due to statement timeout"))
    )
    assert isinstance(cancelled, QueryError)
    fault = _query_error(ProgrammingError("SELECT", {}, Exception("syntax error in tsquery")))
    assert isinstance(fault, QueryError) and "\n" not in fault.message
    fts = _query_error(OperationalError("SELECT", {}, Exception("fts5: syntax error near")))
    assert isinstance(fts, QueryError)
    locked = OperationalError("SELECT", {}, Exception("database is locked"))
    assert _query_error(locked) is locked


def test_a_search_that_runs_too_long_is_stopped(
    catalog: SqlCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    if catalog.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no statement timeout short enough to trip reliably")
    monkeypatch.setattr("storage.search.PROGRESS_STEPS", 1)
    catalog.upsert(_zebras(30))
    hasty = SqlSearch(catalog.engine, timeout=0.0)
    with pytest.raises(QueryError, match="took too long"):
        hasty.search(parse_query("zebra OR stripes sort:recent"), limit=30, offset=0)
