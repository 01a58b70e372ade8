"""The layout keeps the architecture: a platform-neutral core (bot/), adapters and the
application around it, one way into the core, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
INSTALLED = (ROOT / "bot", ROOT / "adapters", ROOT / "paperpost")
PLATFORM_LIBRARIES = {"slack_bolt", "slack_sdk", "discord", "aiohttp"}
MAX_CORE_MODULE_LINES = 350
STORAGE_CLASSES = {"Store", "PaperLibrary", "ChannelRegistry"}


def python_files(folder: Path) -> list[Path]:
    # paperpost/bot and paperpost/adapters are links to the folders walked on their own
    return [p for p in folder.rglob("*.py") if p.relative_to(ROOT).parts[:2] not in (
        ("paperpost", "bot"), ("paperpost", "adapters"))]  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def offenders(folders: tuple[Path, ...], bad: object) -> dict[str, list[str]]:
    found = {}
    for folder in folders:
        for path in python_files(folder):
            hits = sorted(m for m in imported_modules(path) if bad(m))  # type: ignore[operator]
            if hits:
                found[str(path.relative_to(ROOT))] = hits
    return found


def test_the_core_never_imports_a_platform_an_adapter_or_the_application() -> None:
    def bad(module: str) -> bool:
        root = module.split(".")[0]
        in_app = module.startswith("paperpost.") and not module.startswith("paperpost.bot")
        return root in PLATFORM_LIBRARIES or in_app or module == "paperpost"

    assert offenders((BOT,), bad) == {}


def test_nothing_imports_bot_or_adapters_as_top_level_packages() -> None:
    def bad(module: str) -> bool:
        return module.split(".")[0] in {"bot", "adapters"}

    assert offenders((*INSTALLED, ROOT / "tests", ROOT / "benchmarks"), bad) == {}


def test_the_installed_packages_never_import_the_fts5_engine() -> None:
    assert offenders(INSTALLED, lambda m: m.split(".")[0] == "fts5_index") == {}


def test_core_modules_stay_small() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in python_files(BOT)}
    assert {p: n for p, n in sizes.items() if n > MAX_CORE_MODULE_LINES} == {}


def test_only_the_core_constructs_its_stores() -> None:
    def constructed(path: Path) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in STORAGE_CLASSES:
                    names.add(name)
        return names

    found = {
        str(p.relative_to(ROOT)): sorted(constructed(p))
        for folder in (ROOT / "adapters", ROOT / "paperpost")
        for p in python_files(folder)
        if constructed(p)
    }
    assert found == {}


CORE_INTERNALS = {"library", "scheduler", "store", "channels", "ledger", "outbox", "handlers"}


def test_the_outside_reads_the_core_through_its_facade() -> None:
    """paperpost/ and adapters/ call the core's methods, never its parts (``core.library``)."""

    def reaches_in(path: Path) -> list[str]:
        return sorted(
            f"{node.value.id}.{node.attr}"
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "core" and node.attr in CORE_INTERNALS
        )  # fmt: skip

    found = {
        str(p.relative_to(ROOT)): reaches_in(p)
        for folder in (ROOT / "adapters", ROOT / "paperpost")
        for p in python_files(folder)
        if reaches_in(p)
    }
    assert found == {}


def test_the_walk_sees_every_core_module() -> None:
    assert len(python_files(BOT)) >= 30
    assert all(len(python_files(f)) >= 5 for f in INSTALLED)
