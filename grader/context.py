"""The `ctx` a pack's check functions receive: the submission's units, seeded inputs, the
reference, caches, and its runs (grader/run.py). Everything here lives on the trusted side."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader import banned as banned_mod
from grader.load import SourceUnit
from grader.outcomes import UnitRun
from grader.packs import Pack
from grader.protocol import TensorMark
from grader.run import Run
from grader.sandbox import Limits, Worker, WorkerLost


class UnitMissing(Exception):
    """The submission has no file for a unit an item needs."""

    def __init__(self, unit: str, reason: str):
        super().__init__(reason)
        self.unit, self.reason = unit, reason


class Memo:
    """Batch-wide cache of reference outputs: computed once per input set, not per student."""

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[Any, threading.Lock] = {}

    def get(self, key: Any, fn: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._values:
                return self._values[key]
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._values:
                    return self._values[key]
            value = fn()
            with self._lock:
                self._values[key] = value
            return value


class Ctx:
    """What a check function sees. One per submission; `item_id` is set per item."""

    def __init__(self, *, pack: Pack, units: dict[str, SourceUnit], missing: dict[str, str],
                 worker: Worker | None, seed: int, mode: str, data_dir: Path | None, memo: Memo,
                 timeout: float, hidden: list[str] = (), support: dict[str, Path] | None = None):
        self.pack, self.spec = pack, pack.spec
        self.units, self.missing = units, missing
        self.worker, self.seed, self.mode = worker, seed, mode
        self.data_dir, self.memo_store, self.timeout = data_dir, memo, timeout
        self.hidden = list(hidden)
        self.support = dict(support or {})  # the submission's helper modules: rel path -> file
        self.item_id: str | None = None
        self.notes: list[str] = []
        self.provisional_items: set[str] = set()
        self.files: list[Path] = []  # every file of the submission (grade_submission sets it)
        self.level_caps: dict[str, int] = {}
        self.answers: dict[str, str] = {}  # manual items: answer text found by the pack (a report section)  # manual items on levels: the highest level the evidence allows
        self.local: dict[str, Any] = {}  # per-submission scratch for check functions (shared observations)
        self._once: dict[Any, tuple[bool, Any]] = {}
        # bugs of the pack's own check code met on this submission: it is then not graded
        self.faults: list[str] = []
        self._runs: dict[Any, Run] = {}
        self._rngs: dict[str, np.random.Generator] = {}

    # -- inputs and reference ----------------------------------------------------------

    @property
    def rng(self) -> np.random.Generator:
        """One generator per item, seeded by (batch seed, item): every student of a batch
        gets the same inputs, so reference outputs are computed once. Repeated access within
        an item continues the same stream."""
        key = self.item_id or ""
        if key not in self._rngs:
            number = self.spec.item(self.item_id).number if self.item_id else 0
            self._rngs[key] = np.random.default_rng([self.seed, number])
        return self._rngs[key]

    @property
    def reference(self):
        return self.pack.reference

    def reference_module(self, relative: str):
        return self.pack.reference_module(relative)

    def propose_level_cap(self, level: int) -> None:
        """A manual item's evidence is missing or wrong: propose `level` as its highest level
        (shown to the TA beside the item, in results.json as extra_data.level_cap)."""
        if self.item_id is not None:
            self.level_caps[self.item_id] = min(int(level), self.level_caps.get(self.item_id, int(level)))

    def set_answer(self, text: str) -> None:
        """The current manual item's answer as the pack found it (shown to the TA)."""
        if self.item_id is not None and text:
            self.answers[self.item_id] = text

    def memo(self, key: Any, fn: Callable[[], Any]) -> Any:
        return self.memo_store.get((self.spec.id, self.seed, key), fn)

    def tol(self, item_id: str | None = None) -> dict:
        return dict(self.spec.tolerances.get(item_id or self.item_id or "", {}))

    def tier(self, item_id: str, value: float) -> float:
        """Points for `value` from the rubric's tiers of `item_id` (grader.checks.tier)."""
        from grader.checks import tier

        return tier(self.spec.tiers.get(item_id, []), value)

    def once(self, key: Any, fn: Callable[[], Any]) -> Any:
        """fn() run once per submission and shared by every item that asks for `key` (one
        observation of a training run, say). When it raised, every later call re-raises the
        same exception, so each item reports why it could not be checked."""
        if key not in self._once:
            try:
                self._once[key] = (True, fn())
            except Exception as exc:  # kept: StudentRaised / SandboxLost for every caller
                self._once[key] = (False, exc)
        ok, value = self._once[key]
        if not ok:
            raise value
        return value

    @staticmethod
    def tensor(array: np.ndarray, requires_grad: bool = False) -> TensorMark:
        return TensorMark(np.asarray(array), requires_grad)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def provisional(self, item_id: str | None = None) -> None:
        """Marks an item's figure as provisional (budget mode)."""
        self.provisional_items.add(item_id or self.item_id or "")

    # -- the student's code --------------------------------------------------------------

    def source(self, unit: str = "main") -> str | None:
        return self.units[unit].source if unit in self.units else None

    def tree(self, unit: str = "main"):
        return self.units[unit].tree() if unit in self.units else None

    def unit(self, unit: str = "main") -> SourceUnit:
        if unit not in self.units:
            raise UnitMissing(unit, self.missing.get(unit, f"no file for {unit}"))
        return self.units[unit]

    def run(self, unit: str = "main", *, files: dict[str, Any] | None = None, prelude: str | None = None,
            timeout: float | None = None, key: str | None = None, definitions_only: bool | None = None) -> Run:
        """The unit executed in a fresh sandboxed child (cached per unit, files, prelude).
        `definitions_only`: overrides the unit's setting (a notebook pack runs the whole notebook
        under --execute in a second run, keyed apart)."""
        source_unit = self.unit(unit)
        cache_key = (unit, key, tuple(sorted((files or {}).keys())), prelude, definitions_only)
        if cache_key in self._runs:
            return self._runs[cache_key]
        spec_unit = self.spec.unit(unit)
        limit = timeout or self.timeout
        session, not_started = None, None
        if self.worker is not None:
            payload = dict(self.support)
            payload[source_unit.filename] = source_unit.path.read_bytes()
            payload.update(files or {})
            try:
                session = self.worker.start(files=payload, hidden=self.hidden,
                                            limits=Limits(memory=self.spec.memory_mb << 20))
            except WorkerLost as lost:  # an earlier run broke the worker: the pool replaces it
                not_started = lost
        run = Run(source_unit, session, timeout=limit, not_started=not_started)
        self._runs[cache_key] = run
        bans = [b for b in self.spec.banned if unit in b.units]
        run.execute(as_main=spec_unit.as_main, prelude=prelude, probes=self.pack.probes_source,
                    banned=banned_mod.runtime_apis(tuple(bans)),
                    definitions_only=spec_unit.definitions_only if definitions_only is None else definitions_only)
        return run

    @property
    def runs(self) -> list[Run]:
        return list(self._runs.values())

    def close(self) -> list[UnitRun]:
        return [run.close() for run in self._runs.values()]
