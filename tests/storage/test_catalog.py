"""The catalog repository, on SQLite and PostgreSQL alike (the `catalog` fixture runs both)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import text

from bot.domain.catalog import ConditionalState, IngestRun
from bot.domain.ingest import SkippedEntry
from bot.domain.papers import Author, Paper, PaperVersion
from storage.catalog import SqlCatalog

T0 = datetime(2024, 11, 27, 1, 0, tzinfo=UTC)
T1 = datetime(2024, 11, 28, 5, 0, tzinfo=UTC)


def arxiv_paper(**changes: object) -> Paper:
    paper = Paper(
        title="Attention Is Not All You Need Anymore",
        authors=(Author("Jane Doe", ("Example Lab",)), Author("Wei Zhang"), Author("Amal Haddad")),
        abstract="We study whether attention layers remain necessary.",
        arxiv_id="2411.00001",
        version=1,
        categories=("cs.CL", "cs.LG"),
        published=T0,
        updated=T0,
        url="https://arxiv.org/abs/2411.00001",
        sources=("arxiv-rss",),
        versions=(PaperVersion(1, T0),),
    )
    return replace(paper, **changes)  # type: ignore[arg-type]


def test_a_new_paper_is_stored_with_every_field(catalog: SqlCatalog) -> None:
    paper = arxiv_paper(doi="10.1000/xyz", journal_ref="J. Ex. 1 (2024)", comment="12 pages")
    counts = catalog.upsert([paper])
    assert (counts.new, counts.updated, counts.unchanged) == (1, 0, 0)
    stored = catalog.get("2411.00001")
    assert stored is not None
    assert replace(stored, added_at=None, catalog_key=None) == replace(paper, doi="10.1000/xyz")
    assert stored.published == T0 and stored.published.tzinfo is not None
    assert stored.authors[0].affiliations == ("Example Lab",)
    assert stored.added_at is not None


def test_the_same_announcement_twice_is_unchanged(catalog: SqlCatalog) -> None:
    catalog.upsert([arxiv_paper()])
    counts = catalog.upsert([arxiv_paper(announce_type="new")])
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
    assert catalog.count() == 1


def test_a_new_version_updates_the_paper_and_keeps_the_history(catalog: SqlCatalog) -> None:
    catalog.upsert([arxiv_paper()])
    added = catalog.get("2411.00001").added_at  # type: ignore[union-attr]
    v2 = arxiv_paper(
        version=2,
        title="Attention Is Not All You Need Anymore (revised)",
        updated=T1,
        versions=(PaperVersion(2, T1),),
        announce_type="replace",
    )
    counts = catalog.upsert([v2])
    assert counts.updated == 1
    stored = catalog.get("2411.00001")
    assert stored is not None
    assert stored.version == 2
    assert stored.title.endswith("(revised)")
    assert [v.version for v in stored.versions] == [1, 2]
    assert stored.published == T0 and stored.updated == T1
    assert stored.added_at == added  # entering the catalog happens once


def test_an_older_version_arriving_late_does_not_overwrite_the_newer_text(
    catalog: SqlCatalog,
) -> None:
    catalog.upsert([arxiv_paper(version=2, title="New title", versions=(PaperVersion(2, T1),))])
    catalog.upsert([arxiv_paper(version=1, title="Old title", sources=("arxiv-api",))])
    stored = catalog.get("2411.00001")
    assert stored is not None
    assert stored.title == "New title" and stored.version == 2
    assert [v.version for v in stored.versions] == [1, 2]
    assert stored.sources == ("arxiv-rss", "arxiv-api")


def test_one_work_from_every_source_is_one_row(catalog: SqlCatalog) -> None:
    rss = arxiv_paper(categories=("cs.CL",), sources=("arxiv-rss",))
    cross = arxiv_paper(
        categories=("cs.CL", "cs.AI"), sources=("arxiv-rss",), announce_type="cross"
    )
    api = arxiv_paper(sources=("arxiv-api",), doi="10.48550/arXiv.2411.00001", comment="ACL 2025")
    listing = arxiv_paper(sources=("listing",), versions=())
    snapshot = arxiv_paper(sources=("arxiv-snapshot",))
    for paper in (rss, cross, api, listing, snapshot):
        catalog.upsert([paper])
    assert catalog.count() == 1
    stored = catalog.get("2411.00001")
    assert stored is not None
    assert stored.sources == ("arxiv-rss", "arxiv-api", "listing", "arxiv-snapshot")
    assert stored.categories == ("cs.CL", "cs.AI", "cs.LG")
    assert stored.comment == "ACL 2025"


def test_a_journal_entry_with_a_known_doi_joins_the_arxiv_paper(catalog: SqlCatalog) -> None:
    catalog.upsert([arxiv_paper(doi="10.1000/JOURNAL.42")])
    journal = Paper(
        title="Attention Is Not All You Need Anymore",
        authors=(Author("Jane Doe"),),
        doi="https://doi.org/10.1000/journal.42",
        journal_ref="Journal of Examples 42",
        sources=("feed:journal",),
    )
    assert journal.key == "doi:10.1000/journal.42"
    counts = catalog.upsert([journal])
    assert counts.new == 0
    assert catalog.count() == 1
    stored = catalog.get("2411.00001")
    assert stored is not None and "feed:journal" in stored.sources


def test_an_arxiv_record_takes_over_a_paper_first_seen_by_doi(catalog: SqlCatalog) -> None:
    catalog.upsert([Paper(title="A Paper", doi="10.1000/abc", sources=("feed:journal",))])
    catalog.upsert([arxiv_paper(doi="10.1000/abc")])
    assert catalog.count() == 1
    stored = catalog.get("2411.00001")
    assert stored is not None
    assert stored.sources == ("feed:journal", "arxiv-rss")
    assert catalog.get("doi:10.1000/abc") is None


def test_a_paper_without_ids_has_a_stable_title_key(catalog: SqlCatalog) -> None:
    blog = Paper(title="Scaling Laws, Revisited!", authors=(Author("Ana López"),), sources=("a",))
    again = Paper(title="scaling laws revisited", authors=(Author("Ana Lopez"),), sources=("b",))
    assert blog.key == again.key and blog.key.startswith("t:")
    catalog.upsert([blog])
    catalog.upsert([again])
    assert catalog.count() == 1
    stored = catalog.get(blog.key)
    assert stored is not None and stored.sources == ("a", "b")


def test_duplicates_inside_one_batch_are_merged(catalog: SqlCatalog) -> None:
    counts = catalog.upsert(
        [arxiv_paper(), arxiv_paper(version=2, versions=(PaperVersion(2, T1),), title="v2")]
    )
    assert counts.new == 1
    stored = catalog.get("2411.00001")
    assert stored is not None and stored.title == "v2"


def test_get_many_keeps_the_order_asked(catalog: SqlCatalog) -> None:
    catalog.upsert([arxiv_paper(arxiv_id=f"2411.0000{i}") for i in range(1, 6)])
    keys = ["2411.00004", "missing", "2411.00001", "2411.00003"]
    assert [p.key for p in catalog.get_many(keys)] == ["2411.00004", "2411.00001", "2411.00003"]


def test_iter_papers_reads_everything_in_batches(catalog: SqlCatalog) -> None:
    catalog.upsert([arxiv_paper(arxiv_id=f"2411.{i:05d}") for i in range(1, 26)])
    keys = [p.key for p in catalog.iter_papers(batch_size=7)]
    assert keys == [f"2411.{i:05d}" for i in range(1, 26)]


def test_stats_count_papers_authors_and_sources(catalog: SqlCatalog) -> None:
    catalog.upsert([arxiv_paper(), arxiv_paper(arxiv_id="2411.00002", sources=("arxiv-api",))])
    stats = catalog.stats()
    assert stats.papers == 2
    assert stats.authors == 3
    assert stats.sources == 2
    assert stats.per_source == {"arxiv-rss": 1, "arxiv-api": 1}
    assert stats.newest_published == T0
    assert stats.top_categories[0] == ("cs.CL", 2)


def test_find_by_doi_ignores_case_and_prefixes(catalog: SqlCatalog) -> None:
    catalog.upsert([arxiv_paper(doi="10.1000/ABC.1")])
    found = catalog.find_by_doi("https://doi.org/10.1000/abc.1")
    assert found is not None and found.key == "2411.00001"
    assert catalog.find_by_doi("10.1000/other") is None


def test_source_state_round_trips(catalog: SqlCatalog) -> None:
    assert catalog.source_state("cs.CL") == ConditionalState()
    catalog.save_source_state(
        "cs.CL",
        "https://rss.arxiv.org/rss/cs.CL",
        "arxiv-rss",
        ConditionalState('"abc"', "Thu, 28 Nov 2024 05:00:00 GMT"),
        "ok",
    )
    catalog.save_source_state(
        "cs.CL",
        "https://rss.arxiv.org/rss/cs.CL",
        "arxiv-rss",
        ConditionalState('"def"', None),
        "ok",
    )
    assert catalog.source_state("cs.CL") == ConditionalState('"def"', None)


def test_ingest_runs_are_recorded_with_skipped_entries(catalog: SqlCatalog) -> None:
    run = IngestRun(
        source="cs.CL",
        started_at=T0,
        finished_at=T1,
        status="ok",
        fetched=3,
        new=2,
        skipped=1,
        skipped_entries=[SkippedEntry(2, "entry has no title", "2411.00009")],
    )
    run_id = catalog.record_run(run)
    [back] = catalog.recent_runs()
    assert back.id == run_id
    assert (back.status, back.fetched, back.new, back.skipped) == ("ok", 3, 2, 1)
    assert back.skipped_entries == [SkippedEntry(2, "entry has no title", "2411.00009")]


def test_the_full_text_index_follows_inserts_and_updates(catalog: SqlCatalog) -> None:
    catalog.upsert([arxiv_paper(abstract="We study zebrafish locomotion.")])
    catalog.upsert(
        [
            arxiv_paper(
                version=2, abstract="We study octopus camouflage.", versions=(PaperVersion(2, T1),)
            )
        ]
    )
    if catalog.engine.dialect.name == "sqlite":
        query = "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :q"
    else:
        query = "SELECT count(*) FROM papers WHERE search_vector @@ plainto_tsquery('english', :q)"
    with catalog.engine.connect() as conn:
        assert conn.execute(text(query), {"q": "octopus"}).scalar_one() == 1
        assert conn.execute(text(query), {"q": "zebrafish"}).scalar_one() == 0


def test_a_listing_entry_joins_the_arxiv_paper_by_title_and_first_author(
    catalog: SqlCatalog,
) -> None:
    catalog.upsert([arxiv_paper()])
    listing = Paper(
        title="Attention is not all you need anymore",
        authors=(Author("Jane Doe", ("example-lab",)), Author("Wei Zhang")),
        abstract="We study whether attention layers remain necessary when ...",
        categories=("cs.CL",),
        sources=("listing",),
    )
    counts = catalog.upsert([listing])
    assert counts.new == 0
    assert catalog.count() == 1
    stored = catalog.get("2411.00001")
    assert stored is not None and stored.sources == ("arxiv-rss", "listing")


def test_an_arxiv_record_takes_over_a_paper_first_seen_in_a_listing(catalog: SqlCatalog) -> None:
    listing = Paper(
        title="Attention Is Not All You Need Anymore",
        authors=(Author("Jane Doe"),),
        sources=("listing",),
    )
    catalog.upsert([listing])
    catalog.upsert([arxiv_paper()])
    assert catalog.count() == 1
    stored = catalog.get("2411.00001")
    assert stored is not None and stored.sources == ("listing", "arxiv-rss")
    assert catalog.get(listing.key) is None


def test_two_arxiv_papers_with_one_title_stay_apart(catalog: SqlCatalog) -> None:
    catalog.upsert([arxiv_paper(), arxiv_paper(arxiv_id="2411.00002")])
    assert catalog.count() == 2
