"""The real `paperbot` command, run as a subprocess against a database of the test's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import RSS, paperbot
from tests.support.feed_server import Response, run_in_thread


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "catalog.db"


def test_import_then_stats_counts_the_real_rss_snapshot(db: Path) -> None:
    imported = paperbot("import", str(RSS), "--json", db=db)
    assert imported.returncode == 0, imported.stderr
    [run] = json.loads(imported.stdout)
    assert (run["status"], run["new"], run["skipped"]) == ("ok", 1504, 0)

    stats = paperbot("stats", "--json", db=db)
    assert stats.returncode == 0, stats.stderr
    data = json.loads(stats.stdout)
    assert data["papers"] == 1504
    assert data["sources"] == 1
    assert data["authors"] > 5000

    again = json.loads(paperbot("import", str(RSS), "--json", db=db).stdout)[0]
    assert (again["new"], again["unchanged"]) == (0, 1504)


def test_show_json_prints_the_paper_shape(db: Path) -> None:
    paperbot("import", str(RSS), db=db)
    shown = paperbot("show", "https://arxiv.org/abs/2411.17702v1", "--json", db=db)
    assert shown.returncode == 0, shown.stderr
    paper = json.loads(shown.stdout)
    assert paper["id"] == "2411.17702"
    assert paper["version"] == "v1"
    assert paper["authors"] == ["Hyewon Jeong", "Suyeol Yun", "Hammaad Adam"]
    assert paper["categories"] == ["eess.SP", "cs.LG"]
    assert paper["published"].startswith("2024-11-28")
    assert set(paper) >= {
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
    }


def test_show_prints_the_same_card_as_the_paper_command(db: Path) -> None:
    paperbot("import", str(RSS), db=db)
    shown = paperbot("show", "https://arxiv.org/abs/2411.17702v1", db=db)
    assert shown.returncode == 0, shown.stderr
    asked = paperbot("ask", "/paper 2411.17702", db=db)
    assert asked.returncode == 0, asked.stderr
    assert shown.stdout == asked.stdout
    out = shown.stdout
    for text in (
        "Abnormalities in Cardiac Condition",  # the title's end: panels wrap, never crop
        "Hyewon Jeong, Suyeol Yun, Hammaad Adam",
        "TL;DR",
        "eess.SP · cs.LG",
        "2024-11-28",
        "abstract · PDF",
        "arXiv:2411.17702 · v1",
    ):
        assert text in out, text
    assert "sources" not in out  # the CLI's own panel (with a sources row) is gone


def test_export_jsonl_imports_back_unchanged(db: Path, tmp_path: Path) -> None:
    paperbot("import", str(RSS), db=db)
    exported = paperbot("export", "--format", "jsonl", db=db)
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert len(lines) == 1504
    dump = tmp_path / "dump.jsonl"
    dump.write_text(exported.stdout, encoding="utf-8")
    other = tmp_path / "other.db"
    assert paperbot("import", str(dump), db=other).returncode == 0
    again = paperbot("export", "--format", "jsonl", db=other)
    assert again.stdout == exported.stdout


def test_export_bibtex_and_csv(db: Path) -> None:
    paperbot("import", str(RSS), db=db)
    bib = paperbot("export", "--format", "bibtex", db=db).stdout
    assert bib.count("@misc{") == 1504
    assert "eprint = {2411.17702}" in bib
    csv_out = paperbot("export", "--format", "csv", db=db).stdout
    assert csv_out.splitlines()[0].startswith("id,version,title,authors")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "/no/such/file.xml"), "cannot read /no/such/file.xml"),
        (("import", "--format", "pdf", str(RSS)), "unknown format 'pdf'"),
        (("show", "not-an-id"), "is not an arXiv id"),
        (("show", "2411.99999"), "no paper 2411.99999"),
        (("export", "--format", "yaml"), "unknown export format 'yaml'"),
        (("stats", "--bogus"), "No such option '--bogus'"),
        (("ingest", "not a source!"), "accepted forms"),
    ],
)
def test_bad_input_ends_with_one_line_and_non_zero_status(
    db: Path, args: tuple[str, ...], message: str
) -> None:
    result = paperbot(*args, db=db)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_bad_setting_stops_start_up_naming_it(db: Path) -> None:
    result = paperbot("stats", db=db, env={"PAPERBOT_INGEST_TIMEZONE": "Mars/Base"})
    assert result.returncode == 1
    assert "PAPERBOT_INGEST_TIMEZONE" in result.stderr and "Traceback" not in result.stderr


def test_a_truncated_feed_file_imports_nothing(db: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.xml"
    data = RSS.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    result = paperbot("import", str(cut), "--format", "arxiv-rss", db=db)
    assert result.returncode == 1
    assert "nothing was imported" in result.stderr
    assert json.loads(paperbot("stats", "--json", db=db).stdout)["papers"] == 0


def test_ingest_fetches_from_the_configured_arxiv_rss(db: Path) -> None:
    with run_in_thread() as served:
        served.server.add("/rss/cs.CL+cs.LG", RSS.read_bytes(), etag='"v1"')
        env = {
            "PAPERBOT_ARXIV_RSS_BASE": served.base_url,
            "PAPERBOT_ARXIV_CATEGORIES": '["cs.CL","cs.LG"]',
        }
        first = paperbot("ingest", "--json", db=db, env=env)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)[0]["new"] == 1504
        second = paperbot("ingest", "--json", db=db, env=env)
        assert json.loads(second.stdout)[0]["status"] == "not_modified"
        [_, again] = served.server.requests("/rss/cs.CL+cs.LG")
        assert again.headers.get("If-None-Match") == '"v1"'


def test_ingest_reports_a_failing_source_and_exits_non_zero(db: Path) -> None:
    with run_in_thread() as served:
        served.server.script("/rss/cs.CL", [Response(status=404, body=b"not here")])
        env = {"PAPERBOT_ARXIV_RSS_BASE": served.base_url, "PAPERBOT_HTTP_MAX_ATTEMPTS": "1"}
        result = paperbot("ingest", "cs.CL", "--json", db=db, env=env)
        assert result.returncode == 1
        [run] = json.loads(result.stdout)
        assert run["status"] == "failed" and "404" in run["reason"]


def test_console_reads_piped_commands_and_exits_cleanly(db: Path) -> None:
    result = paperbot("run", db=db, stdin="/stats\n/paper 2411.17702\n")
    assert result.returncode == 0, result.stderr
    assert "1,504" in result.stdout
    assert "Good Views" in result.stdout


def test_a_listing_and_an_export_of_known_papers_add_no_rows(db: Path, tmp_path: Path) -> None:
    paperbot("import", str(RSS), db=db)
    listing = tmp_path / "listing.txt"
    listing.write_text(
        "LGNov 28, 2024\n"
        'Finding "Good Views" of Electrocardiogram Signals for Inferring Abnormalities in '
        "Cardiac ConditionHyewon Jeong, Suyeol Yun, Hammaad Adam · MIT\n"
        "Electrocardiograms (ECGs) are an established technique to screen for abnormal ...\n",
        encoding="utf-8",
    )
    result = paperbot("import", str(listing), "--json", db=db)
    assert result.returncode == 0, result.stderr
    [run] = json.loads(result.stdout)
    assert (run["new"], run["updated"]) == (0, 1)
    shown = json.loads(paperbot("show", "2411.17702", "--json", db=db).stdout)
    assert shown["sources"] == ["arxiv-rss", "listing"]
    assert shown["affiliations"] == ["MIT"]
    assert json.loads(paperbot("stats", "--json", db=db).stdout)["papers"] == 1504


def test_a_cut_gzip_dump_fails_with_a_reason_and_keeps_what_landed(
    db: Path, tmp_path: Path
) -> None:
    import gzip

    dump = tmp_path / "dump.jsonl"
    paperbot("import", str(RSS), db=db)
    dump.write_text(paperbot("export", db=db).stdout, encoding="utf-8")
    packed = gzip.compress(dump.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    other = tmp_path / "other.db"
    result = paperbot("import", str(cut), "--format", "paperbot-jsonl", db=other)
    assert result.returncode == 1
    assert "stopped after" in result.stderr and "Traceback" not in result.stderr


def test_a_database_url_with_percent_escapes_works(tmp_path: Path) -> None:
    """Alembic's config parser reads "%" as an interpolation: a URL holding a percent-encoded
    password or a ``search_path`` option used to stop every command with a traceback."""
    from tests.conftest import POSTGRES_URL, migrated_postgres_schema

    odd = tmp_path / "100%25 papers" / "catalog.db"  # a "%" in the file's path
    assert paperbot("import", str(RSS), db=odd).returncode == 0
    with migrated_postgres_schema("paperbot_cli") as schema:
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        env = {"DATABASE_URL": url, "PAPERBOT_SEARCH_ENGINE": "database"}
        imported = paperbot("import", str(RSS), "--json", db=odd, env=env)
        assert imported.returncode == 0, imported.stderr
        stats = paperbot("stats", "--json", db=odd, env=env)
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["papers"] == 1504


def test_run_with_discord_unreachable_stops_with_one_line(db: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "PAPERBOT_DISCORD_TOKEN": "not-a-real-token-s3cr3t",
        "PAPERBOT_DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10",
        "PAPERBOT_DISCORD_GATEWAY_URL": f"ws://127.0.0.1:{port}/",
    }
    done = paperbot("run", db=db, env=env)
    assert done.returncode == 1
    assert f"could not reach Discord at http://127.0.0.1:{port}/api/v10 to log in" in done.stderr
    assert "Traceback" not in done.stderr and "s3cr3t" not in done.stderr
    assert "voice will NOT be supported" not in done.stderr


def test_import_of_a_directory_says_so(db: Path, tmp_path: Path) -> None:
    done = paperbot("import", str(tmp_path), db=db)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"paperbot: error: cannot read {tmp_path}: it is a directory; name the files in it"
    )


def test_search_past_the_last_page_says_how_many_there_are(db: Path) -> None:
    paperbot("import", str(RSS), db=db)
    first = paperbot("search", "language", "models", db=db)
    assert first.returncode == 0, first.stderr
    pages = int(first.stdout.split(" · page 1 of ")[1].split()[0].rstrip("+"))
    past = paperbot("search", "language", "models", "--page", str(pages + 1), db=db)
    assert past.returncode == 1
    assert past.stderr.strip() == (
        f"paperbot: error: there is no page {pages + 1}: the results have {pages} page(s)"
    )
