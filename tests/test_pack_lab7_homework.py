"""lab7-homework: the layout-agnostic LSTM cell check on many layouts (in-process, fast),
the training budget and the evaluation loop of probes.py, and the golden submissions graded
end to end in budget mode (each gets exactly the score in its expected.json)."""
from __future__ import annotations

import ast
import importlib.util
import sys
import types

import numpy as np
import pytest

from conftest import ROOT, SHARED_DATA, assert_expected, grade_examples

PACK = "lab7-homework"
PACK_DIR = ROOT / "assignments" / PACK
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


checks = _module("lab7hw_checks_under_test", PACK_DIR / "checks.py")
probes = _module("lab7hw_probes_under_test", PACK_DIR / "probes.py")
reference = _module("lab7hw_reference_under_test", ROOT / "reference" / "lab7_homework.py")
observe = types.ModuleType("lab7hw_observe_under_test")
observe.np, observe.torch = np, torch
exec(compile(checks.OBSERVE, str(PACK_DIR / "observe.py"), "exec"), observe.__dict__)


# =============================================================================== in-process harness
# The sandbox's job (run a snippet in the student's namespace, return what it names) done in
# this process, so the check logic can be exercised on many cells in milliseconds.


class FakeRun:
    def __init__(self, ns: dict):
        self.ns = ns

    def probe(self, code, bind=None, want=(), where="probe", timeout=None):
        from grader.outcomes import StudentError
        from grader.sandbox import StudentRaised

        # as the engine does: a namespace of its own, the student's globals as child.ns
        ns = {"np": np, "torch": torch, "probes": probes, "child": types.SimpleNamespace(ns=self.ns)}
        ns.update(bind or {})
        try:
            exec(compile(code, "<grader probe>", "exec"), ns)
        except Exception as exc:
            raise StudentRaised(StudentError(type(exc).__name__, str(exc))) from None
        return {w: ns[w] for w in want if w in ns}


class FakeCtx:
    def __init__(self, source: str):
        from grader.packs import load_pack

        self.spec = load_pack(PACK).spec
        self.source_text = source
        self.ns: dict = {"__name__": "student"}
        exec(compile(source, "student.py", "exec"), self.ns)
        self.notes: list[str] = []
        self.mode, self.seed, self.data_dir, self.local = "budget", 1234, None, {}
        self.item_id = "lstm-cell"

    @property
    def rng(self):
        return np.random.default_rng([self.seed, 1])

    reference = reference

    def tol(self, item_id=None):
        return dict(self.spec.tolerances.get(item_id or self.item_id, {}))

    def tree(self, unit="main"):
        return ast.parse(self.source_text)

    def note(self, text):
        self.notes.append(text)

    def memo(self, key, fn):
        return fn()

    def once(self, key, fn):
        if key not in self.local:
            self.local[key] = fn()
        return self.local[key]

    def run(self, unit="main", **kwargs):
        return FakeRun(self.ns)


IMPORTS = "import torch\nimport torch.nn as nn\n"


def resolved(fn, ctx) -> list:
    """The item's checks as the engine makes them: the verdicts under the declared titles."""
    from grader.checks import declared
    from grader.score import resolve

    return resolve(declared(fn), list(fn(ctx)))


def grade_cell(body: str) -> tuple[float, list]:
    ctx = FakeCtx(IMPORTS + body)
    result = resolved(checks.lstm_cell, ctx)
    assert sum(c.max_points for c in result) == 30, [(c.name, c.max_points) for c in result]
    return sum(c.points for c in result), result


def failed(result) -> dict:
    return {c.name.split(" (")[0]: c for c in result if not c.passed}


CELL = {}
CELL["reference"] = '''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.gates = nn.Linear(input_size + hidden_size, 4 * hidden_size)
    def forward(self, x, h_prev, c_prev):
        z_i, z_f, z_g, z_o = self.gates(torch.cat([x, h_prev], 1)).chunk(4, 1)
        c_t = torch.sigmoid(z_f) * c_prev + torch.sigmoid(z_i) * torch.tanh(z_g)
        return torch.sigmoid(z_o) * torch.tanh(c_t), c_t
'''


