"""`paperbot search` and `paperbot similar`, run as subprocesses on the imported RSS snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import RSS, paperbot


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-search") / "catalog.db"
    imported = paperbot("import", str(RSS), db=path)
    assert imported.returncode == 0, imported.stderr
    return path


def test_search_json_lists_ranked_papers(db: Path) -> None:
    done = paperbot("search", '"cerebral blood flow"', "--json", db=db)
    assert done.returncode == 0, done.stderr
    papers = json.loads(done.stdout)
    assert [p["id"] for p in papers] == ["2411.17971"]
    first = papers[0]
    assert set(first) >= {"id", "title", "authors", "published", "score"}
    assert first["title"].startswith("Graph Neural Network for Cerebral Blood Flow")
    assert first["authors"][0] == "Seungyeon Kim"
    assert first["published"].startswith("2024-11-28")
    assert first["score"] > 0


def test_search_takes_several_words_and_pages(db: Path) -> None:
    one = json.loads(
        paperbot("search", "graph", "neural", "--page-size", "3", "--json", db=db).stdout
    )
    two = json.loads(
        paperbot(
            "search", "graph neural", "--page", "2", "--page-size", "3", "--json", db=db
        ).stdout
    )
    assert len(one) == len(two) == 3
    assert not {p["id"] for p in one} & {p["id"] for p in two}
    assert [p["score"] for p in one] == sorted((p["score"] for p in one), reverse=True)


def test_search_prints_a_readable_list(db: Path) -> None:
    done = paperbot("search", "title:lozi", db=db)
    assert done.returncode == 0, done.stderr
    assert "1 paper · page 1 of 1" in done.stdout
    assert "2411.17836  The zero entropy locus for the Lozi maps" in done.stdout
    assert "M. Misiurewicz" in done.stdout


def test_a_rejected_query_ends_in_one_line(db: Path) -> None:
    done = paperbot("search", '"unbalanced', "--json", db=db)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("paperbot: error: cannot search for that: unbalanced quote")
    assert "Traceback" not in done.stderr


def test_similar_json_leaves_the_paper_out(db: Path) -> None:
    done = paperbot(
        "similar", "https://arxiv.org/abs/2411.17971v1", "--limit", "4", "--json", db=db
    )
    assert done.returncode == 0, done.stderr
    papers = json.loads(done.stdout)
    assert 0 < len(papers) <= 4
    assert "2411.17971" not in [p["id"] for p in papers]
    assert all(set(p) >= {"id", "title", "authors", "published", "score"} for p in papers)
    assert any("Graph" in p["title"] for p in papers)


def test_similar_to_an_unknown_paper_ends_in_one_line(db: Path) -> None:
    done = paperbot("similar", "2411.99999", db=db)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "paperbot: error: no paper 2411.99999 in the catalog (it may not have been ingested yet)"
    )
