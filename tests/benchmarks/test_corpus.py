"""The synthetic benchmark corpus: deterministic, in the snapshot's layout, shaped like the fixture.

Small and untimed: these check what the generator makes, never how fast.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter
from email.utils import parsedate_to_datetime
from itertools import islice
from pathlib import Path

import pytest

from benchmarks import corpus
from bot.domain.ingest.jsonl import iter_snapshot
from bot.domain.papers import Paper

SNAPSHOT_KEYS = [
    "id",
    "submitter",
    "authors",
    "title",
    "comments",
    "journal-ref",
    "doi",
    "report-no",
    "categories",
    "license",
    "abstract",
    "versions",
    "update_date",
    "authors_parsed",
]
NEW_STYLE_ID = re.compile(r"^(\d{2})(\d{2})\.\d{5}$")


@pytest.fixture(scope="module")
def sample() -> list[dict[str, object]]:
    return list(corpus.generate(2000, seed=1))


def test_the_same_seed_gives_the_same_records() -> None:
    first = list(corpus.generate(100, seed=0))
    again = list(corpus.generate(100, seed=0))
    assert first == again
    assert json.dumps(first) == json.dumps(again)


def test_another_seed_gives_other_records() -> None:
    zero = list(corpus.generate(100, seed=0))
    one = list(corpus.generate(100, seed=1))
    assert [r["abstract"] for r in zero] != [r["abstract"] for r in one]
    assert sum(a["title"] == b["title"] for a, b in zip(zero, one, strict=True)) < 5


def test_records_have_the_snapshot_layout(sample: list[dict[str, object]]) -> None:
    for record in sample[:200]:
        assert list(record) == SNAPSHOT_KEYS
        versions = record["versions"]
        assert isinstance(versions, list) and 1 <= len(versions) <= 3
        assert [v["version"] for v in versions] == [f"v{i}" for i in range(1, len(versions) + 1)]
        dates = [parsedate_to_datetime(v["created"]) for v in versions]
        assert dates == sorted(dates)
        assert all(v["created"].endswith(" GMT") for v in versions)
        assert record["update_date"] == dates[-1].strftime("%Y-%m-%d")
        parsed = record["authors_parsed"]
        assert isinstance(parsed, list) and 1 <= len(parsed) <= 5
        names = [f"{first} {last}" for last, first, _ in parsed]
        assert record["authors"] == (
            names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        )
        assert record["submitter"] in names
        assert isinstance(record["abstract"], str) and record["abstract"].startswith("  ")


def test_ids_increase_over_2015_to_2026() -> None:
    records = list(corpus.generate(1440, seed=0))
    ids = [r["id"] for r in records]
    assert all(NEW_STYLE_ID.match(i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids[0].startswith("1501.") and ids[-1].startswith("2612.")
    months = {i[:4] for i in ids}
    assert len(months) == 144  # every month of the twelve years


def test_lengths_are_drawn_around_the_fixture_s(sample: list[dict[str, object]]) -> None:
    abstract_words = [len(str(r["abstract"]).split()) for r in sample]
    assert 145 <= statistics.mean(abstract_words) <= 175
    assert statistics.pstdev(abstract_words) > 25  # a distribution, not a constant
    title_words = [len(str(r["title"]).split()) for r in sample]
    assert min(title_words) >= 6 and max(title_words) <= 14
    authors = Counter(len(r["authors_parsed"]) for r in sample)  # type: ignore[arg-type]
    assert sum(authors[k] for k in (3, 4, 5)) / len(sample) > 0.98


def test_categories_are_skewed_and_half_cross_listed(sample: list[dict[str, object]]) -> None:
    fixture = corpus.load_fixture()
    lists = [str(r["categories"]).split() for r in sample]
    assert all(set(cats) <= set(fixture.categories) for cats in lists)
    assert all(len(cats) == len(set(cats)) for cats in lists)
    cross_listed = sum(len(cats) > 1 for cats in lists) / len(lists)
    assert 0.4 <= cross_listed <= 0.6
    primaries = Counter(cats[0] for cats in lists)
    assert primaries.most_common(1)[0][0] == fixture.categories[0]  # the fixture's most common
    computer_science = sum(n for c, n in primaries.items() if c.startswith("cs.")) / len(lists)
    assert computer_science > 0.4


def test_text_keeps_stop_words_and_its_category_s_vocabulary(
    sample: list[dict[str, object]],
) -> None:
    words = Counter(w.lower().strip(".") for r in sample[:500] for w in str(r["abstract"]).split())
    top = [w for w, _ in words.most_common(10)]
    assert "the" in top[:3] and "of" in top
    # Zipf-like: the 10th most frequent word is several times rarer than the first.
    assert words.most_common(10)[-1][1] * 3 < words.most_common(1)[0][1]

    fixture = corpus.load_fixture()
    shares = []
    for r in sample[:300]:
        primary = str(r["categories"]).split()[0]
        vocabulary = set(fixture.category_words[primary].words)
        tokens = str(r["abstract"]).replace(".", " ").split()
        shares.append(sum(t.lower() in vocabulary or t in vocabulary for t in tokens) / len(tokens))
    assert statistics.mean(shares) >= 0.3


def test_the_author_pool_grows_with_the_corpus() -> None:
    def distinct_authors(n: int) -> int:
        return len({tuple(a) for r in corpus.generate(n, seed=0) for a in r["authors_parsed"]})

    small, large = distinct_authors(500), distinct_authors(5000)
    assert large > 3 * small
    names = Counter(tuple(a) for r in corpus.generate(5000, seed=0) for a in r["authors_parsed"])
    assert names.most_common(1)[0][1] >= 10  # prolific authors exist


def test_the_snapshot_parser_takes_every_record() -> None:
    lines = [json.dumps(r).encode() for r in corpus.generate(300, seed=0)]
    items = list(iter_snapshot(lines, source="bench"))
    papers = [p for p in items if isinstance(p, Paper)]
    assert len(papers) == 300
    assert all(p.arxiv_id and p.title and p.abstract and p.authors for p in papers)
    assert all(p.published is not None and p.version for p in papers)


@pytest.mark.parametrize("name", ["corpus.jsonl", "corpus.jsonl.gz"])
def test_write_jsonl_streams_to_a_file(tmp_path: Path, name: str) -> None:
    path = corpus.write_jsonl(tmp_path / name, 250, seed=1)
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert len(lines) == 250
    # The id range and the author pool depend on n: compare with the same n.
    expected = list(islice(corpus.generate(250, seed=1), 20))
    assert [json.loads(line) for line in islice(lines, 20)] == expected
    assert not list(tmp_path.glob("*.part"))
