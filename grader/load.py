"""A submission's files -> source units (Python code to run, with notebook cells mapped),
plus the answer texts that manual items show to the TA."""
from __future__ import annotations

import ast
import codecs
import io
import re
import sys
import threading
import tokenize
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable

from grader.packs import Pack
from grader.units import imported_helpers, match_units


def _serialise_ast_parse() -> None:
    """CPython before 3.12 keeps the AST converter's recursion depth in state shared by all
    threads, so two batch threads parsing student sources at once can fail with "SystemError:
    AST constructor recursion depth mismatch" (CPython gh-106905) -- a grader error on a
    correct submission. Parsing is cheap next to a run: one lock for the whole process."""
    if sys.version_info >= (3, 12) or getattr(ast.parse, "_rnngrade_locked", False):
        return
    lock, parse = threading.RLock(), ast.parse

    def locked_parse(*args, **kwargs):
        with lock:
            return parse(*args, **kwargs)

    locked_parse._rnngrade_locked = True
    ast.parse = locked_parse


_serialise_ast_parse()

MAX_SOURCE_BYTES = 2 << 20


class LoadError(Exception):
    """A file that cannot be turned into code (invalid notebook, not text)."""


@dataclass(frozen=True)
class SourceUnit:
    name: str  # the pack's unit name ("main", "q1", ...)
    path: Path
    filename: str  # what tracebacks and messages call the file
    source: str
    cells: tuple[tuple[int, int], ...] | None = None  # notebooks: (first, last) line per code cell
    neutralised: tuple[str, ...] = ()
    markdown: tuple[str, ...] = ()

    @property
    def is_notebook(self) -> bool:
        return self.cells is not None

    def where(self, lineno: int | None) -> str:
        """'line 12' for a script, 'cell 3, line 2' for a notebook."""
        if lineno is None:
            return ""
        if self.cells:
            for index, (first, last) in enumerate(self.cells, start=1):
                if first <= lineno <= last:
                    return f"cell {index}, line {lineno - first + 1}"
        return f"line {lineno}"

    def line(self, lineno: int | None) -> str | None:
        lines = self.source.splitlines()
        if lineno and 0 < lineno <= len(lines):
            return lines[lineno - 1].strip()
        return None

    def tree(self) -> ast.Module | None:
        return self._tree

    @cached_property
    def _tree(self) -> ast.Module | None:
        # parsed once per submission: every check and the ban scan share it (read-only)
        try:
            return ast.parse(self.source, self.filename)
        except SyntaxError:
            return None


_MAGIC = re.compile(r"^(\s*)([!%].*)$")


def neutralise(code: str) -> tuple[str, list[str]]:
    """Shell lines (`!pip ...`) and magics (`%matplotlib`, `%%time`) are not Python: they
    become `pass` (indentation kept, so an `if` body stays valid) and are listed."""
    lines = code.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return "\n".join("# " + line for line in lines), [lines[0].strip()]
    out, found = [], []
    for line in lines:
        match = _MAGIC.match(line)
        if match:
            out.append(f"{match.group(1)}pass  # rnngrade: not run: {match.group(2)[:80]}")
            found.append(match.group(2).strip())
        else:
            out.append(line)
    return "\n".join(out), found


NOT_A_NOTEBOOK = "is not a valid notebook"  # the file is not notebook JSON: the batch cannot grade it


def load_notebook(path: Path, unit: str) -> SourceUnit:
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several kinds for broken JSON
        raise LoadError(f"{path.name} {NOT_A_NOTEBOOK} ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:200] if str(exc) else 'unreadable'})") from None
    parts, cells, neutralised, markdown = [], [], [], []
    line = 1
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            markdown.append(str(cell.source))
            continue
        if cell.cell_type != "code":
            continue
        code, found = neutralise(str(cell.source))
        neutralised += found
        n_lines = max(1, len(code.splitlines()))
        cells.append((line, line + n_lines - 1))
        parts.append(code if code.strip() else "pass")
        line += n_lines
    return SourceUnit(unit, path, path.name, "\n".join(parts) + "\n", tuple(cells),
                      tuple(neutralised), tuple(markdown))


def load_file(path: Path, unit: str) -> SourceUnit:
    if path.suffix == ".ipynb":
        return load_notebook(path, unit)
    data = path.read_bytes()
    if len(data) > MAX_SOURCE_BYTES:
        raise LoadError(f"{path.name} is {len(data)} bytes; a Python source over 2 MB is not graded")
    text = decode_source(data, path.name)
    return SourceUnit(unit, path, path.name, text.replace("\r\n", "\n"))


