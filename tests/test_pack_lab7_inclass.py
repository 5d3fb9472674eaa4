"""Golden submissions of lab7-inclass: each gets exactly the score in its expected.json."""
from __future__ import annotations

import ast
import json

import pytest

from conftest import ROOT, assert_expected, grade_examples

PACK = "lab7-inclass"
CASES = sorted(p.name for p in (ROOT / "submissions" / PACK).iterdir() if (p / "expected.json").exists())
CORRECT = [c for c in CASES if json.loads((ROOT / "submissions" / PACK / c / "expected.json").read_text())["total"] == 20]


@pytest.fixture(scope="module")
def results():
    # 20 s is ample for the reference (~0.2 s of training on an idle machine, a few seconds
    # under load) and stops the infinite loop sooner
    return grade_examples(PACK, timeout=20)


@pytest.mark.parametrize("case", CASES)
def test_case_gets_expected_score(results, case):
    assert_expected(PACK, case, results[case])


def test_reference_earns_every_auto_point(results):
    ref = results["reference"]
    assert ref.auto_score == ref.auto_max == 20
    assert all(i.pending for i in ref.items if i.kind == "manual")


def test_handout_earns_nothing_without_crashing_the_grader(results):
    handout = results["handout"]
    assert handout.auto_score == 0
    assert handout.runs[0].status == "error"  # logits.view on None: a result, not a grader crash
    # what could not be checked says so instead of failing on made-up observations
    forward = next(i for i in handout.items if i.id == "forward")
    assert [c.observed.startswith("not checked:") for c in forward.checks] == [False, True]
    assert "no loss.backward() was observed" in forward.checks[0].observed


def test_manual_answers_are_extracted_for_the_ta(results):
    answers = {i.id: i.answer for i in results["reference"].items if i.kind == "manual"}
    assert "summar" in answers["q-hidden-state"].lower()
    assert "vanishing" in answers["q-hard-to-train"].lower()
    nb = {i.id: i.answer for i in results["reference-notebook"].items if i.kind == "manual"}
    assert nb["q-hidden-state"] and nb["q-hard-to-train"]


def test_notebook_magics_are_neutralised_and_listed(results):
    notes = " ".join(n for run in results["reference-notebook"].runs for n in run.notes)
    assert "!pip install torch" in notes and "%matplotlib inline" in notes


def test_teaching_messages_name_the_mistake(results):
    def hints(case, item_id):
        item = next(i for i in results[case].items if i.id == item_id)
        return " ".join(filter(None, [c.hint for c in item.checks] + [item.reason]))

    assert "sigmoid" in hints("sigmoid", "forward")
    assert "transposed" in hints("transposed", "forward")
    assert "bias" in hints("no-bias", "forward")
    assert "never zeroed" in hints("no-zero-grad", "manual-sgd")
    assert "sign" in hints("wrong-sign", "manual-sgd")
    assert "leaf" in hints("non-leaf", "init-weights")
    assert "torch.optim" in hints("optim", "manual-sgd")
    assert "RNNCell" in hints("nn-rnn", "forward")
    # the same mistakes written in other styles get the same diagnosis
    assert "sigmoid" in hints("bug-sigmoid-helper", "forward")
    assert "bias b is missing" in hints("bug-class-no-b", "forward")
    assert "previous state" in hints("bug-ignore-prev", "forward")
    assert "ReLU" in hints("bug-relu-list", "forward")
    assert "softmax" in hints("bug-softmax-loss", "forward")
    assert "AFTER the update" in hints("bug-zero-before-update", "manual-sgd")
    assert "the update used a step of 0.5 instead of learning_rate = 0.1" in hints("wrong-step", "manual-sgd")
    assert "zeros" in " ".join(c.observed for i in results["zeros-init"].items for c in i.checks)


def test_the_style_corpus_is_wide_and_fully_graded(results):
    """At least 15 correct programs in distinct styles, each with every auto point."""
    assert len(CORRECT) >= 15, CORRECT
    for case in CORRECT:
        assert results[case].auto_score == 20, case


def test_checks_are_judged_on_recomputed_gradients(results):
    """The forward verdict says what it was judged on: the student's own steps, recomputed here."""
    item = next(i for i in results["class-forward"].items if i.id == "forward")
    text = " ".join(c.observed for c in item.checks)
    assert "recomputed by the grader" in text and "s_t = tanh(W s_prev + U x_t + b)" in text
    wrong = next(i for i in results["bug-sigmoid-helper"].items if i.id == "forward")
    assert "s_t = sigmoid(W s_prev + U x_t + b)" in " ".join(c.observed for c in wrong.checks)
    sgd = next(i for i in results["class-forward"].items if i.id == "manual-sgd")
    assert "learning rate 0.1" in " ".join(c.observed for c in sgd.checks)

