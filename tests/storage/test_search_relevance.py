"""Relevance on the real 1,504-paper arXiv RSS snapshot, on SQLite and PostgreSQL, each through
the database's search and through a tantivy index built from it (``+tantivy``).

Each expected answer below was checked by reading the fixture
(tests/fixtures/arxiv/rss_2024-11-28_all_archives.xml); the comment says why it is right. The
catalog is loaded once per backend for the module. Both backends must give the same totals and
the same top results (near-ties may reorder; such queries assert a set).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.query import parse_query
from bot.domain.search import ResultSlice
from storage.catalog import SqlCatalog
from storage.db import create_db_engine
from storage.fulltext import TantivySearch, build_index
from storage.migrate import upgrade
from storage.search import SqlSearch
from tests.conftest import ARXIV_FIXTURES, POSTGRES_URL, migrated_postgres_schema

RSS = ARXIV_FIXTURES / "rss_2024-11-28_all_archives.xml"
TODAY = date(2024, 11, 29)
BACKENDS = ["sqlite", "postgresql", "sqlite+tantivy", "postgresql+tantivy"]

Search = SqlSearch | TantivySearch


def load_fixture_search(
    backend: str, directory: Path, papers_limit: int | None = None
) -> Iterator[Search]:
    """A migrated database of ``backend`` holding the RSS snapshot (or its first papers);
    ``sqlite+tantivy`` and ``postgresql+tantivy`` search it through a tantivy index."""
    papers = parse_arxiv_rss(RSS.read_bytes()).papers[:papers_limit]
    database, _, engine_name = backend.partition("+")

    def searcher(engine: Engine) -> Search:
        if engine_name != "tantivy":
            return SqlSearch(engine)
        build_index(engine, directory / "index")
        found = TantivySearch(engine, directory / "index")
        assert found.status()[0], found.status()
        return found

    if database == "sqlite":
        engine = create_db_engine(f"sqlite:///{directory / 'search.db'}")
        upgrade(engine)
        SqlCatalog(engine).upsert(papers)
        try:
            yield searcher(engine)
        finally:
            engine.dispose()
        return
    with migrated_postgres_schema("paperbot_search") as schema:
        engine = create_db_engine(POSTGRES_URL, schema=schema)
        try:
            SqlCatalog(engine).upsert(papers)
            with engine.begin() as conn:
                conn.execute(text("ANALYZE papers"))
            yield searcher(engine)
        finally:
            engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def fixture_search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Search]:
    yield from load_fixture_search(request.param, tmp_path_factory.mktemp("relevance"))


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqlSearch, SqlSearch]]:
    """Both backends side by side, for comparing them query by query."""
    sqlite = load_fixture_search("sqlite", tmp_path_factory.mktemp("both"))
    postgres = load_fixture_search("postgresql", tmp_path_factory.mktemp("both"))
    a = next(sqlite)
    b = next(postgres)
    yield a, b
    for gen in (sqlite, postgres):
        for _ in gen:
            pass


def run(search: Search, query: str, limit: int = 5) -> ResultSlice:
    return search.search(parse_query(query, today=TODAY), limit=limit, offset=0)


def keys(found: ResultSlice) -> list[str]:
    return [h.paper.key for h in found.hits]


# (query, total, expected first results in order, expected among the top 5 in any order)
CASES: list[tuple[str, int, list[str], set[str]]] = [
    # The phrase is in one paper's title and abstract only.
    ('"cerebral blood flow"', 1, ["2411.17971"], set()),
    # "OracleSage ... Oracle Bone Scripts" is the only paper with both words.
    ("oracle bone", 1, ["2411.17837"], set()),
    # Title field: "The zero entropy locus for the Lozi maps"; the abstract of no other paper
    # counts because of the field.
    ("title:lozi", 1, ["2411.17836"], set()),
    # Its author M. Misiurewicz, the only one of that name.
    ("author:misiurewicz", 1, ["2411.17836"], set()),
    # Václav Vavryčuk, typed with the accent; the folded name is stored.
    ("author:vavryčuk", 1, ["2411.17775"], set()),
    # "E. Koutsoumpou" given as surname and initial, in the other order.
    ('author:"koutsoumpou e"', 1, ["2411.17811"], set()),
    # Matthias Scharitzer's two skein papers, and no other paper says skein.
    ("skein", 2, [], {"2312.10625", "2410.17773"}),
    # Both titles name photons and cavities; three more abstracts have photon* and cavity.
    ("photon* cavity", 5, [], {"2411.18512", "2411.18098"}),
    # "Graph Neural Networks for Job Shop Scheduling Problems: A Survey".
    ('"job shop"', 1, ["2406.14096"], set()),
    # "Adiabatic charging of open quantum battery" and "battery materials by quantum annealing".
    ("quantum battery", 2, [], {"2411.17854", "2401.02165"}),
    # The client-selection paper is about federated learning too, so it matches both sides.
    ('federated learning OR "client selection"', 8, ["2411.17833"], set()),
    # Dark-matter papers listed in astro-ph.GA; "What is the amount of baryonic dark matter in
    # galaxies?" says it in the title.
    ("cat:astro-ph.GA dark matter", 10, [], {"2411.17775", "2411.18052"}),
    # Schrödinger (accented in the papers) found unaccented; three titles say "Schrödinger
    # equation(s)" and rank first.
    ("schrodinger equation", 11, [], {"2411.17730", "2411.18163", "2411.18458"}),
    # "Removing singularities for fully nonlinear PDEs": short, with nonlinear in the title.
    ("cat:math.AP since:2024-11-28 nonlinear", 17, ["2411.17133"], set()),
    # The job-shop survey is the one graph neural network paper with "Survey" in its title.
    ("graph neural network -survey", 15, [], {"2411.17971", "2411.17849", "2411.13821"}),
    # Title phrases combined by OR; the first title has both "Dark Energy and Dark Matter".
    ('title:"dark matter" OR title:"dark energy"', 18, ["2408.05484"], set()),
    # All hep-th papers share the announcement day; the newest added (the last hep-th entry of
    # the feed, 2411.17591v2 replaced) comes first.
    ("cat:hep-th sort:recent", 72, ["2411.17591", "2411.16302", "2411.15988"], set()),
]


@pytest.mark.parametrize(("query", "total", "first", "among"), CASES, ids=[c[0] for c in CASES])
def test_hand_checked_answers(
    fixture_search: Search, query: str, total: int, first: list[str], among: set[str]
) -> None:
    found = run(fixture_search, query)
    assert found.total == total
    assert not found.capped
    assert keys(found)[: len(first)] == first
    assert among <= set(keys(found))


def test_exclusions_remove_every_paper_with_the_word(fixture_search: Search) -> None:
    # 13 neutrino papers do not mention ice (IceCube, ...); none of them may.
    found = run(fixture_search, "neutrino -ice*", limit=50)
    assert found.total == 13 and len(found.hits) == 13
    for hit in found.hits:
        text_ = f"{hit.paper.title} {hit.paper.abstract}".lower()
        assert "neutrino" in text_
        assert not any(word.startswith("ice") for word in text_.replace("-", " ").split())


def test_stop_words_alone_list_the_newest_papers(fixture_search: Search) -> None:
    found = run(fixture_search, "of the")
    assert found.total == 1504
    assert all(h.score == 0.0 for h in found.hits)


def test_a_prefix_covers_the_words_it_starts(fixture_search: Search) -> None:
    found = run(fixture_search, "transform*", limit=50)
    assert found.total == 127
    assert all("transform" in f"{h.paper.title} {h.paper.abstract}".lower() for h in found.hits)


@pytest.mark.parametrize(("query", "total", "first", "among"), CASES, ids=[c[0] for c in CASES])
def test_both_backends_agree(
    both: tuple[SqlSearch, SqlSearch], query: str, total: int, first: list[str], among: set[str]
) -> None:
    sqlite, postgres = (run(s, query, limit=3) for s in both)
    assert sqlite.total == postgres.total
    assert set(keys(sqlite)) == set(keys(postgres))


@pytest.fixture(scope="module")
def fts5_and_tantivy(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Search, Search]]:
    """SQLite's FTS5 search and the tantivy index over the same SQLite catalog."""
    loaded = load_fixture_search("sqlite+tantivy", tmp_path_factory.mktemp("fts5-tantivy"))
    tantivy = next(loaded)
    assert isinstance(tantivy, TantivySearch)
    yield tantivy.database, tantivy
    for _ in loaded:
        pass