def four_linear(cat="(h_prev, x)", f="torch.sigmoid(self.forget_gate(xh))", o="torch.sigmoid(self.output_gate(xh))",
                g="torch.tanh(self.cell_gate(xh))", c="f_t * c_prev + i_t * g_t", bias="True", ret="h_t, c_t"):
    return f'''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        n = input_size + hidden_size
        self.forget_gate = nn.Linear(n, hidden_size, bias={bias})
        self.input_gate = nn.Linear(n, hidden_size, bias={bias})
        self.cell_gate = nn.Linear(n, hidden_size, bias={bias})
        self.output_gate = nn.Linear(n, hidden_size, bias={bias})
    def forward(self, x, h_prev, c_prev):
        xh = torch.cat({cat}, dim=1)
        f_t = {f}
        i_t = torch.sigmoid(self.input_gate(xh))
        g_t = {g}
        c_t = {c}
        o_t = {o}
        h_t = o_t * torch.tanh(c_t)
        return {ret}
'''


CELL["four-linear-hx"] = four_linear()
CELL["four-linear-xh"] = four_linear(cat="(x, h_prev)")
CELL["fused-ogfi"] = '''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.lin = nn.Linear(hidden_size + input_size, 4 * hidden_size)
    def forward(self, x, h_prev, c_prev):
        o, g, f, i = self.lin(torch.cat([h_prev, x], 1)).chunk(4, 1)
        c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_t), c_t
'''
CELL["x2h-h2h"] = '''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.x2h = nn.Linear(input_size, 4 * hidden_size)
        self.h2h = nn.Linear(hidden_size, 4 * hidden_size)
    def forward(self, x, h_prev, c_prev):
        i, f, o, g = (self.x2h(x) + self.h2h(h_prev)).chunk(4, 1)
        c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_t), c_t
'''


def w_u_params(linear_convention: bool) -> str:
    # raw parameters: W_* on h_prev (H, H), U_* on x, b_* (H,), in either storage convention
    if linear_convention:
        shapes, use = "(H, H)", "h_prev @ self.W_{g}.T + x @ self.U_{g}.T + self.b_{g}"
        u_shape = "(H, I)"
    else:
        shapes, use = "(H, H)", "h_prev @ self.W_{g} + x @ self.U_{g} + self.b_{g}"
        u_shape = "(I, H)"
    lines = "\n".join(f"        self.W_{g} = nn.Parameter(torch.randn{shapes} * 0.1)\n"
                      f"        self.U_{g} = nn.Parameter(torch.randn{u_shape} * 0.1)\n"
                      f"        self.b_{g} = nn.Parameter(torch.zeros(H))" for g in "fico")
    gate = {g: use.format(g=g) for g in "fico"}
    return f'''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        H, I = hidden_size, input_size
{lines}
    def forward(self, x, h_prev, c_prev):
        f_t = torch.sigmoid({gate["f"]})
        i_t = torch.sigmoid({gate["i"]})
        c_tilde = torch.tanh({gate["c"]})
        o_t = torch.sigmoid({gate["o"]})
        c_t = f_t * c_prev + i_t * c_tilde
        return o_t * torch.tanh(c_t), c_t
'''


