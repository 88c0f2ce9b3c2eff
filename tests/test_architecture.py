"""Imports go one way: webhooks → bot → dispatch ← storage (style.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("bot", "dispatch", "storage", "webhooks")
ALLOWED = {
    "dispatch": {"dispatch"},
    "storage": {"storage", "dispatch"},
    "bot": {"bot", "dispatch"},
    "webhooks": {"webhooks", "bot", "dispatch", "storage"},
}


def imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", OURS)
def test_a_package_imports_only_what_the_arrows_allow(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            (imported_packages(path) & set(OURS)) - ALLOWED[package]
        )
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_domain_uses_the_standard_library_only() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names) | {"dispatch", "__future__"}
    foreign = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - stdlib)
        for path in (ROOT / "dispatch").rglob("*.py")
    }
    assert {k: v for k, v in foreign.items() if v} == {}
