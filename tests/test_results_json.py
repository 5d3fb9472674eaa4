from __future__ import annotations

import json
import math

import numpy as np

from grader.outcomes import Check, ItemScore
from grader.results_json import to_results_json, write_results_json
from results_factory import SCRIPT, items, make_result


def test_top_level_schema_and_values():
    doc = to_results_json(make_result("alice"))
    assert set(doc) == {"score", "max_score", "execution_time", "output", "tests", "extra_data"}
    assert (doc["score"], doc["max_score"], doc["execution_time"]) == (7.5, 30, 3.2)
    assert doc["output"].startswith("lab7-inclass: 7.5/30 (auto 7.5/20; 10 points pending")
    extra = doc["extra_data"]
    assert {k: extra[k] for k in ("assignment", "student", "seed", "sandbox", "error")} == {
        "assignment": "lab7-inclass", "student": "alice", "seed": 1234,
        "sandbox": "bubblewrap", "error": None}
    assert extra["mode"] == "budget" and extra["provisional"] is False
    assert extra["runs"][0]["status"] == "error"
    assert extra["runs"][0]["error"]["type"] == "NameError"


def test_one_test_per_item_in_rubric_order():
    result = make_result(item_list=tuple(reversed(items())))  # engine order must not matter
    tests = to_results_json(result)["tests"]
    assert [t["number"] for t in tests] == ["1", "2", "3", "4", "5", "6"]
    assert [t["extra_data"]["item"] for t in tests] == [
        "init-weights", "forward", "manual-sgd", "predictions", "q-hidden-state", "q-hard-to-train"]
    assert [(t["score"], t["max_score"], t.get("status")) for t in tests] == [
        (5, 5, "passed"), (0, 5, "failed"), (0, 5, "failed"), (2.5, 5, "failed"),
        (0, 5, None), (0, 5, None)]  # manual items a TA has not scored: no status, not "failed"
    for t in tests:
        assert set(t) | {"status"} == {"name", "number", "score", "max_score", "status", "output",
                                       "visibility", "extra_data"}
        assert t["visibility"] == "visible"
        assert set(t["extra_data"]) == {"item", "kind", "pending", "checks"}


def test_checks_are_rendered_and_listed():
    forward = to_results_json(make_result(forward_points=1))["tests"][1]
    assert forward["name"] == "Hidden state update and logits"
    assert forward["extra_data"]["checks"] == [
        {"name": "s_t values", "passed": False, "points": 0.0, "expected": "[[0.1], [-0.2]]",
         "observed": f"[[0.5], [0.0]] {SCRIPT}",
         "hint": "negative pre-activations became 0: relu instead of tanh?"},
        {"name": "logits", "passed": False, "points": 1.0, "expected": "W_out s_T + b_out",
         "observed": "missing b_out", "hint": "add the output bias b_out"}]
    assert forward["output"].splitlines()[:4] == [
        "✗ s_t values (0/3)",
        "  expected: [[0.1], [-0.2]]",
        f"  observed: [[0.5], [0.0]] {SCRIPT}",
        "  hint: negative pre-activations became 0: relu instead of tanh?"]


def test_reason_and_pending_manual_items():
    tests = to_results_json(make_result())["tests"]
    assert tests[2]["output"] == ("Reason: banned API torch.optim.SGD at line 12: "
                                  "opt = torch.optim.SGD(params)")
    q5, q6 = tests[4], tests[5]
    assert q5["score"] == 0
    assert (q5["extra_data"]["pending"], q5["extra_data"]["kind"]) == (True, "manual")
    assert "scored by a TA" in q5["output"] and "s_t is the memory" in q5["output"]
    assert "no answer found" in q6["output"]


def test_scored_manual_item_is_not_pending():
    q5 = to_results_json(make_result(q5_pending=False))["tests"][4]
    assert (q5["score"], q5["status"], q5["extra_data"]["pending"]) == (5, "passed", False)


def test_provisional_is_flagged():
    doc = to_results_json(make_result(provisional=True, predictions_points=5))
    assert doc["extra_data"]["provisional"] is True
    assert "PROVISIONAL" in doc["output"]
    assert doc["tests"][3]["output"].startswith("Provisional: budget-mode result")


def test_non_finite_and_numpy_values_still_serialise(tmp_path):
    weird = ItemScore("forward", "Forward", 1, "auto", float("nan"), 5,
                      checks=(Check("loss", False, float("inf"), 5.0, expected="1.0",
                                    observed="nan\udcff", hint=None),))
    result = make_result(item_list=(weird,))
    object.__setattr__(result, "seed", np.int64(7))  # frozen dataclass: simulate an engine slip
    object.__setattr__(result, "seconds", float("inf"))
    path = write_results_json(result, tmp_path / "out" / "results.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["score"] is None and doc["execution_time"] is None
    assert doc["extra_data"]["seed"] == 7
    assert doc["tests"][0]["extra_data"]["checks"][0]["points"] is None
    assert doc["tests"][0]["extra_data"]["checks"][0]["observed"] == "nan?"
    json.dumps(doc, allow_nan=False)  # strict JSON: Gradescope rejects NaN


def test_huge_observed_text_is_bounded():
    big = ItemScore("forward", "Forward", 1, "auto", 0, 5,
                    checks=(Check.failed("s_t", 5, expected="x", observed="9" * 100_000),))
    doc = to_results_json(make_result(item_list=(big,)))
    observed = doc["tests"][0]["extra_data"]["checks"][0]["observed"]
    assert len(observed) < 5000 and "characters not shown" in observed
    assert len(json.dumps(doc)) < 20_000
    assert not math.isnan(doc["max_score"])
