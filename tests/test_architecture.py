"""The core stays platform-neutral: nothing in bot/ imports a platform library."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {"adapters", "slack_bolt", "slack_sdk", "discord", "paperpost"}
BOT = Path(__file__).resolve().parent.parent / "bot"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_bot_never_imports_a_platform() -> None:
    offenders = {
        str(path.relative_to(BOT.parent)): sorted(imported_roots(path) & FORBIDDEN)
        for path in BOT.rglob("*.py")
        if imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


def test_the_walk_sees_every_core_module() -> None:
    assert len(list(BOT.rglob("*.py"))) >= 15