def test_hostile_runs_are_reported(results):
    assert results["hostile-loop"].runs[0].status == "timeout"
    assert results["hostile-exit"].runs[0].status == "exit"
    forged = results["hostile-forge"]
    assert "score" in forged.runs[0].stdout  # the forged JSON is shown as output ...
    assert forged.auto_score == 12  # ... and trusted for nothing
    for case in ("hostile-forge-finish", "hostile-forge-state"):
        assert "Prediction: 1" in results[case].runs[0].stdout  # forged lines were printed
        assert results[case].auto_score == 0, case
    assert "forged steps recorded: 6" in results["hostile-forge-state"].runs[0].stdout  # it did reach the recorder
    assert results["hostile-unhook"].auto_score == 0


def test_nothing_of_the_grader_is_in_the_student_namespace(results):
    line = next(l for l in results["hostile-builtins"].runs[0].stdout.splitlines() if l.startswith("dunder globals:"))
    names = set(ast.literal_eval(line.split(":", 1)[1]))
    standard = {"__name__", "__file__", "__builtins__", "__doc__", "__spec__", "__loader__", "__package__",
                "__annotations__", "__cached__"}  # what a module run by `python script.py` may hold
    assert names <= standard, names - standard
    assert results["hostile-builtins"].auto_score == 20  # lying builtins/allclose change nothing


def test_results_are_plain_gradescope_json(results, tmp_path):
    from grader.results_json import write_results_json

    path = tmp_path / "results.json"
    write_results_json(results["reference"], path)
    data = json.loads(path.read_text())
    assert [t["extra_data"]["item"] for t in data["tests"]] == [
        "init-weights", "forward", "manual-sgd", "predictions", "q-hidden-state", "q-hard-to-train"]
    assert data["extra_data"]["sandbox"] in ("bubblewrap", "rlimits+nobody", "rlimits")
    assert data["extra_data"]["seed"] == 1234


def _checks_module():
    import importlib.util
    import sys

    name = "lab7inclass_checks_under_test"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "assignments" / PACK / "checks.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_predictions_apply_the_verified_learning_rate_to_rebound_weights():
    """An update that rebinds new tensors (W = W - lr * W.grad) leaves the script's final tensors
    equal to the last recorded step's: the trained weights are then that step after one more
    update at the learning rate manual-sgd verified (shared through ctx.once, whichever item runs
    first)."""
    import numpy as np

    m = _checks_module()
    rng = np.random.default_rng(0)
    shapes = {"W": (2, 2), "U": (2, 5), "b": (2, 1), "W_out": (2, 2), "b_out": (2, 1)}
    roles = {**{r: i for i, r in enumerate(m.ROLES)}, "b2": None}

    def leaves(values, grads):
        return [m.Leaf(values[r], grads[r], None, None, True, True, "float32") for r in m.ROLES]

    v0 = {r: rng.normal(size=s).astype(np.float32) for r, s in shapes.items()}
    g0 = {r: rng.normal(size=s).astype(np.float32) for r, s in shapes.items()}
    g1 = {r: rng.normal(size=s).astype(np.float32) for r, s in shapes.items()}
    v1 = {r: v0[r] - np.float32(0.1) * g0[r] for r in shapes}
    fit = m.Fit(m.Model(), m.HANDOUT_VOCAB, roles, [])
    obs = m.Observation(count=600, steps=[m.Step(598, leaves(v0, g0)), m.Step(599, leaves(v1, g1))],
                        final=[v1[r] for r in m.ROLES], numbers={"learning_rate": 0.1}, model=m.Model(),
                        fits={0: fit, 1: fit})

    class Ctx:
        def __init__(self):
            self.cache = {"observation": obs}

        def once(self, key, fn):
            if key not in self.cache:
                self.cache[key] = fn()
            return self.cache[key]

        def tol(self, item_id=None):
            return {"rtol": 1e-4, "atol": 1e-6}

        def run(self, *args, **kwargs):
            return type("Run", (), {"stdout": ""})()

    trained = {r: (v1[r] - np.float32(0.1) * g1[r]).astype(np.float64).reshape(-1 if r in ("b", "b_out") else shapes[r])
               for r in shapes}
    logits = [m._logits(m.Model(), trained, [m.HANDOUT_VOCAB[w] for w in words], 2)[0] for words, _ in m.TEST]
    shown = ", ".join(np.array2string(v, precision=3) for v in logits)
    for first in ([], ["manual-sgd"]):  # predictions alone, or after manual-sgd
        ctx = Ctx()
        for _ in first:
            assert [v.key for v in m.manual_sgd(ctx)] == ["rule", "reset"]
        verdicts = list(m.predictions(ctx))
        assert ctx.cache["sgd"].lr == 0.1
        assert f"(logits {shown}" in verdicts[0].observed, verdicts[0].observed