CELL["fused-weight-separate-biases"] = '''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.W = nn.Parameter(torch.randn(input_size + hidden_size, 4 * hidden_size) * 0.1)
        self.b_f, self.b_i = nn.Parameter(torch.ones(hidden_size)), nn.Parameter(torch.zeros(hidden_size))
        self.b_o, self.b_c = nn.Parameter(torch.zeros(hidden_size)), nn.Parameter(torch.zeros(hidden_size))
    def forward(self, x, h_prev, c_prev):
        f, i, o, c = (torch.cat([x, h_prev], 1) @ self.W).chunk(4, 1)
        c_t = torch.sigmoid(f + self.b_f) * c_prev + torch.sigmoid(i + self.b_i) * torch.tanh(c + self.b_c)
        return torch.sigmoid(o + self.b_o) * torch.tanh(c_t), c_t
'''
CELL["w-u-params"] = w_u_params(False)
CELL["w-u-params-linear-convention"] = w_u_params(True)
# issue 10: the cell state updated in place (the grader's inputs must be copied per call)
CELL["in-place-state"] = '''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.W = nn.Linear(input_size, 4 * hidden_size)
        self.U = nn.Linear(hidden_size, 4 * hidden_size, bias=False)
    def forward(self, x, h, c):
        i, f, g, o = (self.W(x) + self.U(h)).chunk(4, 1)
        c *= torch.sigmoid(f)
        c += torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
'''
# eight layers, the hidden ones registered in another gate order: paired by their names
CELL["eight-linear-mixed-order"] = '''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.W_ii, self.W_if = nn.Linear(input_size, hidden_size), nn.Linear(input_size, hidden_size)
        self.W_ig, self.W_io = nn.Linear(input_size, hidden_size), nn.Linear(input_size, hidden_size)
        self.W_ho, self.W_hg = nn.Linear(hidden_size, hidden_size), nn.Linear(hidden_size, hidden_size)
        self.W_hf, self.W_hi = nn.Linear(hidden_size, hidden_size), nn.Linear(hidden_size, hidden_size)
    def forward(self, x, h, c):
        i = torch.sigmoid(self.W_ii(x) + self.W_hi(h))
        f = torch.sigmoid(self.W_if(x) + self.W_hf(h))
        g = torch.tanh(self.W_ig(x) + self.W_hg(h))
        o = torch.sigmoid(self.W_io(x) + self.W_ho(h))
        c = f * c + i * g
        return o * torch.tanh(c), c
'''
# issue 10: eight nn.Linear, each with a bias, registered gate by gate
CELL["eight-linear-with-biases"] = '''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.W_ii = nn.Linear(input_size, hidden_size)
        self.W_hi = nn.Linear(hidden_size, hidden_size)
        self.W_if = nn.Linear(input_size, hidden_size)
        self.W_hf = nn.Linear(hidden_size, hidden_size)
        self.W_ig = nn.Linear(input_size, hidden_size)
        self.W_hg = nn.Linear(hidden_size, hidden_size)
        self.W_io = nn.Linear(input_size, hidden_size)
        self.W_ho = nn.Linear(hidden_size, hidden_size)
    def forward(self, x, h, c):
        i = torch.sigmoid(self.W_ii(x) + self.W_hi(h))
        f = torch.sigmoid(self.W_if(x) + self.W_hf(h))
        g = torch.tanh(self.W_ig(x) + self.W_hg(h))
        o = torch.sigmoid(self.W_io(x) + self.W_ho(h))
        c_next = f * c + i * g
        return o * torch.tanh(c_next), c_next
'''


@pytest.mark.parametrize("layout", sorted(CELL))
def test_every_known_layout_of_a_correct_cell_earns_30(layout):
    points, result = grade_cell(CELL[layout])
    assert points == 30, failed(result)
    seq = next(c for c in result if c.name.startswith("reference weights in your layout"))
    assert seq.observed.startswith("all 5 steps match")


EQUAL_ONLY = '''
class ManualLSTMCell(nn.Module):
    # the input weights are declared (hidden, hidden): runs only when input_size == hidden_size
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.Wx = nn.Parameter(torch.randn(hidden_size, 4 * hidden_size) * 0.1)
        self.Wh = nn.Parameter(torch.randn(hidden_size, 4 * hidden_size) * 0.1)
        self.b = nn.Parameter(torch.zeros(4 * hidden_size))
    def forward(self, x, h, c):
        i, f, g, o = (x @ self.Wx + h @ self.Wh + self.b).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
'''


def test_a_cell_that_runs_only_at_equal_sizes_keeps_the_layout_free_checks():
    points, result = grade_cell("input_size = 28\nhidden_size = 28\n" + EQUAL_ONLY)
    lost = failed(result)
    assert points == 18, lost  # shapes 2, zero 4, affine 4, ratio 4, gradients 2, names 2 (`f * c`); layout 12 lost
    assert "input_size == hidden_size" in lost["forget gate"].observed


def test_constant_gates_are_not_an_lstm():
    # a made-up cell that satisfies the zero-weight identities with constant gates
    points, result = grade_cell('''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.w = nn.Linear(input_size + hidden_size, hidden_size)
    def forward(self, x, h, c):
        c_t = 0.5 * c + 0 * self.w(torch.cat([x, h], 1))
        return 0.5 * torch.tanh(c_t), c_t
''')
    lost = failed(result)
    assert "the same" in lost["c_t = f * c_prev +"].observed
    assert "the same" in lost["h_t / tanh(c_t)"].observed
    assert points == 6  # shapes 2 and the zero-weight identities 4: nothing that needs a gate


