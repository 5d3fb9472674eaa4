"""The batch: results independent of --jobs, reference outputs shared, manual scores."""
from __future__ import annotations

from conftest import ROOT, pool_for
from grader.grade import grade_batch
from grader.manual import read_manual_csv
from grader.packs import load_pack

CASES = ["reference", "sigmoid", "no-zero-grad", "handout"]


def _scores(jobs: int):
    paths = [ROOT / "submissions" / "lab7-inclass" / c for c in CASES]
    batch = grade_batch(pack_id="lab7-inclass", paths=paths, jobs=jobs, seed=99, timeout=20,
                        pool=pool_for(("numpy", "torch", "matplotlib"), jobs))
    return {r.student: {i.id: i.points for i in r.items} for r in batch.results}, batch


def test_scores_do_not_depend_on_jobs():
    one, _ = _scores(1)
    two, batch = _scores(2)
    assert one == two
    assert [r.student for r in batch.results] == CASES  # input order, whatever finished first
    assert {r.seed for r in batch.results} == {99}


def test_manual_scores_from_a_ta_csv(tmp_path):
    csv_path = tmp_path / "manual.csv"
    csv_path.write_text("student,q-hidden-state,q-hard-to-train\nreference,4,5\n")
    assert read_manual_csv(csv_path, load_pack("lab7-inclass").spec, ["reference"]) == {
        "reference": {"q-hidden-state": {"points": 4.0, "comment": ""},
                      "q-hard-to-train": {"points": 5.0, "comment": ""}}}
    batch = grade_batch(pack_id="lab7-inclass", paths=[ROOT / "submissions" / "lab7-inclass" / "reference"],
                        jobs=1, seed=5, manual=csv_path, pool=pool_for(("numpy", "torch", "matplotlib"), 1))
    result = batch.results[0]
    assert result.score == 29 and not any(i.pending for i in result.items)
