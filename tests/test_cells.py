"""grader/cells.py: layout recognition and gate comparison of recurrent cells, in process.

Each cell here is a small torch module written as a student would (fused, per gate, x2h/h2h,
eight Linear, raw parameters either orientation), for the vanilla RNN, the LSTM and the GRU.
The grader's values are loaded into its parameters, it runs once, and cells.match must find the
reading (or name the one mistake the cell was written with)."""
from __future__ import annotations

import numpy as np
import pytest

from grader import cells

torch = pytest.importorskip("torch")
nn = torch.nn
I, H, N = 5, 4, 6

ACTS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda a: a, "relu": torch.relu}


class Pre(nn.Module):
    """The gates' pre-activations in one of the usual layouts. order: the fused rows' gate
    order (and the order per-gate layers are registered in); cat: "xh" or "hx"."""

    def __init__(self, layout: str, gates: str, order: str, cat: str):
        super().__init__()
        self.layout, self.order, self.cat, n = layout, order, cat, len(gates)
        if layout == "fused":
            self.lin = nn.Linear(I + H, n * H)
        elif layout == "x2h":
            self.x2h, self.h2h = nn.Linear(I, n * H), nn.Linear(H, n * H)
        elif layout == "per-gate":  # one Linear per gate on the concatenation, named for it
            for g in order:
                setattr(self, f"W_{g}", nn.Linear(I + H, H))
        elif layout == "eight":  # one Linear per gate and side, each with its bias
            for g in order:
                setattr(self, f"W_x{g}", nn.Linear(I, H))
                setattr(self, f"W_h{g}", nn.Linear(H, H))
        elif layout in ("raw", "raw-t"):  # W_* on h, U_* on x, b_*; raw-t stored (in, out)
            for g in order:
                setattr(self, f"W_{g}", nn.Parameter(torch.randn(H, H)))
                setattr(self, f"U_{g}", nn.Parameter(torch.randn(I, H) if layout == "raw-t" else torch.randn(H, I)))
                setattr(self, f"b_{g}", nn.Parameter(torch.zeros(H)))
        else:
            raise ValueError(layout)

    def forward(self, g, x, h):
        k = self.order.index(g)
        rows = slice(k * H, (k + 1) * H)
        xh = torch.cat([x, h] if self.cat == "xh" else [h, x], 1)
        if self.layout == "fused":
            return self.lin(xh)[:, rows]
        if self.layout == "x2h":
            return self.x2h(x)[:, rows] + self.h2h(h)[:, rows]
        if self.layout == "per-gate":
            return getattr(self, f"W_{g}")(xh)
        if self.layout == "eight":
            return getattr(self, f"W_x{g}")(x) + getattr(self, f"W_h{g}")(h)
        W, U, b = getattr(self, f"W_{g}"), getattr(self, f"U_{g}"), getattr(self, f"b_{g}")
        if self.layout == "raw-t":
            return h @ W + x @ U + b
        return h @ W.T + x @ U.T + b


class LSTM(nn.Module):
    def __init__(self, layout="fused", order="ifgo", cat="xh", act=None, **mistake):
        super().__init__()
        self.pre = Pre(layout, "ifgo", order, cat)
        self.act = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid", **(act or {})}
        self.mistake = mistake

    def forward(self, x, h, c):
        i, f, g, o = (ACTS[self.act[k]](self.pre(k, x, h)) for k in "ifgo")
        c_new = (c if self.mistake.get("no_forget") else f * c) + i * g
        if self.mistake.get("h_from_c_prev"):
            return o * torch.tanh(c), c_new
        return o * (c_new if self.mistake.get("no_tanh_c") else torch.tanh(c_new)), c_new


class GRU(nn.Module):
    def __init__(self, layout="per-gate", order="zrn", cat="hx", act=None, relabel=False, **mistake):
        super().__init__()
        self.pre = Pre(layout, "zrn", order, cat)
        self.act = {"z": "sigmoid", "r": "sigmoid", "n": "tanh", **(act or {})}
        self.relabel, self.mistake = relabel, mistake

    def forward(self, x, h):
        z = ACTS[self.act["z"]](self.pre("z", x, h))
        r = ACTS[self.act["r"]](self.pre("r", x, h))
        if self.mistake.get("no_reset"):
            n = self.pre("n", x, h)
        elif self.mistake.get("reset_after"):  # nn.GRU's convention: r * (W_h h + b)
            n = self.pre("n", x, torch.zeros_like(h)) + r * (self.pre("n", torch.zeros_like(x), h)
                                                             - self.pre("n", torch.zeros_like(x), torch.zeros_like(h)))
        else:
            n = self.pre("n", x, r * h)
        n = ACTS[self.act["n"]](n)
        return z * h + (1 - z) * n if self.relabel else (1 - z) * h + z * n