def test_tanh_on_the_output_gate_keeps_partial_credit_and_names_the_gate_and_step():
    points, result = grade_cell(four_linear(o="torch.tanh(self.output_gate(xh))"))
    assert points == 18
    lost = failed(result)
    assert set(lost) == {"all parameters zero: h_t = 0.5 * tanh(c_t)", "h_t / tanh(c_t)",
                         "output gate", "reference weights in your layout: h_t and c_t equal over 5 time steps"}
    assert "tanh instead of sigmoid on the output gate" in lost["all parameters zero: h_t = 0.5 * tanh(c_t)"].hint
    seq = lost["reference weights in your layout: h_t and c_t equal over 5 time steps"].observed
    assert "first diverges at time step 1 of 5: c_t matches, h_t differs" in seq
    assert "the gate(s) that differ: output gate" in seq


def test_sigmoid_on_the_candidate_is_told_apart_from_the_input_gate():
    points, result = grade_cell(four_linear(g="torch.sigmoid(self.cell_gate(xh))"))
    lost = failed(result)
    assert set(lost) == {"all parameters zero: c_t = 0.5 * c_prev", "candidate cell",
                         "reference weights in your layout: h_t and c_t equal over 5 time steps"}
    assert points == 22
    assert "tanh, not sigmoid" in lost["candidate cell"].hint


def test_forget_gate_on_the_candidate_is_a_mislabelled_lstm_costing_the_names_only():
    points, result = grade_cell(four_linear(c="f_t * g_t + i_t * c_prev"))
    assert points == 28
    [names] = failed(result).values()
    assert names.name.startswith("gate names match their roles")
    assert "c_prev is multiplied by `i_t`, named like the input gate" in names.observed
    assert "forget_gate is named for the forget gate but acts as the input gate" in names.observed


def test_missing_bias_costs_the_sequence_check_only():
    points, result = grade_cell(four_linear(bias="False"))
    assert points == 26
    [seq] = failed(result).values()
    assert "no bias" in seq.observed and "bias" in seq.hint


def test_swapped_return_order_is_named():
    points, result = grade_cell(four_linear(ret="c_t, h_t"))
    lost = failed(result)
    assert "return (c_t, h_t)" in lost["all parameters zero: c_t = 0.5 * c_prev"].hint
    assert "return (c_t, h_t)" in lost["all parameters zero: h_t = 0.5 * tanh(c_t)"].hint
    assert points == 6  # shapes, gradients and the names of the gates: nothing that needs the values


def test_a_transposed_state_is_a_failed_check_not_a_grader_error():
    points, result = grade_cell(four_linear(ret="h_t.T, c_t.T"))
    lost = failed(result)
    assert "h_t has shape (4, 5)" in lost["forward returns"].observed
    assert "have shapes (4, 5) and (4, 5), not (B, H)" in lost["all parameters zero: c_t = 0.5 * c_prev"].observed
    assert points == 2  # the names of the gates (feeding h_t.T back raises in the gradient check)


def test_a_detached_weight_loses_the_gradient_check():
    points, result = grade_cell(four_linear(
        f="torch.sigmoid(xh @ self.forget_gate.weight.detach().T + self.forget_gate.bias)"))
    [grad] = failed(result).values()
    assert points == 28
    assert "forget_gate.weight" in grad.observed and ".detach()" in grad.hint


def test_an_unrecognised_layout_keeps_the_layout_free_checks():
    # a low-rank factorisation: an LSTM, but no known layout; 12 points need a TA's eye
    points, result = grade_cell('''
class ManualLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.down = nn.Linear(input_size + hidden_size, 3, bias=False)
        self.up = nn.Linear(3, 4 * hidden_size)
    def forward(self, x, h_prev, c_prev):
        i, f, g, o = self.up(self.down(torch.cat([x, h_prev], 1))).chunk(4, 1)
        c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_t), c_t
''')
    assert points == 18
    lost = failed(result)
    assert len(lost) == 5 and all("not checked: layout not recognised" in c.observed for c in lost.values())
    assert "down.weight (3, 10)" in lost["forget gate"].observed


def test_the_handout_cell_scores_nothing_with_the_error_shown():
    handout = (PACK_DIR / "handout" / "lab7_homework.py").read_text()
    cell = handout[handout.index("class ManualLSTMCell"):handout.index("# Full LSTM network")]
    points, result = grade_cell(cell)
    assert points == 0
    assert "name 'h_t' is not defined" in result[0].observed
    assert all(c.observed.startswith("not checked: ManualLSTMCell could not be built") for c in result)


