"""Static detection of banned APIs: every dotted name the source refers to, with import
aliases resolved (`import torch.nn as nn`, `from torch import optim`,
`from torch.nn import LSTM as L`), matched against the pack's bans. The child's
run-time hooks catch what static analysis cannot see (getattr tricks, exec)."""
from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.packs import BanSpec


@dataclass(frozen=True)
class BannedUse:
    api: str  # the banned name it matched
    lineno: int
    code: str  # the line as written
    how: str = "in the code"  # "in the code" | "at run time"

    def describe(self) -> str:
        return f"{self.api} used at line {self.lineno}: {self.code}".rstrip(": ")


def _aliases(tree: ast.Module) -> tuple[dict[str, str], list[str]]:
    names: dict[str, str] = {}
    star_modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name == "*":
                    star_modules.append(node.module)
                else:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names, star_modules


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _normalise(name: str) -> str:
    # torch.nn.modules.rnn.LSTM and torch.nn.LSTM are the same class
    for long, short in (("torch.nn.modules.rnn.", "torch.nn."), ("torch.optim.sgd.", "torch.optim."),
                        ("torch.optim.adam.", "torch.optim.")):
        if name.startswith(long):
            return short + name[len(long):]
    return name


def references(tree: ast.Module) -> list[tuple[str, int]]:
    """(fully qualified dotted name, line) for every name chain in the code."""
    names, stars = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(getattr(node, "_parent", None), ast.Attribute):
            dotted = _dotted(node)
        elif isinstance(node, ast.Name):
            dotted = node.id
        else:
            continue
        if not dotted:
            continue
        root, _, rest = dotted.partition(".")
        if root in names:
            full = names[root] + ("." + rest if rest else "")
        elif stars and not rest:
            full = None
            for module in stars:
                found.append((_normalise(f"{module}.{dotted}"), node.lineno))
            continue
        else:
            full = dotted
        found.append((_normalise(full), node.lineno))
    for node in ast.walk(tree):  # `from torch.nn import LSTM` is itself a use
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found.append((_normalise(f"{node.module}.{alias.name}"), node.lineno))
    return found


def _matches(name: str, ban: BanSpec) -> str | None:
    for api in ban.apis:
        if name == api or name.startswith(api + "."):
            return api
    for prefix in ban.prefixes:
        if name.startswith(prefix + "."):  # the module itself (an import) is not a use
            return name
    return None


def find_banned(source: str, bans: tuple[BanSpec, ...] | list[BanSpec],
                tree: ast.Module | None = None) -> list[tuple[BanSpec, BannedUse]]:
    if not bans:
        return []
    try:
        tree = tree or ast.parse(source)
    except SyntaxError:
        return []
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child._parent = parent  # type: ignore[attr-defined]
    lines = source.splitlines()
    hits: list[tuple[BanSpec, BannedUse]] = []
    seen = set()
    for name, lineno in sorted(references(tree), key=lambda r: r[1]):
        for ban in bans:
            api = _matches(name, ban)
            if api and (id(ban), api, lineno) not in seen:
                seen.add((id(ban), api, lineno))
                code = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
                hits.append((ban, BannedUse(api, lineno, code)))
    return hits


def runtime_apis(bans: tuple[BanSpec, ...]) -> list[str]:
    """What the child hooks: banned classes, and modules whose classes are all banned."""
    return sorted({*(a for b in bans for a in b.apis), *(p for b in bans for p in b.prefixes)})
