"""Assignment packs: `assignments/<id>/rubric.toml` read into one typed, validated spec
(unknown keys are reported, never ignored), plus the pack's check functions."""
from __future__ import annotations

import importlib.util
import os
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (Ubuntu 22.04's system Python)
    import tomli as tomllib  # type: ignore[no-redef]
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, Callable


class PackError(Exception):
    """A pack that does not exist or whose spec is wrong."""


def project_root() -> Path:
    """The grader's own root: `RNNGRADE_HOME`, else the folder holding the grader package
    (a checkout). Example submissions (`rnngrade demo`) and the Gradescope zip's files are
    read from here; packs are found by `pack_sources()`."""
    return Path(os.environ.get("RNNGRADE_HOME") or Path(__file__).resolve().parent.parent)


def assignments_dir() -> Path:
    return project_root() / "assignments"


# -- where packs are found -------------------------------------------------------------------
#
# In this order, the first location holding a pack id wins (docs/PACKS.md "Where packs are
# found"):
#   1. $RNNGRADE_HOME/assignments
#   2. the current checkout: the cwd or its nearest parent holding assignments/*/rubric.toml
#      beside a pyproject.toml or .git
#   3. the installed package's shipped packs: grader/_shipped/assignments in a wheel, the
#      checkout's assignments/ when the grader runs from a checkout
#   4. pip packages declaring an entry point in the group `rnngrade.packs`; its value names a
#      module (its folder holds pack folders) or a callable returning such a folder

ENTRY_POINT_GROUP = "rnngrade.packs"


@dataclass(frozen=True)
class PackSource:
    kind: str        # "RNNGRADE_HOME", "checkout", "installed", "entry point NAME (DIST)"
    directory: Path  # the folder holding pack folders


def _has_packs(directory: Path) -> bool:
    try:
        return directory.is_dir() and any(directory.glob("*/rubric.toml"))
    except OSError:
        return False


def _checkout_root(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        if _has_packs(folder / "assignments") and ((folder / "pyproject.toml").exists()
                                                   or (folder / ".git").exists()):
            return folder
    return None


def _installed_dir() -> Path:
    here = Path(__file__).resolve().parent
    wheel = here / "_shipped" / "assignments"  # pip install of the wheel (pyproject: grader._shipped)
    return wheel if wheel.is_dir() else here.parent / "assignments"


def _entry_point_dirs() -> list[PackSource]:
    from importlib import metadata

    points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    _BROKEN_SOURCES.clear()
    found = []
    for point in sorted(points, key=lambda p: p.name):
        dist = getattr(getattr(point, "dist", None), "name", None)
        kind = f"entry point {point.name}" + (f" ({dist})" if dist else "")
        try:
            value = point.load()
            if isinstance(value, ModuleType):
                locations = list(getattr(value, "__path__", []) or [])
                directory = Path(locations[0]) if locations else Path(value.__file__).parent
            else:
                directory = Path(value() if callable(value) else value)
        except Exception as exc:  # a broken course package must not hide every other pack
            _BROKEN_SOURCES[kind] = f"{kind}: {point.value} could not be loaded ({type(exc).__name__}: {exc})"
            continue
        found.append(PackSource(kind, directory.resolve()))
    return found


_BROKEN_SOURCES: dict[str, str] = {}


def pack_sources() -> list[PackSource]:
    """The locations searched for packs, in order (duplicates of one folder kept once)."""
    sources = []
    home = os.environ.get("RNNGRADE_HOME")
    if home:
        sources.append(PackSource("RNNGRADE_HOME", Path(home).resolve() / "assignments"))
    try:
        checkout = _checkout_root(Path.cwd().resolve())
    except OSError:  # a cwd that was removed
        checkout = None
    if checkout is not None:
        sources.append(PackSource("checkout", checkout / "assignments"))
    sources.append(PackSource("installed", _installed_dir().resolve()))
    sources += _entry_point_dirs()
    kept, seen = [], set()
    for source in sources:
        if source.directory not in seen:
            seen.add(source.directory)
            kept.append(source)
    return kept


def _every_pack() -> list[tuple[str, Path, PackSource]]:
    """(pack id, pack folder, where) for every pack in every source, in search order."""
    every = []
    for source in pack_sources():
        if source.directory.is_dir():
            for directory in sorted(source.directory.iterdir()):
                if (directory / "rubric.toml").is_file():
                    every.append((directory.name, directory, source))
    return every


def find_packs() -> dict[str, tuple[Path, PackSource]]:
    """pack id (its folder's name) -> (pack folder, where it was found); first found wins."""
    found: dict[str, tuple[Path, PackSource]] = {}
    for pack_id, directory, source in _every_pack():
        found.setdefault(pack_id, (directory, source))
    return found


def pack_source(pack_id: str) -> PackSource | None:
    hit = find_packs().get(pack_id)
    return hit[1] if hit else None


def shadowed_packs() -> list[tuple[str, Path, PackSource]]:
    """Packs hidden by one of the same id found earlier: (id, hidden folder, its source)."""
    seen: set[str] = set()
    hidden = []
    for pack_id, directory, source in _every_pack():
        if pack_id in seen:
            hidden.append((pack_id, directory, source))
        seen.add(pack_id)
    return hidden


def source_problems() -> list[str]:
    """Entry points that could not be loaded (`rnngrade list` prints them)."""
    pack_sources()
    return list(_BROKEN_SOURCES.values())


def resolve_pack_file(pack_dir: Path, relative: str) -> Path:
    """A path named in a pack (rubric.toml's `reference`): relative to the pack folder when it
    is there (a pack that ships its reference inside), else to the folder holding the pack's
    `assignments/` folder (the shipped packs' `reference/...`, in a checkout and in the wheel)."""
    inside = pack_dir / relative
    return inside if inside.exists() else pack_dir.parent.parent / relative


def hidden_pack_paths() -> list[str]:
    """Every folder holding packs, and the reference/ folder beside each: never readable from
    student code (the sandbox hides them)."""
    paths = []
    for source in pack_sources():
        paths.append(str(source.directory))
        paths.append(str(source.directory.parent / "reference"))
    return paths


REPORT_CHECKS = "report"  # checks.py: @item("report") checks the submission as a whole


@dataclass(frozen=True)
class UnitSpec:
    name: str
    patterns: tuple[str, ...]
    as_main: bool = True
    required: bool = True
    # run only definitions (def, class, import, constant assignments): a notebook's training
    # cells are skipped, so its classes and functions are graded in seconds
    definitions_only: bool = False


@dataclass(frozen=True)
class ItemSpec:
    id: str
    name: str
    points: float
    kind: str
    number: int
    units: tuple[str, ...] = ()
    all_or_nothing: bool = False
    public: bool = True
    question: str | None = None
    description: str = ""
    # Gradescope: who sees this item's result, and when
    visibility: str = "visible"
    # manual items scored on levels (lowest first): level k of n is worth k / n x points
    levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class BanSpec:
    apis: tuple[str, ...]
    prefixes: tuple[str, ...]
    zeroes: tuple[str, ...]
    units: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class PackSpec:
    id: str
    title: str
    total: float
    dir: Path
    units: tuple[UnitSpec, ...]
    items: tuple[ItemSpec, ...]
    banned: tuple[BanSpec, ...] = ()
    tolerances: dict[str, Any] = field(default_factory=dict)
    tiers: dict[str, list] = field(default_factory=dict)
    timeout: float = 60.0
    timeout_full: float | None = None
    reference: str | None = None
    # torch._dynamo: the first torch.optim optimizer imports it lazily (~2.4 s per child)
    warm: tuple[str, ...] = ("numpy", "torch", "torch._dynamo", "matplotlib")
    memory_mb: int = 4096
    seed_doc: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    # What grading needs beyond the engine: {"modules": [...], "data": [...], "install": "..."}
    requires: dict[str, Any] = field(default_factory=dict)
    # Gradescope's copy of results.json: {"stdout_visibility": ..., "show_manual": bool}
    gradescope: dict[str, Any] = field(default_factory=dict)

    def item(self, item_id: str) -> ItemSpec:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def unit(self, name: str) -> UnitSpec:
        for unit in self.units:
            if unit.name == name:
                return unit
        raise KeyError(name)


_TOP_KEYS = {"id", "title", "total", "timeout", "timeout_full", "reference", "units", "items",
             "banned", "tolerances", "tiers", "warm", "memory_mb", "seed_doc", "options",
             "requires", "gradescope", "visibility"}
_UNIT_KEYS = {"name", "patterns", "as_main", "required", "definitions_only"}
_ITEM_KEYS = {"id", "name", "points", "kind", "units", "all_or_nothing", "public", "question", "description",
              "visibility", "levels"}
_REQUIRES_KEYS = {"modules", "data", "data_full", "install"}
_GRADESCOPE_KEYS = {"stdout_visibility", "show_manual"}
# Gradescope's four visibility settings (autograder specification)
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
_BAN_KEYS = {"apis", "prefixes", "zeroes", "units", "message"}


def _check_keys(where: str, table: dict, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PackError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _levels(where: str, kind: str, raw) -> tuple[str, ...]:
    if not raw:
        return ()
    if kind != "manual" or not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise PackError(f"{where}: levels must be a list of level names, lowest first, on a manual item")
    return tuple(raw)


def parse_spec(data: dict, directory: Path) -> PackSpec:
    where = str(directory / "rubric.toml")
    _check_keys(where, data, _TOP_KEYS)
    units = []
    for raw in data.get("units", []):
        _check_keys(f"{where} [[units]]", raw, _UNIT_KEYS)
        units.append(UnitSpec(raw["name"], tuple(raw.get("patterns", ["*.py", "*.ipynb"])),
                              bool(raw.get("as_main", True)), bool(raw.get("required", True)),
                              bool(raw.get("definitions_only", False))))
    unit_names = [u.name for u in units]
    default_visibility = _visibility(where, "visibility", data.get("visibility", "visible"))
    items = []
    for number, raw in enumerate(data.get("items", []), start=1):
        _check_keys(f"{where} item {raw.get('id', number)}", raw, _ITEM_KEYS)
        kind = raw.get("kind", "auto")
        if kind not in ("auto", "manual"):
            raise PackError(f"{where}: item {raw['id']} has kind {kind!r}; use 'auto' or 'manual'")
        item_units = tuple(raw.get("units", unit_names[:1] if kind == "auto" else []))
        for u in item_units:
            if u not in unit_names:
                raise PackError(f"{where}: item {raw['id']} names unknown unit {u!r}")
        items.append(ItemSpec(raw["id"], raw.get("name", raw["id"]), float(raw["points"]), kind, number,
                              item_units, bool(raw.get("all_or_nothing", False)),
                              bool(raw.get("public", True)), raw.get("question"),
                              raw.get("description", ""),
                              _visibility(f"{where} item {raw['id']}", "visibility",
                                          raw.get("visibility", default_visibility)),
                              _levels(f"{where} item {raw['id']}", kind, raw.get("levels", []))))
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise PackError(f"{where}: duplicate item ids")
    bans = []
    for raw in data.get("banned", []):
        _check_keys(f"{where} [[banned]]", raw, _BAN_KEYS)
        for z in raw.get("zeroes", []):
            if z not in ids:
                raise PackError(f"{where}: banned entry zeroes unknown item {z!r}")
        bans.append(BanSpec(tuple(raw.get("apis", [])), tuple(raw.get("prefixes", [])),
                            tuple(raw.get("zeroes", [])), tuple(raw.get("units", unit_names)),
                            raw.get("message", "")))
    total = float(data.get("total", sum(i.points for i in items)))
    if abs(total - sum(i.points for i in items)) > 1e-9:
        raise PackError(f"{where}: items add up to {sum(i.points for i in items)}, total says {total}")
    for tier_item in data.get("tiers", {}):
        if tier_item not in ids:
            raise PackError(f"{where}: tiers for unknown item {tier_item!r}")
    requires = dict(data.get("requires", {}))
    _check_keys(f"{where} [requires]", requires, _REQUIRES_KEYS)
    gradescope = dict(data.get("gradescope", {}))
    _check_keys(f"{where} [gradescope]", gradescope, _GRADESCOPE_KEYS)
    if "stdout_visibility" in gradescope:
        _visibility(f"{where} [gradescope]", "stdout_visibility", gradescope["stdout_visibility"])
    return PackSpec(id=data["id"], title=data.get("title", data["id"]), total=total, dir=directory,
                    units=tuple(units), items=tuple(items), banned=tuple(bans),
                    tolerances=dict(data.get("tolerances", {})), tiers=dict(data.get("tiers", {})),
                    timeout=float(data.get("timeout", 60)),
                    timeout_full=float(data["timeout_full"]) if "timeout_full" in data else None,
                    reference=data.get("reference"), warm=tuple(data.get("warm", PackSpec.warm)),
                    memory_mb=int(data.get("memory_mb", 4096)), seed_doc=data.get("seed_doc", ""),
                    options=dict(data.get("options", {})), requires=requires, gradescope=gradescope)


def _visibility(where: str, key: str, value: Any) -> str:
    if value not in VISIBILITIES:
        raise PackError(f"{where}: {key} = {value!r}; use one of {', '.join(VISIBILITIES)}")
    return value


@dataclass
class Pack:
    spec: PackSpec

    @cached_property
    def checks(self) -> dict[str, Callable]:
        """item id -> check function, from the pack's checks.py (trusted code)."""
        path = self.spec.dir / "checks.py"
        if not path.exists():
            return {}
        module = _import_file(f"rnngrade_pack_{_ident(self.spec.id)}_checks", path)
        found = {}
        for value in vars(module).values():
            item_id = getattr(value, "_rnngrade_item", None)
            if item_id is not None:
                found[item_id] = value
        # ids are checked against the rubric by grader.validate when the pack loads
        return found

    @cached_property
    def probes_source(self) -> str | None:
        path = self.spec.dir / "probes.py"
        return path.read_text() if path.exists() else None

    @cached_property
    def reference(self) -> ModuleType | None:
        if not self.spec.reference:
            return None
        return _import_file(f"rnngrade_reference_{_ident(self.spec.id)}", self.reference_path)

    @property
    def reference_path(self) -> Path | None:
        return resolve_pack_file(self.spec.dir, self.spec.reference) if self.spec.reference else None

    def reference_module(self, relative: str) -> ModuleType:
        return _import_file(f"rnngrade_reference_{_ident(relative)}", resolve_pack_file(self.spec.dir, relative))

    @property
    def handout_dir(self) -> Path:
        return self.spec.dir / "handout"


def _ident(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


_IMPORT_CACHE: dict[str, ModuleType] = {}


def _import_file(name: str, path: Path) -> ModuleType:
    key = f"{name}:{path}"  # two packs of one id from different places stay apart
    if key in _IMPORT_CACHE:
        return _IMPORT_CACHE[key]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PackError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _IMPORT_CACHE[key] = module
    return module


def load_pack(pack_id: str, *, validate: bool = True) -> Pack:
    hit = find_packs().get(pack_id) if pack_id and "/" not in pack_id and pack_id not in (".", "..") else None
    if hit is None:
        known = ", ".join(sorted(find_packs())) or "none"
        searched = ", ".join(str(s.directory) for s in pack_sources())
        raise PackError(f"unknown pack {pack_id!r} (known packs: {known}; searched {searched})")
    directory = hit[0]
    spec_path = directory / "rubric.toml"
    with open(spec_path, "rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise PackError(f"{spec_path}: {exc}") from None
    pack = Pack(parse_spec(data, directory))
    if validate:
        from grader.validate import validate as check_pack

        check_pack(pack)
    return pack


def list_packs(broken: list[str] | None = None) -> list[PackSpec]:
    """The packs that load and validate; each broken one adds its one-line problem to
    `broken` when given (`rnngrade list` shows them and exits 2)."""
    specs = []
    for pack_id in sorted(find_packs()):
        try:
            specs.append(load_pack(pack_id).spec)
        except PackError as exc:
            if broken is not None:
                broken.append(f"{pack_id}: {exc}")
    return specs


# -- what a pack needs before anyone is graded --------------------------------------------

DATA_MISSING = "grader data missing (run `rnngrade data fetch`)"


def requirement_problems(spec: PackSpec, data_dir: Path | None, mode: str = "budget") -> list[str]:
    """One line per unmet requirement of the pack (`[requires]` in rubric.toml): Python
    modules that do not import and data sets missing or failing their checksums. Empty when
    the pack can be graded. These are grader-side problems, never the student's."""
    problems = []
    missing = [name for name in spec.requires.get("modules", []) if not _importable(name)]
    if missing:
        install = spec.requires.get("install") or f"pip install {' '.join(missing)}"
        problems.append(f"grader library missing: the pack {spec.id} needs the Python module(s) "
                        f"{', '.join(missing)}, which do not import here (install with `{install}`)")
    needed = list(spec.requires.get("data", []))
    if mode == "full":  # `data_full`: needed only when the whole notebook runs (--execute / --train full)
        needed += [n for n in spec.requires.get("data_full", []) if n not in needed]
    if needed:
        from grader import data as data_mod

        directory = Path(data_dir) if data_dir else data_mod.resolve_data_dir(None)
        for entry in needed:
            detail = data_mod.requirement_problem(directory, entry)
            if detail:
                problems.append(f"{DATA_MISSING}: {detail}")
    return problems


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