def decode_source(data: bytes, name: str) -> str:
    """Python source bytes -> text, as Python itself reads them (PEP 263): a UTF-8 BOM, or a
    `# -*- coding: latin-1 -*-` line among the first two, or else UTF-8. The declaration line
    stays in the text: `compile()` of a str ignores it."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "missing encoding declaration" not in str(exc):  # an unknown name, a BOM against the cookie
            raise LoadError(f"{name}: {exc}") from None
        encoding = "utf-8"  # undeclared and not UTF-8: the decode below says so
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        declared = "UTF-8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding
        raise LoadError(f"{name} is not {declared} text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
                        "save it as UTF-8, or declare its encoding on the first line "
                        "(# -*- coding: latin-1 -*-)") from None
    return text[1:] if text.startswith("\ufeff") else text


# -- a submission's units ------------------------------------------------------------------


def load_units(pack: Pack, files: Iterable[Path]) -> tuple[dict[str, SourceUnit], dict[str, str]]:
    """Source units found, and a one-line reason for every unit that is missing or unusable."""
    files = list(files)
    units, missing = {}, {}
    # a module another submitted file imports is a helper (`import helpers`), never a unit
    helpers = imported_helpers([f for f in files if f.suffix in (".py", ".ipynb")])
    chosen = match_units(pack.spec, [f for f in files if f not in helpers])
    if len(chosen) < len(pack.spec.units):  # a unit's own file may be imported by another (q2 imports q1)
        for name, path in match_units(pack.spec, [f for f in files if f not in chosen.values()]).items():
            chosen.setdefault(name, path)
    for unit in pack.spec.units:
        path = chosen.get(unit.name)
        if path is None:
            wanted = " or ".join(unit.patterns[:3])
            missing[unit.name] = f"no file for {unit.name} was submitted (expected {wanted})"
            continue
        try:
            units[unit.name] = load_file(path, unit.name)
        except LoadError as exc:
            missing[unit.name] = str(exc)
    return units, missing


SUPPORT_MAX_BYTES = 5 << 20


def support_files(units: dict[str, SourceUnit], files: Iterable[Path]) -> dict[str, Path]:
    """The submission's other .py files (helper modules), placed in each run folder at their
    path relative to the main file's folder so that `import helpers` works there."""
    unit_paths = {u.path.resolve() for u in units.values()}
    bases = [u.path.resolve().parent for u in units.values()]
    support, total = {}, 0
    for path in files:
        path = Path(path)
        if path.suffix != ".py" or path.resolve() in unit_paths or path.is_symlink() or not path.is_file():
            continue
        for base in bases:
            try:
                rel = path.resolve().relative_to(base)
            except ValueError:
                continue
            total += path.stat().st_size
            if total <= SUPPORT_MAX_BYTES:
                support[rel.as_posix()] = path
            break
    return support


# -- answers for manual items --------------------------------------------------------------


def answer_texts(files: list[Path], units: list[SourceUnit]) -> list[str]:
    texts = [md for u in units for md in u.markdown]
    for path in files:
        if path.suffix.lower() in (".md", ".txt") and path.stat().st_size < 1 << 20:
            texts.append(path.read_text(errors="replace"))
        elif path.suffix.lower() == ".pdf":
            texts.append(_pdf_text(path))
    return [t for t in texts if t]


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:
        return ""
    try:
        return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages[:50])
    except Exception:
        return ""


def _heading_number(line: str) -> str | None:
    match = re.match(r"^\s*(?:#+\s*|\*\*)?\s*(?:Q(?:uestion)?\.?\s*|A)?(\d+)\s*[.):\]*-]?(?:\s|\*|$)",
                     line, re.IGNORECASE)
    return match.group(1) if match else None


def extract_answer(texts: list[str], question: str) -> str | None:
    """The text under a heading or line that starts with the question's number
    ("## 5", "### Question 5", "Q5.", "5. (5%) ...", "A5:") up to the next such line."""
    for text in texts:
        lines = text.splitlines()
        for start, line in enumerate(lines):
            if _heading_number(line) != str(question):
                continue
            body = [line.strip()]
            for following in lines[start + 1:]:
                number = _heading_number(following)
                if number is not None and number != str(question) and following.lstrip()[:1] in "#*QqAa0123456789":
                    break
                body.append(following.rstrip())
            answer = "\n".join(body).strip()
            if answer:
                return answer[:5000]
    return None
