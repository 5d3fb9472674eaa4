"""Shared fixtures: warm sandbox pools (one per warm-import set, reused by every test of
the session) and the golden-submission helper every pack test uses."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.grade import grade_batch
from grader.sandbox import WorkerPool

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
_POOLS: dict[tuple, WorkerPool] = {}


def pool_for(warm: tuple[str, ...], size: int = 2) -> WorkerPool:
    key = (tuple(warm), size)
    if key not in _POOLS:
        _POOLS[key] = WorkerPool(imports=tuple(warm), size=size)
    return _POOLS[key]


@pytest.fixture(scope="session", autouse=True)
def _close_pools():
    yield
    for pool in _POOLS.values():
        pool.close()


def grade_examples(pack_id: str, cases: list[str] | None = None, *, timeout: float | None = None,
                   data_dir: Path | None = None, seed: int = 1234, jobs: int = 2):
    """Grade submissions/<pack>/<case> folders; returns {case: SubmissionResult}."""
    from grader.packs import load_pack

    spec = load_pack(pack_id).spec
    folder = ROOT / "submissions" / pack_id
    paths = [folder / c for c in cases] if cases else [folder]
    batch = grade_batch(pack_id=pack_id, paths=paths, jobs=jobs, timeout=timeout, seed=seed,
                        data_dir=data_dir or (SHARED_DATA if SHARED_DATA.is_dir() else None),
                        pool=pool_for(spec.warm, jobs))
    assert not batch.failures, batch.failures
    return {r.student: r for r in batch.results}


def expected_of(pack_id: str, case: str) -> dict:
    return json.loads((ROOT / "submissions" / pack_id / case / "expected.json").read_text())


def assert_expected(pack_id: str, case: str, result) -> None:
    """Every listed item gets exactly its expected points; the auto total too."""
    expected = expected_of(pack_id, case)
    got = {i.id: i.points for i in result.items}
    wrong = {k: {"expected": v, "got": got.get(k)} for k, v in expected["items"].items()
             if got.get(k) is None or abs(got[k] - v) > 1e-6}
    details = {i.id: [c.observed for c in i.checks if not c.passed] + [i.reason] for i in result.items
               if i.id in wrong}
    assert not wrong, f"{pack_id}/{case}: {wrong}\n{details}"
    if "total" in expected:
        assert result.auto_score == pytest.approx(expected["total"]), f"{pack_id}/{case} auto total"