def test_a_learning_rate_schedule_is_judged_step_by_step(results):
    """Each update is held against learning_rate as it stood around it (before or after the
    update: the decay may run on either side), not its value when the script ended; without
    a learning_rate, a stray `lr` that explains nothing gives way to the step each update took."""
    def rule(case):
        item = next(i for i in results[case].items if i.id == "manual-sgd")
        return next(c for c in item.checks if c.name.startswith("each parameter"))

    for case in ("lr-decay", "lr-decay-step"):
        assert rule(case).passed and "learning_rate as it stood at each step" in rule(case).observed, case
    assert "from 0.3 to 0.07" in rule("lr-decay").observed  # the schedule's values at the observed steps
    assert rule("alpha-stray-lr").passed and "learning rate 0.1" in rule("alpha-stray-lr").observed
    assert not rule("wrong-step").passed


def _steps_with_rates(m, rates, used, sign=1.0):
    """Observed steps whose updates use `used[k]` between step k and k+1, while the student's
    learning_rate was recorded as `rates[k]` at each backward()."""
    import numpy as np

    rng = np.random.default_rng(1)
    shapes = {"W": (2, 2), "U": (2, 5), "b": (2, 1), "W_out": (2, 2), "b_out": (2, 1)}
    roles = {**{r: i for i, r in enumerate(m.ROLES)}, "b2": None}
    values = {r: rng.normal(size=s).astype(np.float32) for r, s in shapes.items()}
    steps = []
    for k, rate in enumerate(rates):
        grads = {r: rng.normal(size=s).astype(np.float32) for r, s in shapes.items()}
        steps.append(m.Step(k, [m.Leaf(values[r], grads[r], None, None, True, True, "float32") for r in m.ROLES],
                            rate))
        if k < len(used):
            values = {r: values[r] - np.float32(sign * used[k]) * grads[r] for r in shapes}
    fit = m.Fit(m.Model(), m.HANDOUT_VOCAB, roles, [])
    return m.Observation(count=len(rates), steps=steps, model=m.Model(), fits={k: fit for k in range(len(rates))})


def test_each_update_follows_the_recorded_learning_rate_next_to_it():
    m = _checks_module()
    tol = {"rtol": 1e-4, "atol": 1e-6}
    rates = [0.3, 0.2, 0.1, 0.05]
    pairs = [0, 1, 2]
    # the rate at the backward() before the update, or at the one after it (decayed in between)
    for used in (rates[:3], rates[1:]):
        lr, verdict = m._update_rule(_steps_with_rates(m, rates, used), pairs, tol)
        assert verdict.earned == 1, verdict.observed
        assert lr == 0.05  # the rate of the update after the last backward()
    # a rate that is neither: the student's learning_rate is the yardstick
    lr, verdict = m._update_rule(_steps_with_rates(m, rates, [0.3, 0.2, 0.7]), pairs, tol)
    assert not verdict.earned == 1 and lr is None
    assert verdict.hint == "the update used a step of 0.7 instead of learning_rate = 0.1", verdict.hint
    assert "step 3" in verdict.observed
    # the sign flipped at a scheduled rate
    _, verdict = m._update_rule(_steps_with_rates(m, rates, rates[:3], sign=-1.0), pairs, tol)
    assert not verdict.earned == 1 and "sign is flipped" in verdict.hint
    # no learning_rate at all: each update's own positive step, even when it changes
    _, verdict = m._update_rule(_steps_with_rates(m, [None] * 4, [0.3, 0.2, 0.1]), pairs, tol)
    assert verdict.earned == 1 and "the step each update took" in verdict.observed
    # ... but never a negative one, and a stray lr that explains nothing is not the yardstick
    obs = _steps_with_rates(m, [None] * 4, [0.1, 0.1, 0.1])
    obs.numbers = {"lr": 0.01}
    assert m._update_rule(obs, pairs, tol)[1].earned == 1
    _, verdict = m._update_rule(_steps_with_rates(m, [None] * 4, [0.1] * 3, sign=-1.0), pairs, tol)
    assert not verdict.earned == 1 and "sign is flipped" in verdict.hint
    assert "(= before - 0.1 * grad)" in verdict.observed, verdict.observed