class RNN(nn.Module):
    def __init__(self, layout="eight", cat="xh", act="tanh", bias_h=True):
        super().__init__()
        self.pre = Pre(layout, "h", "h", cat)
        if not bias_h and layout == "eight":
            self.pre.W_hh = nn.Linear(H, H, bias=False)
        self.act = act

    def forward(self, x, h):
        return ACTS[self.act](self.pre("h", x, h))


def run(kind, cell, seed=0):
    """What a pack does: the grader's values into every parameter, one call on its inputs;
    then cells.recognise and cells.match on the raw values alone."""
    rng = np.random.default_rng(seed)
    params = [(n, tuple(p.shape)) for n, p in cell.named_parameters()]
    values = [rng.uniform(-0.6, 0.6, s) if len(s) == 2 else rng.uniform(-0.3, 0.3, s) for _, s in params]
    x, h, c = rng.standard_normal((N, I)), rng.uniform(-0.9, 0.9, (N, H)), rng.standard_normal((N, H))
    with torch.no_grad():
        for p, v in zip(cell.parameters(), values):
            p.copy_(torch.tensor(v, dtype=torch.float32))
        t = [torch.tensor(a, dtype=torch.float32) for a in (x, h, c)]
        out = cell(*t) if kind == "lstm" else cell(t[0], t[1])
    observed = tuple(o.numpy() for o in out) if isinstance(out, tuple) else (out.numpy(),)
    layout = cells.recognise(params, I, H, kind)
    assert not isinstance(layout, str), layout
    return layout, cells.match(layout, {n: v for (n, _), v in zip(params, values)}, x, h, c, observed, I=I, H=H)


# =============================================================================== layouts

LSTM_LAYOUTS = {
    "fused [x, h], gates i f g o": LSTM("fused"),
    "fused [h, x], gates o g f i": LSTM("fused", order="ogfi", cat="hx"),
    "four Linear on [h, x], registered f o i g": LSTM("per-gate", order="foig", cat="hx"),
    "x2h/h2h, rows i f o g": LSTM("x2h", order="ifog"),
    "eight Linear with biases": LSTM("eight", order="fiog"),
    "raw W/U/b, (out, in)": LSTM("raw"),
    "raw W/U/b, (in, out)": LSTM("raw-t", order="gofi"),
}


@pytest.mark.parametrize("name", sorted(LSTM_LAYOUTS))
def test_every_lstm_layout_is_read(name):
    layout, found = run("lstm", LSTM_LAYOUTS[name])
    assert found.ok, (name, found)
    assert found.mistake is None and found.closest < 1e-5


def test_the_fused_order_and_concatenation_found_are_the_cells():
    _, found = run("lstm", LSTM("fused", order="ogfi", cat="hx"))
    assert found.candidate.order == ("o", "g", "f", "i") and found.candidate.cat == "hx"
    layout, found = run("lstm", LSTM("per-gate", order="foig", cat="hx"))
    assert layout.how == "names" and found.candidate.singles == {
        "pre.W_f.weight": "f", "pre.W_f.bias": "f", "pre.W_o.weight": "o", "pre.W_o.bias": "o",
        "pre.W_i.weight": "i", "pre.W_i.bias": "i", "pre.W_g.weight": "g", "pre.W_g.bias": "g"}


GRU_LAYOUTS = {
    "three Linear on [h, x] (the seed)": GRU(),
    "three Linear on [x, h], registered n z r": GRU(order="nzr", cat="xh"),
    "six Linear, x and h apart": GRU("eight"),
    "raw W/U/b, (in, out)": GRU("raw-t", order="rzn"),
    "fused 3H on [h, x]": GRU("fused", cat="hx"),
}


@pytest.mark.parametrize("name", sorted(GRU_LAYOUTS))
def test_every_gru_layout_is_read_in_the_seeds_convention(name):
    _, found = run("gru", GRU_LAYOUTS[name])
    assert found.ok and not found.relabel, (name, found)


@pytest.mark.parametrize("name", sorted(GRU_LAYOUTS))
def test_the_relabelled_gru_is_accepted_and_said_to_be(name):
    cell = GRU_LAYOUTS[name]
    relabelled = GRU(cell.pre.layout, order=cell.pre.order, cat=cell.pre.cat, relabel=True)
    layout, found = run("gru", relabelled)
    assert found.ok and found.relabel
    assert "z relabelled" in found.words(layout)


