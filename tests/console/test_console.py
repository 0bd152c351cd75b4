"""The console and `paperbot ask`, run as a person or a script would: `python -m bot`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from storage.catalog import SqlCatalog
from storage.db import create_db_engine
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "tests" / "fixtures" / "arxiv" / "rss_2024-11-28_all_archives.xml"


def _env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOT_")}
    env.pop("DISCORD_TOKEN", None)
    env.update(DATABASE_URL=f"sqlite:///{database}", COLUMNS="100", NO_COLOR="1", TERM="dumb")
    return env


def _bot(database: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(database),
        cwd=ROOT,
        timeout=60,
    )


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("console") / "paperbot.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    SqlCatalog(engine).upsert(parse_arxiv_rss(FEED.read_bytes()).papers)
    engine.dispose()
    return path


def test_ask_prints_a_paper(loaded_db: Path) -> None:
    done = _bot(loaded_db, "ask", "/paper 2411.17700")
    assert done.returncode == 0, done.stderr
    assert "Exploring the Impact of Generative AI" in done.stdout
    assert "TL;DR This study investigates" in done.stdout
    assert "arXiv:2411.17700 · v1" in done.stdout


def test_ask_an_unknown_paper_fails_with_the_reason(loaded_db: Path) -> None:
    done = _bot(loaded_db, "ask", "/paper 2411.99999")
    assert done.returncode == 1
    assert "No paper 2411.99999 in the catalog" in done.stdout


def test_ask_json(loaded_db: Path) -> None:
    done = _bot(loaded_db, "ask", "--json", "/stats")
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    fields = {f["name"]: f["value"][0]["text"] for f in reply["cards"][0]["fields"]}
    assert fields["Papers"] == "1,504" and reply["error"] is False


def test_piped_console_loads_the_sample_answers_and_ends_at_end_of_input(tmp_path: Path) -> None:
    done = _bot(tmp_path / "fresh.db", "run", stdin="/stats\n/paper 2411.17702\n/nope\n")
    assert done.returncode == 0, done.stderr
    assert "loaded 1,504 sample papers" in done.stderr
    assert "Papers" in done.stdout and "1,504" in done.stdout
    assert "arXiv:2411.17702" in done.stdout
    assert "Unknown command /nope; /help lists the commands" in done.stdout
    assert "Traceback" not in done.stderr


def test_console_help_and_quit(loaded_db: Path) -> None:
    done = _bot(loaded_db, "run", stdin="/help\nquit\n/stats\n")
    assert done.returncode == 0, done.stderr
    assert "/search query [sort]" in done.stdout
    assert "n next page" in done.stdout
    assert "1,504" not in done.stdout  # nothing runs after quit


def test_console_pages_with_n_and_p(loaded_db: Path) -> None:
    done = _bot(loaded_db, "run", stdin="/recent cs.CL\nn\nn\np\np\np\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    footers = [line for line in out.splitlines() if "page " in line and " of " in line]
    pages = [int(f.split("page ", 1)[1].split(" ", 1)[0]) for f in footers if "papers" in f]
    assert pages == [1, 2, 3, 2, 1]
    assert "This is the first page" in out
    assert "n next · p previous" in out


def test_ask_a_later_page(loaded_db: Path) -> None:
    done = _bot(loaded_db, "ask", "/search long context", "--page", "2")
    assert done.returncode == 0, done.stderr
    assert "page 2 of" in done.stdout and "6. " in done.stdout


def test_console_pages_a_query_too_long_for_a_discord_button_id(loaded_db: Path) -> None:
    query = "model " + " OR ".join(["learning", "context", "network", "data"] * 5)
    assert len(query) > 100
    done = _bot(loaded_db, "run", stdin=f"/search {query}\nn\np\n")
    assert done.returncode == 0, done.stderr
    footers = [line for line in done.stdout.splitlines() if "page " in line and "papers" in line]
    pages = [int(f.split("page ", 1)[1].split(" ", 1)[0]) for f in footers]
    assert pages == [1, 2, 1]
    assert "6. " in done.stdout
