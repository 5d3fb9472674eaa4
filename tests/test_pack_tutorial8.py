"""tutorial8: the trusted-side diagnostics in process (fast), then every golden submission
graded end to end (each gets exactly the score in its expected.json).

Which cases train (the slow part: ~5-15 s of CPU per model on an idle machine):
  all three models: reference, reference-notebook, the 8 style-* cases, hostile-replaces-builtins
  one model:        no-batch-first (Q2), no-zero-grad (Q3), dropout-ignores-rate and
                    bug-gru-declared-unused (Q4)
  none:             handout, elman-transposed, jordan-feeds-h, wrong-lag, no-lower, bug-*
                    (other than the GRU one), hostile-patches-probes, hostile-forged-probe-handler,
                    hostile-models-read-frames
                    (its "training" returns at once)
The graded batch takes about 3 minutes of wall time with --jobs 2 on an idle 2-core machine
(`python bench/bench_tutorial8.py --jobs 2`)."""
from __future__ import annotations

import importlib.util
import json
import re
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


def test_probabilities_are_recognised_and_not_softmaxed_again():
    probs = np.array([[0.9, 0.1], [0.25, 0.75]])
    assert checks._are_probabilities(probs)
    assert not checks._are_probabilities(np.array([[2.0, -1.0], [0.3, 0.1]]))      # logits
    assert not checks._are_probabilities(np.log(probs))                             # log-probabilities
    check = checks._probs_check("p", probs, ["a", "b"])
    assert "negative 0.9000, positive 0.1000" in check.observed and "as they are" in check.observed
    check = checks._probs_check("p", np.log(probs), ["a", "b"])
    assert "negative 0.9000, positive 0.1000" in check.observed and "softmax" in check.observed


def test_gru_use_is_judged_by_effect():
    logits = np.zeros((11, 2))
    used = {"logits0": logits, "gru_grads": [np.ones((30, 22)), np.zeros(30)], "logits_moved": logits + 0.1}
    assert checks._gru_used(used)[0]
    no_grad = dict(used, gru_grads=[np.zeros((30, 22))])
    assert not checks._gru_used(no_grad)[0]
    unmoved = dict(used, logits_moved=logits.copy())
    assert not checks._gru_used(unmoved)[0]
    assert not checks._gru_used({"effect_error": "TypeError: boom"})[0]


def test_ys_must_follow_from_the_returned_hs():
    case = checks._seed_case(checks.SEED_W_ELMAN)
    hs, ys = reference.elman_rnn(**case)
    assert checks._follows_from_hs(hs, ys, case)
    assert checks._follows_from_hs(hs.T.copy(), ys.ravel(), case)         # (H, T) and flat ys
    assert not checks._follows_from_hs(np.full_like(hs, 0.5), ys, case)   # typed-in ys


def test_leftover_ratio_is_computed_here_from_raw_gradients():
    out = {"grads_left": [np.full(4, 30.0)], "grads_fresh": [np.ones(4)], "zeroed": 0}
    assert checks._leftover_ratio(out) == pytest.approx(30.0) and checks._piled_up(out)
    assert not checks._piled_up(dict(out, zeroed=1))


probes = _module("tutorial8_probes_under_test", ROOT / "assignments" / PACK / "probes.py")


class _CellRNN(torch.nn.Module):
    """The reference's composition written with an RNNCell unrolled by hand."""

    def __init__(self):
        super().__init__()
        self.cell, self.head = torch.nn.RNNCell(3, 5), torch.nn.Linear(5, 2)

    def forward(self, x):
        h, outs = torch.zeros(x.shape[0], 5), []
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
            outs.append(self.head(h))
        return torch.stack(outs, 1)


def test_trained_models_are_rebuilt_here_from_their_weights():
    torch.manual_seed(0)
    x = torch.rand(4, 12, 3)
    for model in (reference.SequenceRNN(3, 5, 2), _CellRNN()):
        forward, how = checks._rebuild(probes.weights_of(model), 3)
        assert forward is not None, how
        assert np.allclose(forward(x.numpy()), model(x).detach().numpy(), atol=1e-5)
    vocab_size, table = reference.vocabulary(reference.data)
    ids = reference.preprocess(reference.data, table)
    gru = reference.SentimentGRU(vocab_size, 10, 0.7).eval()
    forward, how = checks._rebuild(probes.weights_of(gru), vocab_size, ids=True)
    assert "GRU(%d, 10)" % vocab_size in how
    assert np.allclose(forward(ids.numpy())[:, -1], gru(ids, drop_rate=0).detach().numpy(), atol=1e-5)
    # a parameter of its own (a custom forward) is not rebuilt; weights that do not fit are refused
    custom = probes.weights_of(reference.SequenceRNN(3, 5, 2))
    custom["params"]["scale"] = np.ones(1, np.float32)
    assert checks._rebuild(custom, 3)[0] is None
    assert checks._rebuild(probes.weights_of(reference.SequenceRNN(3, 5, 2)), 4)[0] is None


