from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.papers import (
    Author,
    Paper,
    PaperVersion,
    fold,
    merge,
    normalise_doi,
    paper_key,
    surname,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T1 = datetime(2024, 2, 1, tzinfo=UTC)


def test_key_is_the_arxiv_id_without_version() -> None:
    assert Paper(title="x", arxiv_id="2403.05530", version=2).key == "2403.05530"


def test_key_falls_back_to_the_doi_then_to_title_and_first_author() -> None:
    assert Paper(title="x", doi="DOI:10.1000/ABC").key == "doi:10.1000/abc"
    a = Paper(title="Deep  Learning!", authors=(Author("José Núñez"),))
    b = Paper(title="deep learning", authors=(Author("Jose Nunez"), Author("Other")))
    assert a.key == b.key == paper_key(b)
    assert a.key != Paper(title="Deep Learning", authors=(Author("Someone Else"),)).key


def test_a_stored_key_survives_a_title_change() -> None:
    stored = Paper(title="Old title", catalog_key="t:0123456789abcdef")
    assert replace(stored, title="New title").key == "t:0123456789abcdef"


def test_fold_removes_accents_and_case() -> None:
    assert fold("  Geoffrey   HINTÓN ") == "geoffrey hinton"


def test_surname_handles_both_orders() -> None:
    assert surname("Geoffrey E. Hinton") == "Hinton"
    assert surname("Hinton, Geoffrey") == "Hinton"


def test_normalise_doi_strips_resolvers() -> None:
    assert normalise_doi("https://doi.org/10.1145/ABC") == "10.1145/abc"
    assert normalise_doi("  ") is None


def test_merge_takes_the_newer_versions_text_and_keeps_history() -> None:
    v1 = Paper(
        title="v1",
        arxiv_id="2401.1",
        version=1,
        versions=(PaperVersion(1, T0),),
        sources=("rss",),
        categories=("cs.CL",),
        published=T0,
    )
    v2 = Paper(
        title="v2",
        arxiv_id="2401.1",
        version=2,
        versions=(PaperVersion(2, T1),),
        sources=("api",),
        categories=("cs.CL", "cs.AI"),
        updated=T1,
        doi="10.1/x",
    )
    merged = merge(v1, v2)
    assert merged.title == "v2" and merged.version == 2
    assert [v.version for v in merged.versions] == [1, 2]
    assert merged.sources == ("rss", "api")
    assert merged.categories == ("cs.CL", "cs.AI")
    assert merged.published == T0 and merged.updated == T1
    assert merged.doi == "10.1/x"
    # The same pair in the other order keeps v2's text too.
    assert merge(v2, v1).title == "v2"


def test_merge_keeps_affiliations_known_from_either_side() -> None:
    stored = Paper(title="t", arxiv_id="1", authors=(Author("Jane Doe", ("Mila",)), Author("B")))
    incoming = Paper(title="t", arxiv_id="1", version=2, authors=(Author("Jane Doe"), Author("B")))
    assert merge(stored, incoming).authors[0].affiliations == ("Mila",)
