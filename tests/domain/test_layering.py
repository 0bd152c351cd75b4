"""The domain layer imports neither discord nor sqlalchemy; storage never imports a front end."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            if node.module.startswith("bot."):
                names.add(".".join(node.module.split(".")[:2]))
    return names


def test_domain_modules_import_neither_discord_nor_sqlalchemy() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & {"discord", "sqlalchemy", "storage"})
        for path in (ROOT / "bot" / "domain").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_storage_does_not_import_discord_or_front_ends() -> None:
    banned = {"discord", "bot.console", "bot.discord", "bot.cli"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & banned)
        for path in (ROOT / "storage").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