@pytest.mark.parametrize("layout", ["eight", "raw", "raw-t", "per-gate"])
def test_every_vanilla_layout_is_read(layout):
    _, found = run("rnn", RNN(layout))
    assert found.ok


def test_a_vanilla_cell_without_a_hidden_bias_is_still_the_seeds():
    cell = RNN("eight", bias_h=False)
    assert [n for n, _ in cell.named_parameters()] == ["pre.W_xh.weight", "pre.W_xh.bias", "pre.W_hh.weight"]
    _, found = run("rnn", cell)
    assert found.ok


def test_assemble_and_read_are_inverse_for_every_candidate():
    rng = np.random.default_rng(3)
    for kind, cell in (("lstm", LSTM("raw-t")), ("lstm", LSTM("x2h")), ("gru", GRU("fused")), ("rnn", RNN("raw"))):
        params = [(n, tuple(p.shape)) for n, p in cell.named_parameters()]
        layout = cells.recognise(params, I, H, kind)
        blocks = cells.draw_blocks(rng, kind, I, H)
        for cand in layout.candidates():
            values, no_bias = cells.assemble(layout.pieces, cand, blocks)
            back, no_bias_back = cells.read(layout.pieces, cand, values, I, H, layout.gates)
            assert no_bias == no_bias_back
            for g in layout.gates:
                for a, b in zip(back[g], blocks[g]):
                    np.testing.assert_allclose(a, b, atol=1e-6)


# =============================================================================== mistakes

LSTM_MISTAKES = [
    (LSTM(act={"f": "tanh"}), "f", "tanh instead of sigmoid on the forget gate"),
    (LSTM(act={"i": "tanh"}), "i", "tanh instead of sigmoid on the input gate"),
    (LSTM(act={"o": "tanh"}), "o", "tanh instead of sigmoid on the output gate"),
    (LSTM(act={"g": "sigmoid"}), "g", "sigmoid instead of tanh on the candidate cell"),
    (LSTM(h_from_c_prev=True), "o", "NEW cell state"),
    (LSTM(no_tanh_c=True), "o", "tanh is missing on the cell state"),
    (LSTM(no_forget=True), "f", "does not multiply C_prev"),
]
GRU_MISTAKES = [
    (GRU(act={"z": "tanh"}), "z", "tanh instead of sigmoid on the update gate"),
    (GRU(act={"r": "tanh"}), "r", "tanh instead of sigmoid on the reset gate"),
    (GRU(act={"n": "sigmoid"}), "n", "sigmoid instead of tanh on the candidate"),
    (GRU(no_reset=True), "r", "the reset gate is not used"),
    (GRU(reset_after=True), "r", "PyTorch's nn.GRU"),
    (GRU(relabel=True, act={"n": "sigmoid"}), "n", "sigmoid instead of tanh on the candidate"),
]
RNN_MISTAKES = [
    (RNN(act="sigmoid"), "h", "sigmoid instead of tanh"),
    (RNN(act="identity"), "h", "no tanh"),
    (RNN(act="relu"), "h", "relu instead of tanh"),
]


@pytest.mark.parametrize("kind, cell, gate, text", [("lstm", *m) for m in LSTM_MISTAKES]
                         + [("gru", *m) for m in GRU_MISTAKES] + [("rnn", *m) for m in RNN_MISTAKES])
def test_each_mistake_is_named_with_its_gate(kind, cell, gate, text):
    _, found = run(kind, cell)
    assert not found.ok
    assert found.mistake is not None and found.mistake[0] == gate and text in found.mistake[1], found.mistake
    assert found.closest > 1e-3


def test_a_wrong_cell_with_no_known_mistake_is_no_match_with_its_distance():
    class Odd(LSTM):
        def forward(self, x, h, c):
            h_t, c_t = super().forward(x, h, c)
            return h_t * 1.1, c_t

    _, found = run("lstm", Odd())
    assert not found.ok and found.mistake is None and 1e-3 < found.closest < 1


def test_unknown_layouts_say_why():
    assert "no LSTM weight" in cells.recognise([("down.weight", (3, 9)), ("up.weight", (16, 3))], I, H, "lstm")
    assert "no parameters" in cells.recognise([], I, H, "gru")
    assert "exactly one weight on x and one on h_prev" in cells.recognise(
        [("a.weight", (H, I)), ("b.weight", (H, I))], I, H, "rnn")


