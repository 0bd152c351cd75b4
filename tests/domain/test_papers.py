from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.papers import (
    Author,
    Paper,
    PaperVersion,
    fold,
    merge,
    normalise_doi,
    normalise_title,
    paper_key,
    surname,
    title_key,
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


def _fold_reference(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


_TEXT = st.text(
    st.one_of(
        st.characters(max_codepoint=127),
        st.sampled_from("ÉéöÅåﬁßİıΣς\u0301\u0308\u00a0\u2003\u3000ＡＢｃ_-.,;:'\"!?—"),
        st.characters(),
    ),
    max_size=40,
)


@settings(max_examples=600)
@given(_TEXT)
def test_fold_and_normalise_title_are_the_plain_definitions(text: str) -> None:
    # fold and normalise_title take shortcuts (ASCII, a table of combining marks); the results
    # are those of the definitions written out.
    assert fold(text) == _fold_reference(text)
    assert normalise_title(text) == re.sub(r"[^\w]+", " ", _fold_reference(text)).strip()


def test_title_keys_keep_their_values() -> None:
    # Stored keys and aliases depend on these exact values.
    paper = Paper(title="Attention Is Not All You Need Anymore", authors=(Author("Jane Doe"),))
    assert (
        title_key(paper)
        == "t:" + hashlib.sha1(b"attention is not all you need anymore|doe").hexdigest()[:16]
    )
    accented = Paper(title="Ünïcode  Títle — ﬁne!", authors=(Author("Núñez, José"),))
    assert title_key(accented) == "t:" + hashlib.sha1(b"unicode title fine|nunez").hexdigest()[:16]
