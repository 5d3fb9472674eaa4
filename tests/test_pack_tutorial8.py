"""tutorial8: the trusted-side diagnostics in process (fast), then every golden submission
graded end to end (each gets exactly the score in its expected.json). The graded batch
trains the reference twice (.py and .ipynb) and one model in each training-mistake case:
about 1.5 minutes of CPU."""
from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest

from conftest import ROOT, assert_expected, grade_examples

PACK = "tutorial8"
CASES = sorted(p.name for p in (ROOT / "submissions" / PACK).iterdir() if (p / "expected.json").exists())
torch = pytest.importorskip("torch")


def _module(name: str, path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


checks = _module("tutorial8_checks_under_test", ROOT / "assignments" / PACK / "checks.py")
reference = _module("tutorial8_reference_under_test", ROOT / "reference" / "tutorial8.py")


# ============================================================================ in process


def test_reference_reproduces_the_tutorials_numbers():
    case = checks._seed_case(checks.SEED_W_ELMAN)
    _, ys = reference.elman_rnn(**case)
    assert np.round(ys[:, 0], 4).tolist() == [0.2707, 0.7284, 0.9432, 0.1126]
    _, ys = reference.jordan_rnn(**checks._seed_case(checks.SEED_W_JORDAN))
    assert np.round(ys[:, 0], 4).tolist() == [0.2707, 0.7115, 0.9635, 0.1563]


def test_simulated_right_answers_equal_the_reference():
    rng = np.random.default_rng(0)
    for fn, w_shape, feedback in ((reference.elman_rnn, (2, 2), "h"), (reference.jordan_rnn, (1, 2), "y")):
        case = checks._random_case(rng, w_shape)
        assert np.allclose(checks._simulate(**case, feedback=feedback)[1], fn(**case)[1])


def test_mistakes_are_named():
    case = checks._seed_case(checks.SEED_W_ELMAN)
    ref_ys = reference.elman_rnn(**case)[1]
    transposed = checks._simulate(**case, transpose_w=False)[1]
    hint = checks._diagnose(transposed, case, checks.ELMAN_MISTAKES, ref_ys, dict(feedback="h"))
    assert "W^T" in hint
    case = checks._seed_case(checks.SEED_W_JORDAN)
    ref_ys = reference.jordan_rnn(**case)[1]
    fed_h = checks._simulate(**case, feedback="h-through-W")[1]
    hint = checks._diagnose(fed_h, case, checks.JORDAN_MISTAKES, ref_ys, dict(feedback="y"))
    assert "OUTPUT y(t-1)" in hint


def test_wrong_lags_are_named():
    x, y = (t.numpy() for t in reference.make_sequences(4, 20, 0.0, 3))
    tol = {"rtol": 1e-4, "atol": 1e-4}
    assert checks._check_equation(x, y, "y2", 1, tol)[0]
    wrong = y.copy()
    wrong[:, 3:, 1] = 25 * x[:, 3:, 1] * x[:, :-3, 2]   # x2(t) instead of x2(t-1)
    passed, observed, hint = checks._check_equation(x, wrong, "y2", 1, tol)
    assert not passed and "x2(t) and x3(t-3)" in observed and "x2(t-1)" in hint
    swapped = y[..., ::-1].copy()
    assert "column" in checks._check_equation(x, swapped, "y1", 0, tol)[1]


def test_edge_strings_cover_the_edge_cases():
    strings = checks._edge_strings(np.random.default_rng(5))
    assert max(len(s) for s in strings) > 40 and 40 in [len(s) for s in strings] and "" in strings
    assert any(c.isupper() for s in strings for c in s)


# ============================================================================ graded end to end


@pytest.fixture(scope="module")
def results():
    return grade_examples(PACK)


@pytest.mark.parametrize("case", CASES)
def test_case_gets_expected_score(results, case):
    assert_expected(PACK, case, results[case])


def test_reference_earns_every_point_as_py_and_as_notebook(results):
    for case in ("reference", "reference-notebook"):
        assert results[case].auto_score == results[case].auto_max == 100


def test_handout_earns_nothing_without_crashing_the_grader(results):
    handout = results["handout"]
    assert handout.auto_score == 0
    assert handout.error is None and handout.runs[0].status == "ok"  # definitions only: imports cleanly
    reasons = " ".join(filter(None, [i.reason for i in handout.items] +
                              [c.observed for i in handout.items for c in i.checks]))
    assert "NotImplementedError" in reasons and "grader error" not in reasons


def test_teaching_messages_name_the_mistake(results):
    def hints(case, item_id):
        item = next(i for i in results[case].items if i.id == item_id)
        return " ".join(filter(None, [c.hint for c in item.checks] + [item.reason]))

    assert "W^T h(t-1)" in hints("elman-transposed", "elman")
    assert "OUTPUT y(t-1)" in hints("jordan-feeds-h", "jordan")
    assert "wrong lag" in hints("wrong-lag", "sequence-data")
    assert "batch_first" in hints("no-batch-first", "sequence-rnn")
    assert "zero_grad" in hints("no-zero-grad", "lstm-mapping")
    assert "lower-case" in hints("no-lower", "char-vocab")
    assert "drop_rate" in hints("dropout-ignores-rate", "gru-sentiment")


def test_training_is_reported_with_figures_and_test_predictions(results):
    ref = results["reference"]
    titles = " ".join(f.title for f in ref.figures)
    assert "Q2 learning curve" in titles and "Q3 learning curve" in titles and "Q4 cost" in titles
    assert all(f.png.startswith(b"\x89PNG") for f in ref.figures)
    lstm = next(i for i in ref.items if i.id == "lstm-mapping")
    report = next(c for c in lstm.checks if "reported" in c.name)
    assert "(1 2 3 4) ->" in report.observed and "(1 3 5 7)" in report.expected
    gru = next(i for i in ref.items if i.id == "gru-sentiment")
    assert "The movie was not interesting to me" in gru.checks[-1].observed


def test_results_json_lists_the_fixed_item_ids(results, tmp_path):
    from grader.results_json import write_results_json

    path = tmp_path / "results.json"
    write_results_json(results["reference"], path)
    data = json.loads(path.read_text())
    assert [t["extra_data"]["item"] for t in data["tests"]] == [
        "elman", "jordan", "sequence-data", "sequence-rnn", "lstm-mapping", "char-vocab", "gru-sentiment"]
    assert data["score"] == 100
