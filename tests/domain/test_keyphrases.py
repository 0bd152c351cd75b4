"""Themes of a batch of abstracts and the digest's summary line."""

from __future__ import annotations

import functools
import random
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.keyphrases import (
    document_frequencies,
    document_phrases,
    key_phrases,
    phrase_key,
    topic_summary_line,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "arxiv" / "rss_2024-11-28_all_archives.xml"


@functools.cache
def items() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(abstract, categories) of every fixture item, parsed here so as not to need the parser."""
    out = []
    for item in ET.parse(FIXTURE).getroot().iter("item"):
        description = item.findtext("description") or ""
        if "Abstract:" in description:
            categories = tuple(c.text or "" for c in item.findall("category"))
            out.append((description.split("Abstract:", 1)[1].strip(), categories))
    return tuple(out)


def in_categories(*wanted: str) -> list[str]:
    return [abstract for abstract, cats in items() if any(c in wanted for c in cats)]


def in_archive(prefix: str) -> list[str]:
    return [abstract for abstract, cats in items() if any(c.startswith(prefix) for c in cats)]


def _overlap(a: str, b: str) -> bool:
    ka, kb = f" {phrase_key(a)} ", f" {phrase_key(b)} "
    return ka in kb or kb in ka


# --- realistic batches -------------------------------------------------------------------


def test_cl_lg_batch_is_about_language_models() -> None:
    batch = in_categories("cs.CL", "cs.LG")
    assert len(batch) > 250
    top = key_phrases(batch, limit=5)
    assert len(top) == 5
    assert any("language model" in p.lower() for p in top), top
    # Readable form: the spelling the abstracts use most.
    assert top[0] == "large language models"


def test_themes_of_other_archives_make_sense() -> None:
    astro = key_phrases(in_archive("astro-ph"), limit=8)
    assert {"black holes", "dark matter", "galaxies"} <= set(astro), astro
    quantum = key_phrases(in_categories("quant-ph"), limit=5)
    assert "quantum" in quantum, quantum
    vision = key_phrases(in_categories("cs.CV"), limit=5)
    assert "diffusion models" in vision, vision


def test_no_phrase_repeats_a_better_one() -> None:
    for batch in (in_categories("cs.CL", "cs.LG"), in_archive("astro-ph"), in_archive("math")):
        top = key_phrases(batch, limit=10)
        for i, a in enumerate(top):
            for b in top[i + 1 :]:
                assert not _overlap(a, b), (a, b)
        lowered = {p.lower() for p in top}
        # "LLMs" is the acronym of "large language models": never both.
        assert not ({"llms", "large language models"} <= lowered)


def test_background_favours_what_is_special_to_the_batch() -> None:
    everything = [abstract for abstract, _ in items()]
    background = document_frequencies(everything)
    top = key_phrases(
        in_categories("cs.CL"), limit=5, background=background, background_docs=len(everything)
    )
    assert any("language model" in p.lower() for p in top), top
    astro = key_phrases(
        in_archive("astro-ph"), limit=8, background=background, background_docs=len(everything)
    )
    assert {"galaxies", "stars"} <= set(astro), astro


def test_key_phrases_are_deterministic_and_order_independent() -> None:
    batch = in_categories("cs.CL", "cs.LG")
    first = key_phrases(batch, limit=8)
    shuffled = list(batch)
    random.Random(7).shuffle(shuffled)
    assert key_phrases(batch, limit=8) == first
    assert key_phrases(shuffled, limit=8) == first


# --- synthetic ---------------------------------------------------------------------------


def test_contained_phrase_is_suppressed() -> None:
    texts = [
        "Large language models can plan. We test large language models on puzzles.",
        "We study how large language models answer questions about graph colouring.",
        "Large language models and graph colouring heuristics are compared.",
        "A language model for proteins.",
    ]
    top = key_phrases(texts, limit=5)
    assert top[0] == "large language models"
    assert all(phrase_key(p) not in {"language model", "large language"} for p in top), top
    assert "graph colouring" in top


def test_most_common_spelling_is_shown() -> None:
    texts = ["LLMs hallucinate.", "We evaluate LLMs on maths.", "Small llms are fast."]
    assert key_phrases(texts, limit=1) == ["LLMs"]


def test_acronym_of_a_chosen_phrase_is_dropped() -> None:
    texts = [
        "Graph neural networks (GNNs) learn on molecules.",
        "We scale graph neural networks; GNNs are slow.",
        "Graph neural networks for traffic.",
    ]
    top = key_phrases(texts, limit=5)
    assert "graph neural networks" in top or "Graph neural networks" in top
    assert "GNNs" not in top


def test_stop_words_never_start_or_end_a_phrase() -> None:
    texts = ["the model of the world and the theory of mind"] * 3
    for phrase in key_phrases(texts, limit=10):
        words = phrase.lower().split()
        assert words[0] not in {"the", "of", "and"}
        assert words[-1] not in {"the", "of", "and"}


def test_math_and_urls_are_not_themes() -> None:
    texts = [r"Let $\alpha$ be a cardinal; see https://example.org/alpha. Cardinal arithmetic."] * 3
    top = key_phrases(texts, limit=5)
    assert all("alpha" not in p and "http" not in p and "example" not in p for p in top), top
    assert [p.lower() for p in top] == ["cardinal arithmetic"]


def test_key_phrases_edge_cases() -> None:
    assert key_phrases([]) == []
    assert key_phrases(["", "   "]) == []
    assert key_phrases(["Quantum error correction codes."], limit=0) == []
    # A single text: its own phrases are its themes, longest first.
    assert key_phrases(["Quantum error correction codes."], limit=1) in (
        ["Quantum error correction"],
        ["error correction codes"],
    )


def test_phrase_key_normalises_case_and_plural() -> None:
    assert phrase_key("Large Language Models") == "large language model"
    assert phrase_key("LLMs") == "llm"
    assert phrase_key("time series") == "time series"
    assert phrase_key("studies") == "study"
    assert phrase_key("") == ""


def test_document_frequencies_count_each_text_once() -> None:
    df = document_frequencies(["Graph colouring. Graph colouring again.", "graph colourings"])
    assert df["graph colouring"] == 2


@given(st.lists(st.text(max_size=300), max_size=12), st.integers(min_value=0, max_value=8))
def test_key_phrases_never_raise_and_respect_limit(texts: list[str], limit: int) -> None:
    out = key_phrases(texts, limit=limit)
    assert len(out) <= limit
    assert all(p.strip() for p in out)


# --- summary line ------------------------------------------------------------------------


def test_topic_summary_line() -> None:
    line = topic_summary_line(12, ["large language models", "reinforcement learning", "benchmarks"])
    assert line == (
        "12 new papers · themes: large language models, reinforcement learning, benchmarks"
    )
    assert topic_summary_line(1, ["graph colouring"]) == "1 new paper · themes: graph colouring"
    assert topic_summary_line(3, []) == "3 new papers"
    assert topic_summary_line(0, ["anything"]) == "No new papers"


def test_a_capital_without_a_lower_case_form_keeps_its_spelling() -> None:
    # Mathematical italic capitals have no lower case: the spelling must survive the merge.
    assert key_phrases(["𝑨a"], limit=1) == ["𝑨a"]


def test_the_phrases_of_one_document_are_what_document_frequencies_counts() -> None:
    for abstract, _ in items()[:200]:
        assert document_phrases(abstract) == frozenset(document_frequencies([abstract]))