# =============================================================================== probes.py


@pytest.fixture
def budget():
    from torch.utils.data import DataLoader

    original = DataLoader.__iter__
    saved = dict(probes.BUDGET)
    yield probes
    DataLoader.__iter__ = original
    probes.BUDGET.clear()
    probes.BUDGET.update(saved)
    if "hook" in probes.SEEN:
        probes.SEEN.pop("hook").remove()
    probes.SEEN.clear()


class Split(torch.utils.data.Dataset):
    def __init__(self, n, train):
        self.n, self.train = n, train

    def __len__(self):
        return self.n

    def __getitem__(self, k):
        return torch.full((28, 28), float(k)), k % 10


def test_budget_ends_the_training_loop_early_but_not_the_test_loop(budget):
    from torch.utils.data import DataLoader, Subset

    budget.install_budget(max_batches=5, max_seconds=None, seed=7)
    train = DataLoader(Subset(Split(100, True), range(80)), batch_size=4, shuffle=True)
    test = DataLoader(Split(40, False), batch_size=4, shuffle=True)  # shuffled, but the test split
    seen = [sum(1 for _ in train) for _epoch in range(3)]
    assert seen == [5, 0, 0]
    assert sum(1 for _ in test) == 10
    report = budget.budget_report()
    assert report["batches"] == 5 and report["cut"] and report["epochs_skipped"] == 2
    assert len(train) == 20  # what the student's progress prints still shows


def test_budget_caps_an_unlabelled_shuffled_loader_and_seeds_torch(budget):
    from torch.utils.data import DataLoader, TensorDataset

    budget.install_budget(max_batches=3, max_seconds=None, seed=11)
    first = torch.rand(3)
    data = TensorDataset(torch.arange(100.0))
    assert sum(1 for _ in DataLoader(data, batch_size=10, shuffle=True)) == 3
    assert sum(1 for _ in DataLoader(data, batch_size=10, shuffle=False)) == 10
    budget.install_budget(max_batches=3, max_seconds=None, seed=11)
    assert torch.equal(torch.rand(3), first)


def test_predict_test_uses_the_students_model_in_eval_mode():
    model = reference.ManualLSTMClassifier(28, 8, 10)
    model.train()
    images = np.random.default_rng(0).random((7, 28, 28), dtype=np.float32)
    out = observe.predict_test({"model": model}, images, batch_size=3)
    assert model.training  # restored
    with torch.no_grad():
        want = model(torch.from_numpy(images)).argmax(1).numpy()
    np.testing.assert_array_equal(out["preds"], want)
    assert out["model"] == "model" and out["n_params"] == sum(p.numel() for p in model.parameters())
    with pytest.raises(LookupError, match="global variable named `model`"):
        observe.predict_test({}, images)


def test_a_model_kept_in_a_local_is_still_found(budget):
    budget.install_budget(max_batches=None, max_seconds=None, seed=None)

    def main():  # the student's main(): `model` never becomes a global
        model = reference.ManualLSTMClassifier(28, 4, 10)
        model(torch.zeros(2, 28, 28))

    main()
    out = observe.predict_test({"ManualLSTMClassifier": reference.ManualLSTMClassifier},
                               np.zeros((3, 28, 28), np.float32), seen=probes.SEEN.get("model"))
    assert out["model"] == "the ManualLSTMClassifier the script ran last" and out["preds"].shape == (3,)


def test_printed_accuracy_lines_are_read_as_a_ta_would():
    read = checks.printed_accuracies
    assert read("Epoch [1/2] Loss: 2.3\nTest Accuracy: 97.25%\n") == ["97.25"]
    assert read("Accuracy of the network on the 10000 test images: 97 %") == ["97"]
    assert read(">>> Epoch [2/50] Train Loss: 2.1 | Train Acc: 20.71% || Test Loss: 1.9 | Test Acc: 36.46%\n"
                "Final Test Accuracy: 99.22%") == ["99.22"]
    assert read("Train Accuracy: 99%\nloss 0.1") == []


