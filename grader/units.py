"""Which submitted file is which unit of a pack, and which files are a student's helper
modules: the matching that discovery (is this folder one student?) and loading (this
student's units) both read."""
from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

from grader.packs import PackSpec


def match_units(spec: PackSpec, files: list[Path]) -> dict[str, Path]:
    """The first file matching each unit's patterns (patterns in order of preference)."""
    chosen: dict[str, Path] = {}
    taken: set[Path] = set()
    code_files = sorted(f for f in files if f.suffix in (".py", ".ipynb"))
    for unit in spec.units:
        for pattern in unit.patterns:
            hits = [f for f in code_files if f not in taken and fnmatch.fnmatch(f.name.lower(), pattern.lower())]
            if hits:
                chosen[unit.name] = hits[0]
                taken.add(hits[0])
                break
    return chosen


def imported_helpers(code: list[Path]) -> set[Path]:
    """The .py files among `code` that another file of `code` imports (`import helpers`,
    `from helpers import f`): helper modules of one student, not competing submissions."""
    by_stem = {f.stem: f for f in code if f.suffix == ".py"}
    helpers: set[Path] = set()
    for file in code:
        for name in _imported_names(file):
            target = by_stem.get(name)
            if target is not None and target != file:
                helpers.add(target)
    return helpers


def _imported_names(file: Path) -> set[str]:
    """Top-level module names a .py file (or a notebook's text, roughly) imports."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace") if file.stat().st_size < 2 << 20 else ""
    except OSError:
        return set()
    if file.suffix == ".ipynb":
        return set(re.findall(r"(?:^|\\n|\")\s*(?:from|import)\s+([A-Za-z_]\w*)", text))
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", text, re.M))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level and not node.module:
            names |= {a.name for a in node.names}
    return names
