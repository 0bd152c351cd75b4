"""The shared front-end layers stay neutral: bot/messages and bot/commands import neither
discord nor sqlalchemy (nor storage), and only bot/discord imports discord."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name.split(".")[0])
                names.add(".".join(alias.name.split(".")[:2]))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            names.add(".".join(node.module.split(".")[:2]))
    return names


def _offenders(package: str, banned: set[str]) -> dict[str, list[str]]:
    found = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & banned)
        for path in (ROOT / "bot" / package).rglob("*.py")
    }
    return {k: v for k, v in found.items() if v}


def test_messages_import_no_discord_sqlalchemy_storage_or_front_end() -> None:
    banned = {"discord", "sqlalchemy", "storage", "rich", "bot.discord", "bot.console"}
    assert _offenders("messages", banned | {"bot.commands", "bot.app"}) == {}


def test_commands_import_no_discord_sqlalchemy_storage_or_front_end() -> None:
    banned = {"discord", "sqlalchemy", "storage", "rich", "bot.discord", "bot.console", "bot.app"}
    assert _offenders("commands", banned) == {}


def test_only_the_discord_front_end_imports_discord() -> None:
    for package in ("console", "domain", "ingest", "messages", "commands"):
        assert _offenders(package, {"discord"}) == {}, package
