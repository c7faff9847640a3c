"""The parity page is a promise: every test it names must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]]*\])?`")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_every_test_named_on_the_parity_page_exists():
    page = (ROOT / "docs" / "sandbox-parity.md").read_text()
    nodes = NODE.findall(page)
    assert len(nodes) >= 40
    missing = [
        f"{file}::{name}"
        for file, name in nodes
        if not (ROOT / file).exists() or name not in _test_names(ROOT / file)
    ]
    assert not missing, missing