def test_gate_hints_read_the_usual_names():
    hint = cells.gate_hint
    assert [hint(n) for n in ("W_f", "U_i", "b_c", "b_o", "forget_gate.weight", "input_gate.bias",
                              "W_xf", "Wf", "cell_gate.weight", "output.weight")] == \
        ["f", "i", "g", "o", "f", "i", "f", "f", "g", "o"]
    assert [hint(n) for n in ("x2h.weight", "gates.weight", "weight_ih", "W_input")] == [None] * 4
    assert [hint(n, "gru") for n in ("W_z", "reset_gate.weight", "W_hr", "U_n", "update.bias", "W.weight")] == \
        ["z", "r", "r", "n", "z", None]


def test_the_candidate_search_covers_every_gate_order():
    layout = cells.recognise([["lin.weight", [16, 10]], ["lin.bias", [16]]], 6, 4)
    candidates = layout.candidates()
    assert layout.how == "none" and len(candidates) == 24 * 2  # 24 gate orders x 2 concatenation orders
    assert candidates[0].order == ("i", "f", "g", "o") and candidates[0].cat == "xh"
    # a fused weight with four b_* vectors: the biases' gates are searched apart
    layout = cells.recognise([["W", [10, 16]], ["b_f", [4]], ["b_i", [4]], ["b_o", [4]], ["b_c", [4]]], 6, 4)
    assert layout.how == "names" and layout.perm_is_bias_only and not layout.order_is_bias_only
    assert isinstance(cells.recognise([["w", [5, 5]]], 6, 4), str)
    assert len(cells.recognise([["lin.weight", [12, 10]], ["lin.bias", [12]]], 6, 4, "gru").candidates()) == 6 * 2


# =============================================================================== LSTM gate by gate


def _runner(cell):
    """run_sets as a pack's child helper does it: each candidate's arrays into the cell's
    parameters, the cell over each sequence; raw outputs (K, T, B, H)."""
    params = dict(cell.named_parameters())

    def run_sets(sets, sequences):
        out = {}
        K = len(next(iter(sets["full"].values())))
        for name, (set_name, xs, h0, c0) in sequences.items():
            hs = np.zeros((K, xs.shape[0], xs.shape[1], H), np.float32)
            cs = np.zeros_like(hs)
            for k in range(K):
                with torch.no_grad():
                    for p, stack in sets[set_name].items():
                        params[p].copy_(torch.tensor(stack[k]))
                    h, c = torch.tensor(h0), torch.tensor(c0)
                    for t in range(xs.shape[0]):
                        h, c = cell(torch.tensor(xs[t]), h, c)
                        hs[k, t], cs[k, t] = h.numpy(), c.numpy()
            out[name + "_h"], out[name + "_c"] = hs, cs
        out["errors"] = [None] * K
        return out

    return run_sets


def _judge(cell):
    rng = np.random.default_rng(5)
    params = [(n, tuple(p.shape)) for n, p in cell.named_parameters()]
    layout = cells.recognise(params, I, H, "lstm")
    blocks = cells.draw_blocks(rng, "lstm", I, H)
    ca = rng.normal(0, 1, (5, H)).astype(np.float32)
    inputs = {"xs": rng.normal(0, 1, (5, 3, I)).astype(np.float32), "h0": rng.normal(0, 0.5, (3, H)).astype(np.float32),
              "c0": rng.normal(0, 1, (3, H)).astype(np.float32), "x1": rng.normal(0, 1, (1, 5, I)).astype(np.float32),
              "h1": rng.normal(0, 0.5, (5, H)).astype(np.float32), "ca": ca, "cb": (ca + 1).astype(np.float32)}
    tol = {"rtol": 1e-4, "atol": 1e-5, "gate_atol": 2e-4}
    return cells.staged_search_lstm(layout, blocks, inputs, tol, _runner(cell))


def test_lstm_gate_by_gate_passes_a_correct_cell_in_its_layout():
    no_bias, cand, verdict = _judge(LSTM("fused", order="ogfi", cat="hx"))
    assert not no_bias and cand.order == ("o", "g", "f", "i") and cand.cat == "hx"
    assert verdict.steps_ok == 5 and all(ok for ok, _ in verdict.gates.values())


@pytest.mark.parametrize("cell, wrong", [
    (LSTM("per-gate", act={"o": "tanh"}), {"o"}),
    (LSTM("per-gate", act={"g": "sigmoid"}), {"g"}),
    (LSTM("per-gate", act={"f": "tanh"}), {"f"}),
])
def test_lstm_gate_by_gate_names_the_gate_that_differs(cell, wrong):
    _, _, verdict = _judge(cell)
    assert {g for g, (ok, _) in verdict.gates.items() if not ok} == wrong
    assert verdict.steps_ok == 0 and verdict.first.startswith("time step 1 of 5")
