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


def test_import_builds_the_search_index_beside_the_database(db: Path) -> None:
    meta = json.loads((db.with_name("catalog.search") / "paperbot-index.json").read_text())
    assert meta["papers"] == 1504


def test_db_search_index_updates_or_rebuilds_it(db: Path) -> None:
    done = paperbot("db", "search-index", "--json", db=db)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["action"] in ("unchanged", "updated") and report["indexed"] == 1504
    rebuilt = paperbot("db", "search-index", "--rebuild", "--json", db=db)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["action"] == "built"
    said = paperbot("db", "search-index", db=db)
    assert said.returncode == 0 and "search index" in said.stdout


@pytest.mark.parametrize("query", ['"cerebral blood flow"', "photon* cavity", "graph -survey"])
def test_the_index_and_the_database_find_the_same_papers(db: Path, query: str) -> None:
    def ids(engine: str) -> set[str]:
        done = paperbot(
            "search",
            query,
            "--page-size",
            "50",
            "--json",
            db=db,
            env={"PAPERBOT_SEARCH_ENGINE": engine},
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return {p["id"] for p in json.loads(done.stdout)}

    assert ids("tantivy") == ids("database")


def test_without_an_index_the_database_answers_and_says_why(db: Path, tmp_path: Path) -> None:
    import shutil

    alone = tmp_path / "alone.db"
    shutil.copy(db, alone)
    done = paperbot("search", '"cerebral blood flow"', "--json", db=alone)
    assert done.returncode == 0
    assert [p["id"] for p in json.loads(done.stdout)] == ["2411.17971"]
    assert "no search index" in done.stderr and "paperbot db search-index" in done.stderr
    built = paperbot("db", "search-index", db=alone)
    assert built.returncode == 0 and "built" in built.stdout
    again = paperbot("search", '"cerebral blood flow"', "--json", db=alone)
    assert again.stderr == "" and [p["id"] for p in json.loads(again.stdout)] == ["2411.17971"]
