"""`paperbot digest TOPIC`: what a digest would post, as the real command prints it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import RSS, paperbot


def test_digest_prints_a_ready_made_topics_first_digest(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    assert paperbot("import", str(RSS), db=db).returncode == 0

    shown = paperbot("digest", "long-context", "--json", db=db)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["topic"] == "long-context"
    assert data["summary"].startswith(f"{len(data['papers'])} new papers")
    assert data["papers"] and all(p["tldr"] for p in data["papers"])
    assert data["messages"][0]["content"].startswith("long-context · ")

    text = paperbot("digest", "cs.RO", db=db)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("cs-ro · 56 new papers")
    assert "and 36 more" in text.stdout


def test_digest_of_an_unknown_topic_says_what_exists(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    missing = paperbot("digest", "no-such-topic", db=db)
    assert missing.returncode == 1
    assert "no ready-made topic called 'no-such-topic'" in missing.stderr
    assert "cs-cl" in missing.stderr
    guild = paperbot("digest", "llm", "--guild", "5", db=db)
    assert guild.returncode == 1
    assert guild.stderr.startswith(
        "paperbot: error: this server has no topic called llm, and no ready-made topic has "
        "that name: cs-cl, "
    )


def test_digest_of_a_ready_made_topic_a_server_has_not_added(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    assert paperbot("import", str(RSS), db=db).returncode == 0
    plain = paperbot("digest", "cs.RO", "--json", db=db)
    guild = paperbot("digest", "cs.RO", "--guild", "5", "--json", db=db)
    assert guild.returncode == 0, guild.stderr
    data = json.loads(guild.stdout)
    assert data["topic"] == "cs-ro" and data["papers"]
    assert data["messages"] == json.loads(plain.stdout)["messages"]