AGREEMENT = [c[0] for c in CASES] + [
    "neutrino -ice*",
    "transform*",
    "graph OR network",
    '"large language model"',
    "author:zhang",
    "author:g",
    'author:"wang y" graph',
    "title:quantum -cat:quant-ph",
    "cat:cs year:2023",
    "(dark OR black) hole*",
    "-survey cat:cs.CL",
    "id:2411.17971",
]


@pytest.mark.parametrize("query", AGREEMENT)
def test_tantivy_finds_the_same_papers_as_fts5(
    fts5_and_tantivy: tuple[Search, Search], query: str
) -> None:
    # The same set of papers, not just the same total: the index answers exactly, whatever it
    # ranks first (its BM25 counts documents per field, FTS5's over the whole table).
    fts5, tantivy = (run(s, query, limit=50) for s in fts5_and_tantivy)
    assert tantivy.total == fts5.total
    assert not tantivy.capped
    if fts5.total <= 50:
        assert set(keys(tantivy)) == set(keys(fts5))


def test_similar_papers_on_the_snapshot(fixture_search: Search) -> None:
    # The cerebral-blood-flow paper is a graph neural network paper: its neighbours are the
    # other GNN papers.
    hits = fixture_search.similar("2411.17971", limit=5)
    assert "2411.17971" not in [h.paper.key for h in hits]
    gnn = {"2406.14096", "2411.17849", "2411.13821", "2402.14708", "2310.11083"}
    assert len(gnn & {h.paper.key for h in hits}) >= 3
    # Scharitzer's skein papers find each other.
    assert fixture_search.similar("2312.10625", limit=3)[0].paper.key == "2410.17773"
