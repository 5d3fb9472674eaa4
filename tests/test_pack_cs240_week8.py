"""Golden submissions of cs240-week8: each gets exactly the score in its expected.json.

q2 trains on the real BTCUSDT file of ../shared/data (the helper's default data dir);
the training seed is fixed by the pack, so the scores do not depend on the batch seed."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, assert_expected, grade_examples

PACK = "cs240-week8"
CASES = sorted(p.name for p in (ROOT / "submissions" / PACK).iterdir() if (p / "expected.json").exists())


@pytest.fixture(scope="module")
def results():
    return grade_examples(PACK)


@pytest.mark.parametrize("case", CASES)
def test_case_gets_expected_score(results, case):
    assert_expected(PACK, case, results[case])


def test_reference_earns_every_auto_point(results):
    ref = results["reference"]
    assert ref.auto_score == ref.auto_max == 100


def test_handout_earns_nothing_without_crashing_the_grader(results):
    handout = results["handout"]
    assert handout.auto_score == 0
    assert {r.unit: r.status for r in handout.runs} == {"q1": "ok", "q2": "ok"}  # TODOs are empty, not broken


def test_a_missing_file_zeroes_its_items_with_a_clear_line(results):
    for case, absent, present in (("q1-only", "q2", ("softmax", "loss", "forward-backward", "predict")),
                                  ("q2-only", "q1", ("training-loop", "testing-loop"))):
        items = {i.id: i for i in results[case].items}
        zeroed = [i for i in items.values() if i.id not in present]
        assert zeroed and all(i.points == 0 and f"no file for {absent}" in (i.reason or "") for i in zeroed)
        assert all(items[i].points == items[i].max_points for i in present)


def _hints(result, item_id: str) -> str:
    item = next(i for i in result.items if i.id == item_id)
    return " ".join(filter(None, [c.hint for c in item.checks] + [item.reason]))


def _failed(result, item_id: str) -> list[str]:
    item = next(i for i in result.items if i.id == item_id)
    return [c.name for c in item.checks if not c.passed]


def test_teaching_messages_name_the_mistake(results):
    assert "subtract np.max(x)" in _hints(results["softmax-no-shift"], "softmax")
    assert "forbids for loops" in _hints(results["loss-for-loop"], "loss")
    assert "not clipped" in _hints(results["clipping-missing"], "forward-backward")
    assert "not clipped" in _hints(results["clipping-missing"], "predict")
    assert "truncated BPTT" in _hints(results["bptt-no-carry"], "forward-backward")
    assert "truncated BPTT" in _hints(results["bptt-no-carry"], "predict")
    assert "Waa.T" in _hints(results["transposed-waa"], "forward-backward")
    assert "argmax" in _hints(results["argmax-predict"], "predict")
    assert "LAST epoch" in _hints(results["no-best-restore"], "training-loop")
    assert "deepcopy" in _hints(results["state-dict-no-copy"], "training-loop")
    assert "LAST batch" in _hints(results["test-last-batch"], "testing-loop")
    assert "zero_grad" in _hints(results["no-zero-grad"], "training-loop")
    assert "dy = np.copy(y_pred[t])" in _hints(results["ypred-in-place"], "forward-backward")
    assert _failed(results["ypred-in-place"], "forward-backward") == [
        "backward leaves y_pred unchanged (it is used again after backward)"]


def test_hostile_and_builtin_replacing_submissions(results):
    # the probe helpers cannot be patched from the student's code, and the grader's own
    # arithmetic does not use the builtins or allclose the submission replaced
    hostile = results["hostile-patched-probes"]
    assert hostile.auto_score == 0 and all(i.points == 0 for i in hostile.items if i.kind == "auto")
    assert results["builtins-replaced"].auto_score == 100
    # an extra no-grad pass over train_loader after each epoch keeps the replay exact
    history = next(i for i in results["style-karpathy-extra-train-pass"].items if i.id == "training-loop")
    assert history.points == 25 and all(c.passed for c in history.checks)


def test_forward_backward_report_says_which_part_failed(results):
    # all or nothing, but the checks name the failing part and the failing gradients
    no_carry = _failed(results["bptt-no-carry"], "forward-backward")
    assert not any(n.startswith("forward:") for n in no_carry)
    assert {n.split()[1] for n in no_carry if n.startswith("backward: d")} == {"dWax", "dWaa", "dba"}
    assert _failed(results["clipping-missing"], "forward-backward") == ["backward clips every gradient to [-5, 5]"]
    transposed = _failed(results["transposed-waa"], "forward-backward")
    assert transposed[0].startswith("forward:") and not any(n.startswith("backward: d") for n in transposed)


def test_unreached_subchecks_say_why(results):
    # a hanging forward: its own checks name the likely loop, the later calls were not attempted
    hangs = next(i for i in results["hostile-forward-hangs"].items if i.id == "forward-backward")
    assert all(c.observed.startswith("not checked: ") and c.points == 0 for c in hangs.checks)
    assert "look for a loop whose condition never changes" in hangs.checks[0].observed
    assert "not attempted" in hangs.checks[-1].observed
    # an exception names the student's line; the loop check waits for right values
    handout = {i.id: i for i in results["handout"].items}
    fd = handout["forward-backward"].checks[-1]
    assert fd.observed.startswith("not checked: your code raised KeyError") and "(`" in fd.observed
    assert handout["softmax"].checks[-1].observed.startswith("not checked: judged once RNN.softmax")
    # titles are fixed (no runtime data); the data is in expected
    steps, text = next(i for i in results["reference"].items if i.id == "predict").checks
    assert steps.name.startswith("training steps") and "after each of 6 steps" in steps.expected
    assert text.name.startswith("predict(start, n)") and "start='" in text.expected


def test_training_replay_and_wide_band(results):
    # fc-first is replayed from its own initial weights; the LSTM falls back to the wide band
    assert "your model's initial weights" in next(
        c.expected for c in next(i for i in results["fc-first"].items if i.id == "training-loop").checks)
    assert "cannot be replayed" in next(
        c.expected for c in next(i for i in results["lstm-model"].items if i.id == "training-loop").checks)


def test_q1_grading_never_imports_torch_in_the_grader():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from grader.packs import load_pack\n"
            "pack = load_pack('cs240-week8'); pack.checks; ref = pack.reference; ref.q1.RNN\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "ref.q2; assert 'torch' in sys.modules\n") % str(ROOT)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_synthetic_series_is_documented_and_seeded():
    from grader.packs import load_pack

    checks = sys.modules[load_pack(PACK).checks["softmax"].__module__]
    a, b = checks.synthetic_prices(), checks.synthetic_prices()
    assert a.shape == (2052,) and np.array_equal(a, b) and a[0] == pytest.approx(4300.0)
    assert 3000 < a.min() and a.max() < 110_000  # BTC-like range, like the real file's 3,189 .. 67,526


def test_training_order_is_fixed_per_epoch_not_per_pass():
    # the loaders the student's train() gets (and the grader's replay builds): every pass over
    # train_loader between two validation passes sees the same order
    import torch

    ns = {"np": np, "torch": torch, "__name__": "observe_under_test"}
    exec(compile((ROOT / "assignments" / PACK / "observe.py").read_text(), "observe.py", "exec"), ns)
    X = np.arange(40, dtype=np.float32).reshape(40, 1, 1)
    train_loader, val_loader = ns["loaders"](X, X[:, 0], X[:8], X[:8, 0], 4, 7)

    def order():
        return [int(v) for xb, _ in train_loader for v in xb.reshape(-1)]

    first = order()
    assert sorted(first) == list(range(40)) and first != list(range(40))
    assert order() == first  # an extra pass in the same epoch: same batches
    list(val_loader)  # the epoch ends with its validation pass
    second = order()
    assert second != first and order() == second