def test_testing_loop_is_compared_with_the_runs_half_and_refused_when_it_beats_the_hidden_half():
    rng = np.random.default_rng(0)
    seen = rng.random(5000) < 0.8  # the run's half: 80% right
    hidden = rng.random(5000) < 0.8

    def grade(printed, seen=seen, hidden=hidden):
        ctx = FakeCtx(IMPORTS)
        ctx.local["evaluation"] = {"accuracy": 100.0 * hidden.mean(), "correct": hidden, "batch_size": 128,
                                   "seen_accuracy": 100.0 * seen.mean(), "seen_correct": seen}
        ctx.run = lambda *a, **k: types.SimpleNamespace(stdout=f"Test Accuracy: {printed}%\n", error=None)
        ctx.item_id = "testing-loop"
        (check,) = resolved(checks.testing_loop, ctx)
        return check

    right = f"{100 * seen.mean():.2f}"
    assert grade(right).passed
    assert not grade(f"{100 * hidden.mean():.2f}").passed  # the hidden half's figure is not what the loop saw
    # the handout's 10,000 as a fixed denominator: the count is right, no point lost
    halved = grade(f"{100 * seen.sum() / 10000:.2f}")
    assert halved.passed and "/ 10,000" in halved.observed
    # predictions on the run's own images far better than on unseen ones: a lookup (or test-set training)
    perfect = grade("100.00", seen=np.ones(5000, bool))
    assert not perfect.passed and "points above unseen images" in perfect.observed


# =============================================================================== golden submissions

needs_data = pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="../shared/data/mnist not present")


@pytest.fixture(scope="module")
def results():
    return grade_examples(PACK)


@needs_data
@pytest.mark.parametrize("case", CASES)
def test_case_gets_expected_score(results, case):
    assert_expected(PACK, case, results[case])


@needs_data
def test_reference_earns_every_auto_point_provisionally(results):
    ref = results["reference"]
    assert ref.auto_score == ref.auto_max == 55
    assert ref.mode == "budget"
    accuracy = next(i for i in ref.items if i.id == "training-accuracy")
    assert accuracy.provisional and "PROVISIONAL" in accuracy.checks[0].observed
    notes = " ".join(ref.notes)
    assert "5,000-image training subset" in notes and "budget mode: training ran 120 batches" in notes
    assert len(ref.figures) == 1  # the 10 predictions, shown in the report


@needs_data
def test_handout_earns_nothing_without_crashing_the_grader(results):
    handout = results["handout"]
    assert handout.auto_score == 0
    assert handout.runs[0].status == "error"
    assert "optimizer got an empty parameter list" in handout.runs[0].error.message


@needs_data
def test_teaching_messages(results):
    def observed(case, item_id):
        item = next(i for i in results[case].items if i.id == item_id)
        return " ".join(filter(None, [c.observed for c in item.checks if not c.passed]
                               + [c.hint for c in item.checks] + [item.reason]))

    assert "last batch alone (8 images)" in observed("testing-loop-last-batch", "testing-loop")
    assert "0 image(s)" in observed("no-visualisation", "visualization")
    assert "banned API torch.nn.LSTM" in observed("nn-lstm", "lstm-cell")
    assert "output gate" in observed("wrong-gate-tanh-output", "lstm-cell")
    assert "input_size == hidden_size" in observed("equal-sizes-only-cell", "lstm-cell")
    assert "o_t * tanh(c_prev)" in observed("eight-linear-h-from-c-prev", "lstm-cell")


@needs_data
def test_hostile_and_builtin_replacing_submissions(results):
    # patched probe helpers change nothing: the ones the grader uses travel with each probe
    hostile = results["hostile-patched-probes"]
    assert hostile.auto_score == 0 and all(i.points == 0 for i in hostile.items if i.kind == "auto")
    assert all(i.reason is None or "grader error" not in i.reason for i in hostile.items)
    assert results["builtins-replaced"].auto_score == 55
    # labels looked up in the run's own test files: the accuracy is counted on images it never held
    lookup = {i.id: i for i in results["hostile-label-lookup"].items}
    acc = lookup["training-accuracy"].checks[0]
    assert "never saw" in acc.name and "/5000" in acc.observed and float(acc.observed.split("%")[0]) < 15
    assert "points above unseen images" in lookup["testing-loop"].checks[0].observed
    nb = {i.id: i.answer for i in results["layout-wu-params-notebook"].items if i.kind == "manual"}
    assert all(nb.values())
