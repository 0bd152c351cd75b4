"""Running the real `paperbot` command as a subprocess against a database of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RSS = ROOT / "tests" / "fixtures" / "arxiv" / "rss_2024-11-28_all_archives.xml"


def paperbot(
    *args: str, db: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` with DATABASE_URL at ``db`` and no Discord token."""
    full_env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "PAPERBOT_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    full_env.pop("DISCORD_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