class _Ctx:
    def __init__(self):
        self.notes = []

    def note(self, text):
        self.notes.append(text)


def test_reported_predictions_must_be_what_the_weights_compute():
    torch.manual_seed(1)
    model, x = reference.SequenceRNN(3, 5, 2), torch.rand(8, 100, 3)
    honest = {"pred": model(x).detach().numpy(), "weights": probes.weights_of(model)}
    checks._verify(_Ctx(), honest, lambda f: {"pred": f(x.numpy())}, n_features=3)
    assert honest["evidence"] == "verified"
    forged = {"pred": np.zeros((8, 100, 2), np.float32), "weights": probes.weights_of(model)}
    checks._verify(_Ctx(), forged, lambda f: {"pred": f(x.numpy())}, n_features=3)
    assert forged["evidence"] == "contradicted" and forged["pred"] is None
    assert "not what its trained weights compute" in forged["mismatch"]
    bare = {"pred": np.zeros((8, 100, 2), np.float32)}
    checks._verify(_Ctx(), bare, lambda f: {"pred": f(x.numpy())}, n_features=3)
    assert bare["evidence"] == "missing"
    shape = checks.passed("shape")
    assert checks._gated([shape], [bare])[0].earned == 0 and checks._gated([shape], [honest]) == [shape]
    assert checks._leftover_ratio({"grads_left": "forged", "grads_fresh": [np.ones(4)]}) is None


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
    assert "max_length" in hints("bug-preprocess-fixed-40", "char-vocab")
    assert "W^T h(t-1)" in hints("bug-elman-rowvector-wT", "elman")
    assert "after the sigmoid" in hints("bug-jordan-feeds-logit", "jordan")
    assert "hidden states your loop computed" in hints("bug-hardcoded-tutorial-ys", "elman")
    assert "self.gru" in hints("bug-gru-declared-unused", "gru-sentiment")


def _check(results, case, item_id, words):
    item = next(i for i in results[case].items if i.id == item_id)
    return next(c for c in item.checks if words in c.name)


def test_gru_called_through_forward_method_is_used(results):
    check = _check(results, "style-torch-cells-gru-forward", "gru-sentiment", "nn.GRU")
    assert check.passed and "receive gradient" in check.observed
    check = _check(results, "bug-gru-declared-unused", "gru-sentiment", "nn.GRU")
    assert not check.passed and "does not take part" in check.observed


def test_probabilities_from_forward_are_shown_once(results):
    check = _check(results, "style-einsum-probabilities", "gru-sentiment", "test probabilities")
    assert "already returns probabilities" in check.observed
    shown = [float(v) for v in re.findall(r"(?:negative|positive) (\d\.\d+)", check.observed)]
    # softmax of probabilities squeezes them into [0.27, 0.73]: a trained model is surer than that
    assert len(shown) == 4 and max(shown) > 0.75


def test_latin1_source_with_coding_line_is_graded(results):
    raw = (ROOT / "submissions" / PACK / "style-latin1-helpers" / "tutorial8.py").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the case really is Latin-1
    assert results["style-latin1-helpers"].auto_score == 100


def test_hostile_submissions(results):
    forged = results["hostile-patches-probes"]
    assert forged.auto_score == 0 and all(i.points == 0 for i in forged.items)
    assert forged.error is None
    readers = results["hostile-models-read-frames"]
    mse = _check(results, "hostile-models-read-frames", "sequence-rnn", "MSE below")
    assert not mse.passed and "0.000 on the training sequences" in mse.observed and "new ones" in mse.hint
    assert not _check(results, "hostile-models-read-frames", "lstm-mapping", "training MSE").passed
    assert not _check(results, "hostile-models-read-frames", "gru-sentiment", "training accuracy").passed
    assert readers.auto_score == 60  # Q1, data, vocabulary (50) + the structural points any stub earns
    handler = results["hostile-forged-probe-handler"]
    assert handler.auto_score == 0 and all(i.points == 0 for i in handler.items)
    mse = _check(results, "hostile-forged-probe-handler", "lstm-mapping", "training MSE")
    assert "no trained model came back" in mse.observed
    liar = results["hostile-replaces-builtins"]
    assert liar.auto_score == 100 and all(i.points == i.max_points for i in liar.items)


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


@pytest.mark.parametrize("level", ["rlimits+nobody", "rlimits"])
@pytest.mark.parametrize("hostile", ["hostile-patches-probes", "hostile-forged-probe-handler"])
def test_probe_patching_earns_nothing_under_the_fallback_levels(tmp_path, level, hostile):
    """The default level is covered by the batch above; the fallback levels run in their own
    process (the level is chosen once per process)."""
    import os
    import subprocess

    case = ROOT / "submissions" / PACK / hostile
    env = dict(os.environ, RNNGRADE_SANDBOX=level, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", PACK, str(case), "--out", str(tmp_path),
                           "--jobs", "1", "--seed", "1234"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp_path / hostile / "results.json").read_text())
    assert data["score"] == 0 and [t["score"] for t in data["tests"]] == [0] * 7
