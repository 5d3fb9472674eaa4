"""Banned APIs, the one place they are matched.

Static: every dotted name the source refers to, with import aliases resolved
(`import torch.nn as nn`, `from torch import optim`, `from torch.nn import LSTM as L`) and
`getattr(module, "Name")` with a constant name read as `module.Name`. Run time: the child's
hooks report the banned classes the student's code constructed (what static analysis cannot
see: computed names, exec); the child only reports raw calls, the grader matches them here.
Both go through `match`, and `ban_reasons` turns them into the reasons an item is zeroed."""
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


def _getattr_link(node: ast.AST) -> tuple[ast.AST, str] | None:
    """`getattr(obj, "name")` / `getattr(obj, "name", default)` -> (obj, "name")."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) in (2, 3) and not node.keywords
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
        return node.args[0], node.args[1].value
    return None


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif _getattr_link(node) is not None:
            node, name = _getattr_link(node)  # type: ignore[misc]
            parts.extend(reversed(name.split(".")))
        else:
            break
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _chain_top(node: ast.AST) -> bool:
    """The outermost link of a name chain (`a.b.c`, `getattr(a.b, "c")`), not a link inside one."""
    parent = getattr(node, "_parent", None)
    if isinstance(parent, ast.Attribute):
        return False
    return not (_getattr_link(parent) is not None and parent.args[0] is node)  # type: ignore[union-attr]


def _normalise(name: str) -> str:
    # torch.nn.modules.rnn.LSTM and torch.nn.LSTM are the same class
    for long, short in (("torch.nn.modules.rnn.", "torch.nn."), ("torch.optim.sgd.", "torch.optim."),
                        ("torch.optim.adam.", "torch.optim.")):
        if name.startswith(long):
            return short + name[len(long):]
    return name


def references(tree: ast.Module) -> list[tuple[str, int]]:
    """(fully qualified dotted name, line) for every name chain in the code."""
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child._parent = parent  # type: ignore[attr-defined]
    names, stars = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) or _getattr_link(node) is not None) and _chain_top(node):
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


def match(name: str, ban: BanSpec) -> str | None:
    """The banned API `name` falls under in `ban` (an api itself or below it; a class of a
    banned prefix), or None. The one matcher, for names in the code and calls at run time."""
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
    lines = source.splitlines()
    hits: list[tuple[BanSpec, BannedUse]] = []
    seen = set()
    for name, lineno in sorted(references(tree), key=lambda r: r[1]):
        for ban in bans:
            api = match(name, ban)
            if api and (id(ban), api, lineno) not in seen:
                seen.add((id(ban), api, lineno))
                code = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
                hits.append((ban, BannedUse(api, lineno, code)))
    return hits


def runtime_apis(bans: tuple[BanSpec, ...]) -> list[str]:
    """What the child hooks: banned classes, and modules whose classes are all banned."""
    return sorted({*(a for b in bans for a in b.apis), *(p for b in bans for p in b.prefixes)})


def runtime_uses(calls: list[dict], bans: tuple[BanSpec, ...] | list[BanSpec]
                 ) -> list[tuple[BanSpec, BannedUse]]:
    """The child's raw reports of banned classes constructed (`{"api", "lineno"}`), matched
    against the bans; anything malformed in a report is ignored, never trusted."""
    hits: list[tuple[BanSpec, BannedUse]] = []
    for call in calls:
        if not isinstance(call, dict):
            continue
        api = str(call.get("api", ""))
        lineno = call.get("lineno") if isinstance(call.get("lineno"), int) else None
        for ban in bans:
            if match(api, ban):
                hits.append((ban, BannedUse(api, lineno, "", how="at run time")))  # type: ignore[arg-type]
    return hits


def ban_reasons(bans: tuple[BanSpec, ...] | list[BanSpec], units: dict, runtime: dict[str, list[dict]]
                ) -> dict[str, list[str]]:
    """item id -> reasons it is zeroed by a banned API, found in a unit's code (`units`: unit
    name -> grader.load.SourceUnit) or called at run time (`runtime`: unit name -> the child's
    reports for that unit's runs)."""
    reasons: dict[str, list[str]] = {}
    for unit_name, unit in units.items():
        unit_bans = tuple(b for b in bans if unit_name in b.units)
        for ban, use in find_banned(unit.source, unit_bans, unit.tree()):
            text = f"banned API {use.api} used at {unit.where(use.lineno)}: `{use.code}`"
            for item_id in ban.zeroes:
                reasons.setdefault(item_id, []).append(text + (f" ({ban.message})" if ban.message else ""))
        for ban, use in runtime_uses(runtime.get(unit_name, []), unit_bans):
            text = f"banned API {use.api} was called at run time from {unit.where(use.lineno)}"
            for item_id in ban.zeroes:
                if not any(use.api in r for r in reasons.get(item_id, [])):
                    reasons.setdefault(item_id, []).append(text)
    return reasons
