"""Recurrent cells, layout-agnostic (trusted side): which of a student's parameters hold which
gate, and whether the cell computes the vanilla RNN, LSTM or GRU equations.

A student may write a cell as four nn.Linear on [h, x] or [x, h], one fused Linear to 4H in
any gate order, x2h/h2h, eight Linear, or raw nn.Parameter W_*/U_*/b_* stored (out, in) or
(in, out). `recognise` reads the parameters' names and shapes (raw values the child
returned) into a `Layout`: pieces, their grouping into gates, and every choice the shapes
leave open (gate order of fused rows, gate of each one-gate group, concatenation order,
storage of square weights). A `Candidate` fixes every choice.

Two ways to compare a cell with the equations, both decided here:
- `match`: the grader's random values are loaded into the student's parameters, the cell
  runs once on the grader's inputs, and every candidate reading of those values as per-gate
  blocks is computed here (`step`, numpy float64) and compared with the raw outputs. When no
  reading reproduces them, the known mistakes (`MISTAKES`: an activation swapped, the reset
  gate not applied, tanh missing on c_t ...) are tried under every reading: the one that does
  reproduce them is the likely mistake, named with its gate.
- `assemble` + `judge_lstm` (LSTM, gate by gate): the grader's per-gate blocks are laid into
  the student's parameters by each candidate; from the raw outputs at two values of c_prev the
  forget gate is the slope, i * c~ the intercept, o = h / tanh(c); a run with the candidate
  held at tanh(20) = 1 isolates the input gate.

Nothing here runs student code: the child only loads values and returns outputs
(`CHILD`, prepended to probe snippets, returns raw values only).
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from grader.checks import fmt

# Gate letters per kind, in the reference's order. LSTM: `g` is the candidate cell c~; GRU: `n`
# is the candidate h~ = tanh(W [r * h_prev, x] + b); vanilla: the one update h = tanh(...).
GATES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("z", "r", "n")}
GATE_NAME = {"h": "hidden update", "i": "input gate", "f": "forget gate", "g": "candidate cell",
             "o": "output gate", "z": "update gate", "r": "reset gate", "n": "candidate h~"}
EQUATION = {
    "rnn": {"h": "h_t = tanh(W_h h_prev + W_x x + b)"},
    "lstm": {"i": "i_t = sigmoid(W_i h + U_i x + b_i)", "f": "f_t = sigmoid(W_f h + U_f x + b_f)",
             "g": "c~_t = tanh(W_c h + U_c x + b_c)", "o": "o_t = sigmoid(W_o h + U_o x + b_o)"},
    "gru": {"z": "z = sigmoid(W_z [h_prev, x] + b_z)", "r": "r = sigmoid(W_r [h_prev, x] + b_r)",
            "n": "h~ = tanh(W [r * h_prev, x] + b)"},
}
SUMMARY = {
    "rnn": "h = tanh(W_h h_prev + W_x x + b)",
    "lstm": "f, i, o = sigmoid(W [h_prev, x] + b); C = f * C_prev + i * tanh(W_c [h_prev, x] + b_c); "
            "h = o * tanh(C)",
    "gru": "z, r = sigmoid(W [h_prev, x] + b); h~ = tanh(W [r * h_prev, x]); h = (1 - z) h_prev + z h~",
}
ACTIVATION = {"h": "tanh", "g": "tanh", "n": "tanh"}  # every other gate: sigmoid

# Child side: prepended to a probe snippet (compiled after the student's code ran, so nothing
# of it is reachable before). Loads the grader's arrays, lists names and shapes: raw values.
CHILD = '''
def cell_parameters(cell):
    """[name, shape] of every parameter, in registration order."""
    return [[n, [int(d) for d in p.shape]] for n, p in cell.named_parameters()]


def load_parameters(cell, arrays):
    """The grader's arrays into the parameters, registration order; the count is checked."""
    params = list(cell.parameters())
    if len(params) != len(arrays):
        raise RuntimeError(f"the cell has {len(params)} parameters now, {len(arrays)} before")
    with torch.no_grad():
        for p, a in zip(params, arrays):
            p.copy_(torch.tensor(np.array(a, dtype=np.float32, copy=True)).reshape(p.shape).to(p.dtype))
'''


# =============================================================================== layouts


@dataclass(frozen=True)
class Piece:
    name: str
    shape: tuple
    role: str  # "b" bias, "x" input weight, "h" hidden weight, "xh" weight on a concatenation
    n: int  # gates held: 1 or all of them
    trans: bool | None  # stored (in, out) instead of (out, in); None: square, either way


@dataclass(frozen=True)
class Candidate:
    singles: dict  # piece name -> gate (one-gate pieces)
    order: tuple  # gate order of the fused pieces
    cat: str  # "xh" or "hx": order of the concatenation
    square_t: bool  # (H, H) pieces stored transposed
    label: str  # how it reads in a report


def classify(name: str, shape: tuple, I: int, H: int, n_gates: int = 4) -> Piece | None:
    """The role of one parameter from its shape, or None when it fits no role."""
    dims = tuple(int(d) for d in shape)
    sizes = (H, n_gates * H)
    if len(dims) == 1 or (len(dims) == 2 and 1 in dims and max(dims) in sizes):
        n = max(dims) if dims else 0
        return Piece(name, dims, "b", 1 if n == H else n_gates, False) if n in sizes else None
    if len(dims) != 2:
        return None
    a, b = dims
    for n, out in ((1, H), (n_gates, n_gates * H)) if n_gates > 1 else ((1, H),):
        for role, width in (("x", I), ("h", H), ("xh", I + H)):
            if (a, b) == (out, width) and (a, b) == (width, out):
                return Piece(name, dims, role, n, None)
            if (a, b) == (out, width):
                return Piece(name, dims, role, n, False)
            if (a, b) == (width, out):
                return Piece(name, dims, role, n, True)
    return None


_GATE_WORDS = {
    "lstm": {"f": {"f", "forget", "ft", "fg", "forgetgate"},
             "i": {"i", "it", "ig", "inp", "ingate", "inputgate"},
             "o": {"o", "ot", "og", "out", "output", "outgate", "outputgate"},
             "g": {"c", "g", "ct", "gt", "cand", "candidate", "cell", "ctilde", "tilde", "cbar",
                   "chat", "cc", "cellgate", "candidategate"}},
    "gru": {"z": {"z", "zt", "update", "updategate", "upd"},
            "r": {"r", "rt", "reset", "resetgate"},
            "n": {"n", "nt", "new", "newgate", "cand", "candidate", "htilde", "tilde", "hbar", "hhat", "hh",
                  "candidategate"}},
    "rnn": {},
}


def _gate_of_token(token: str, has_gate_word: bool, kind: str) -> str | None:
    if token == "input" and kind == "lstm":
        return "i" if has_gate_word else None
    for gate, words in _GATE_WORDS[kind].items():
        if token in words:
            return gate
    if len(token) >= 2 and token[0] in "wub" and token[1:] != token:
        return _gate_of_token(token[1:], has_gate_word, kind)  # Wf, Uf, bf, Wxf
    if len(token) == 2 and token[0] in "xh":
        return _gate_of_token(token[1], has_gate_word, kind)  # xf, hf
    return None


def gate_hint(name: str, kind: str = "lstm") -> str | None:
    """The gate a name refers to (W_f, forget_gate.weight, b_i, W_xo, W_z, reset.weight ...), or None."""
    tokens = [t.lower() for t in re.split(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])", name) if t]
    has_gate = any("gate" in t for t in tokens)
    found = {g for g in (_gate_of_token(t, has_gate, kind) for t in tokens
                         if t not in ("weight", "bias", "gate", "gates", "w", "u", "b", "x", "h"))
             if g is not None}
    return found.pop() if len(found) == 1 else None


def _valid_group(pieces: list[Piece]) -> bool:
    xs = sum(p.role in ("x", "xh") for p in pieces)
    hs = sum(p.role in ("h", "xh") for p in pieces)
    return xs == 1 and hs == 1


def _pair_by_names(xs: list[list[Piece]], hs: list[list[Piece]], n: int) -> list[list[Piece]] | None:
    """Input layers paired with hidden layers whose module names differ in exactly one
    character (W_ii / W_hi, x_f / h_f, Wxo / Who), when that pairs all of them one to one."""
    def module(layer):
        return layer[0].name.rsplit(".", 1)[0]

    def one_apart(a: str, b: str) -> bool:
        return len(a) == len(b) and sum(c != d for c, d in zip(a, b)) == 1

    pairs, used = [], set()
    for x in xs:
        found = [h for h in hs if one_apart(module(x), module(h))]
        if len(found) != 1:
            return None
        used.add(module(found[0]))
        pairs.append(x + found[0])
    return pairs if len(used) == n else None


def _group_singles(singles: list[Piece], fused: list[Piece], kind: str
                   ) -> tuple[list[list[Piece]], list[str | None], str] | None:
    """One group of one-gate pieces per gate, the gate each group's names suggest, and how
    they were grouped: by names, by module, by layers or by order of definition. A group with
    the fused pieces must give its gate one weight on x and one on h_prev."""
    gates = GATES[kind]
    n = len(gates)
    if not singles:
        return [], [], "none"
    if n == 1:
        return [singles], [gates[0]], "none"  # one gate: recognise() says what it lacks

    def valid(groups: list[list[Piece]]) -> bool:
        return len(groups) == n and all(_valid_group(gr + fused) for gr in groups)

    hints = [gate_hint(p.name, kind) for p in singles]
    if all(hints) and len(set(hints)) == n:
        groups = [[p for p, h in zip(singles, hints) if h == g] for g in gates]
        if valid(groups):
            return groups, list(gates), "names"
    prefixes: dict[str, list[Piece]] = {}
    for p in singles:
        prefixes.setdefault(p.name.rsplit(".", 1)[0] if "." in p.name else p.name, []).append(p)
    if valid(list(prefixes.values())):
        return list(prefixes.values()), [gate_hint(k, kind) for k in prefixes], "modules"
    # One layer per gate and side (eight nn.Linear, each with its bias, say W_ii, W_hi, W_if,
    # ...): each bias stays with its own layer's weight; the k-th input layer pairs with the
    # k-th hidden layer, in the order they were registered.
    layers = list(prefixes.values())
    if all(sum(p.role != "b" for p in layer) == 1 for layer in layers):
        sides: dict[str, list[list[Piece]]] = {}
        for layer in layers:
            sides.setdefault(next(p.role for p in layer if p.role != "b"), []).append(layer)
        if set(sides) == {"x", "h"} and len(sides["x"]) == len(sides["h"]) == n:
            groups = _pair_by_names(sides["x"], sides["h"], n) or [sides["x"][k] + sides["h"][k] for k in range(n)]
            if valid(groups):
                hints = []
                for gr in groups:
                    found = {gate_hint(p.name.rsplit(".", 1)[0], kind) for p in gr} - {None}
                    hints.append(found.pop() if len(found) == 1 else None)
                return groups, hints, "layers"
    by_role: dict[str, list[Piece]] = {}
    for p in singles:
        by_role.setdefault(p.role, []).append(p)
    if all(len(v) in (n, 2 * n) if k == "b" else len(v) == n for k, v in by_role.items()):
        biases = by_role.pop("b", [])
        groups = [[v[k] for v in by_role.values()] + biases[k::n] for k in range(n)]
        if valid(groups):
            return groups, [None] * n, "order"
    return None


@dataclass
class Layout:
    """What recognise() found: the pieces, their grouping, and every choice still open."""

    kind: str
    pieces: list
    groups: list  # one list of one-gate pieces per gate (empty when every piece is fused)
    how: str  # how the groups were formed: "names", "modules", "layers", "order" or "none"
    perms: list  # gate of each group, most likely first
    orders: list  # gate order of the fused pieces, most likely first
    cats: list  # concatenation orders to try
    squares: list  # (H, H) storage conventions to try

    @property
    def gates(self) -> tuple:
        return GATES[self.kind]

    @property
    def perm_is_bias_only(self) -> bool:
        return bool(self.groups) and all(p.role == "b" for gr in self.groups for p in gr)

    @property
    def order_is_bias_only(self) -> bool:
        fused = [p for p in self.pieces if p.n > 1]
        return bool(fused) and all(p.role == "b" for p in fused)

    def candidates(self, perms=None, orders=None) -> list[Candidate]:
        out = []
        for perm, order, cat, sq in itertools.product(perms or self.perms, orders or self.orders,
                                                      self.cats, self.squares):
            singles = {p.name: perm[k] for k, gr in enumerate(self.groups) for p in gr}
            bits = []
            if self.groups and len(self.gates) > 1:
                bits.append("gates " + ", ".join(
                    f"{'/'.join(p.name for p in gr if p.role != 'b') or '/'.join(p.name for p in gr)}={perm[k]}"
                    for k, gr in enumerate(self.groups)))
            if any(p.n > 1 for p in self.pieces):
                bits.append("fused rows in order " + "".join(order))
            if len(self.cats) > 1:
                bits.append(f"concatenation [{cat[0]}, {cat[1]}]")
            if len(self.squares) > 1:
                bits.append("square weights used as h @ W" if sq else "square weights used as W @ h")
            out.append(Candidate(singles, order, cat, sq, "; ".join(bits)))
        return out

    def words(self) -> str:
        """The layout in a student's words (for reports)."""
        kinds = sorted({f"{p.role}{p.n}" for p in self.pieces if p.role != "b"})
        n = len(self.gates)
        count = {1: "one weight", 3: "three weights", 4: "four weights"}[n]
        words = {("xh1",): f"{count} on the concatenation [x, h]", (f"xh{n}",): f"one fused weight on [x, h] to {n}H",
                 (f"h{n}", f"x{n}"): "fused input and hidden weights (x2h/h2h)",
                 ("h1", "x1"): "separate input and hidden weights" + (" per gate (W_*/U_*)" if n > 1 else "")}
        text = words.get(tuple(kinds), "layout " + "+".join(kinds))
        return text + (f", gates by {self.how}" if self.how != "none" else "")


def recognise(params: list, I: int, H: int, kind: str = "lstm") -> Layout | str:
    """The layout of the student's parameters [(name, shape)], or a one-line reason it is unknown."""
    gates = GATES[kind]
    n = len(gates)
    pieces = []
    for name, shape in params:
        piece = classify(name, tuple(shape), I, H, n)
        if piece is None:
            return (f"parameter {name} has shape {tuple(shape)}, which is no "
                    f"{ {'rnn': 'RNN', 'lstm': 'LSTM', 'gru': 'GRU'}[kind]} weight for I={I}, H={H}")
        pieces.append(piece)
    if not pieces:
        return "the cell has no parameters (use nn.Linear or nn.Parameter in __init__)"
    singles = [p for p in pieces if p.n == 1]
    fused = [p for p in pieces if p.n > 1]
    grouped = _group_singles(singles, fused, kind)
    if grouped is None:
        return f"the one-gate weights could not be put into {n} gate{'s' if n > 1 else ''}"
    groups, hinted, how = grouped
    # every gate needs exactly one input and one hidden weight in all
    for k in range(n):
        part = (groups[k] if groups else []) + fused
        if not _valid_group(part):
            return ("each gate needs exactly one weight on x and one on h_prev" if n > 1 else
                    "the cell needs exactly one weight on x and one on h_prev")
    first = tuple(hinted) if groups and all(hinted) and len(set(hinted)) == n else gates
    perms = [first] + [p for p in itertools.permutations(gates) if p != first] if groups else [gates]
    orders = [gates] + [p for p in itertools.permutations(gates) if p != gates] if fused else [gates]
    cats = ["xh", "hx"] if any(p.role == "xh" for p in pieces) else ["xh"]
    squares = [False, True] if any(p.trans is None for p in pieces) else [False]
    return Layout(kind, pieces, groups, how, perms, orders, cats, squares)


def _gates_of(piece: Piece, cand: Candidate) -> list[str]:
    return [cand.singles[piece.name]] if piece.n == 1 else list(cand.order)


def assemble(pieces: list[Piece], cand: Candidate, blocks: dict) -> tuple[dict, set]:
    """The student's parameters holding `blocks` (gate -> (Wx (H, I), Wh (H, H), b (H,)))
    under candidate `cand`, and the gates the layout gives no bias. The first bias piece of a
    gate gets b, any later one zeros."""
    out, biased = {}, set()
    for p in pieces:
        gates = _gates_of(p, cand)
        if p.role == "b":
            parts = []
            for g in gates:
                parts.append(np.zeros_like(blocks[g][2]) if g in biased else blocks[g][2])
                biased.add(g)
            value = np.concatenate(parts)
        else:
            parts = []
            for g in gates:
                Wx, Wh, _ = blocks[g]
                parts.append({"x": Wx, "h": Wh}.get(p.role) if p.role != "xh" else
                             np.concatenate([Wx, Wh] if cand.cat == "xh" else [Wh, Wx], axis=1))
            value = np.concatenate(parts, axis=0)
            transpose = p.trans if p.trans is not None else cand.square_t
            value = value.T if transpose else value
        out[p.name] = np.ascontiguousarray(value.reshape(p.shape), dtype=np.float32)
    return out, set(blocks) - biased


def read(pieces: list[Piece], cand: Candidate, values: dict, I: int, H: int, gates: tuple) -> tuple[dict, set]:
    """The inverse of assemble: the per-gate blocks (float64) that parameter values
    (name -> array) hold under `cand`, every bias piece of a gate added to its bias, and the
    gates without any bias piece."""
    Wx = {g: np.zeros((H, I)) for g in gates}
    Wh = {g: np.zeros((H, H)) for g in gates}
    b = {g: np.zeros(H) for g in gates}
    biased = set()
    for p in pieces:
        value = np.asarray(values[p.name], np.float64)
        gs = _gates_of(p, cand)
        if p.role == "b":
            for k, g in enumerate(gs):
                b[g] = b[g] + value.reshape(-1)[k * H:(k + 1) * H]
                biased.add(g)
            continue
        transpose = p.trans if p.trans is not None else cand.square_t
        value = value.reshape(p.shape)
        value = value.T if transpose else value  # (n * H, width)
        for k, g in enumerate(gs):
            rows = value[k * H:(k + 1) * H]
            if p.role == "x":
                Wx[g] = Wx[g] + rows
            elif p.role == "h":
                Wh[g] = Wh[g] + rows
            else:
                first, second = (rows[:, :I], rows[:, I:]) if cand.cat == "xh" else (rows[:, H:], rows[:, :H])
                Wx[g], Wh[g] = Wx[g] + first, Wh[g] + second
    return {g: (Wx[g], Wh[g], b[g]) for g in gates}, set(gates) - biased


# =============================================================================== the equations


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


_ACT = {"sigmoid": sigmoid, "tanh": np.tanh, "identity": lambda a: a, "relu": lambda a: np.maximum(a, 0)}


def _pre(blocks: dict, g: str, x, h):
    Wx, Wh, b = blocks[g]
    return x @ np.asarray(Wx, np.float64).T + h @ np.asarray(Wh, np.float64).T + np.asarray(b, np.float64)


def step(kind: str, blocks: dict, x, h, c=None, variant: dict | None = None) -> tuple[tuple, dict]:
    """One step of the reference cell in float64: (outputs, gate values). outputs: (h,) for
    rnn and gru, (h, c) for lstm. `variant` describes a known mistake (see MISTAKES):
    act {gate: activation}, and for the GRU relabel (h = z h_prev + (1 - z) h~), no_reset,
    reset_after (r * (W_h h_prev)); for the LSTM h_from_c_prev, no_tanh_c, no_forget."""
    v = variant or {}
    act = {g: _ACT[v.get("act", {}).get(g, ACTIVATION.get(g, "sigmoid"))] for g in GATES[kind]}
    x, h = np.asarray(x, np.float64), np.asarray(h, np.float64)
    if kind == "rnn":
        new = act["h"](_pre(blocks, "h", x, h))
        return (new,), {"h": new}
    if kind == "lstm":
        c = np.asarray(c, np.float64)
        gv = {g: act[g](_pre(blocks, g, x, h)) for g in ("i", "f", "g", "o")}
        c_new = (c if v.get("no_forget") else gv["f"] * c) + gv["i"] * gv["g"]
        squash = (lambda a: a) if v.get("no_tanh_c") else np.tanh
        h_new = gv["o"] * squash(c if v.get("h_from_c_prev") else c_new)
        return (h_new, c_new), gv
    z = act["z"](_pre(blocks, "z", x, h))
    r = act["r"](_pre(blocks, "r", x, h))
    Wx, Wh, b = (np.asarray(a, np.float64) for a in blocks["n"])
    if v.get("no_reset"):
        n = act["n"](x @ Wx.T + h @ Wh.T + b)
    elif v.get("reset_after"):
        n = act["n"](x @ Wx.T + r * (h @ Wh.T) + b)
    else:
        n = act["n"](x @ Wx.T + (r * h) @ Wh.T + b)
    new = z * h + (1 - z) * n if v.get("relabel") else (1 - z) * h + z * n
    return (new,), {"z": z, "r": r, "n": n}


def sequence(kind: str, blocks: dict, xs, h0, c0=None) -> tuple[np.ndarray, ...]:
    """The reference cell over xs (T, B, I): the states after every step, each (T, B, H) float32."""
    h, c = h0, c0
    hs, cs = [], []
    for x in xs:
        out, _ = step(kind, blocks, x, h, c)
        h = out[0]
        hs.append(h)
        if kind == "lstm":
            c = out[1]
            cs.append(c)
    stacked = (np.stack(hs).astype(np.float32),)
    return stacked + ((np.stack(cs).astype(np.float32),) if kind == "lstm" else ())


def draw_blocks(rng: np.random.Generator, kind: str, I: int, H: int, scale: float = 0.6) -> dict:
    """The grader's per-gate weights: gate -> (Wx (H, I), Wh (H, H), b (H,)), float32. Scale 0.6:
    gates spread over (0.2, 0.8), far from saturation, so every gate matters."""
    return {g: (rng.normal(0, scale, (H, I)).astype(np.float32), rng.normal(0, scale, (H, H)).astype(np.float32),
                rng.normal(0, scale, (H,)).astype(np.float32)) for g in GATES[kind]}


def without_bias(blocks: dict, gates: set) -> dict:
    return {g: (w, u, np.zeros_like(b) if g in gates else b) for g, (w, u, b) in blocks.items()}


def saturated_candidate(blocks: dict) -> dict:
    """The LSTM candidate's weights zeroed and its bias +20: c~ = tanh(20) = 1, so the part of
    c_t that does not depend on c_prev is i_t itself (isolates the input gate)."""
    Wx, Wh, b = blocks["g"]
    return dict(blocks, g=(np.zeros_like(Wx), np.zeros_like(Wh), np.full_like(b, 20.0)))


# =============================================================================== match (grader's reading)

# Known mistakes per kind: (gate it concerns, variant of `step`, what to tell the student).
MISTAKES = {
    "rnn": [
        ("h", {"act": {"h": "sigmoid"}}, "sigmoid instead of tanh on the new hidden state"),
        ("h", {"act": {"h": "identity"}}, "no tanh around W_h h_prev + W_x x + b"),
        ("h", {"act": {"h": "relu"}}, "relu instead of tanh on the new hidden state"),
    ],
    "lstm": [
        ("f", {"act": {"f": "tanh"}}, "tanh instead of sigmoid on the forget gate"),
        ("i", {"act": {"i": "tanh"}}, "tanh instead of sigmoid on the input gate"),
        ("o", {"act": {"o": "tanh"}}, "tanh instead of sigmoid on the output gate"),
        ("g", {"act": {"g": "sigmoid"}}, "sigmoid instead of tanh on the candidate cell c~"),
        ("o", {"h_from_c_prev": True}, "h = o * tanh(C_prev): the new hidden state must use the NEW cell state C"),
        ("o", {"no_tanh_c": True}, "h = o * C: tanh is missing on the cell state (h = o * tanh(C))"),
        ("f", {"no_forget": True}, "C = C_prev + i * c~: the forget gate does not multiply C_prev"),
    ],
    "gru": [
        ("z", {"act": {"z": "tanh"}}, "tanh instead of sigmoid on the update gate z"),
        ("r", {"act": {"r": "tanh"}}, "tanh instead of sigmoid on the reset gate r"),
        ("n", {"act": {"n": "sigmoid"}}, "sigmoid instead of tanh on the candidate h~"),
        ("r", {"no_reset": True}, "the reset gate is not used: h~ = tanh(W [r * h_prev, x]) multiplies h_prev by r "
                                  "before the weights"),
        ("r", {"reset_after": True}, "r multiplies W_h h_prev (PyTorch's nn.GRU) instead of h_prev before the "
                                     "weights: the seed's h~ = tanh(W [r * h_prev, x])"),
    ],
}


@dataclass
class Match:
    """What match() found. ok: some reading reproduces the outputs; then candidate (and
    relabel for a GRU written z h_prev + (1 - z) h~). Otherwise mistake (gate, text) when a
    known mistake reproduces them under some reading, and closest (largest difference of the
    best reading)."""

    ok: bool
    candidate: Candidate | None = None
    relabel: bool = False
    no_bias: set = field(default_factory=set)
    mistake: tuple | None = None
    closest: float = float("inf")
    tried: int = 0

    def words(self, layout: Layout) -> str:
        if self.candidate is None:
            return ""
        bits = [layout.words()]
        if self.candidate.label:
            bits.append(self.candidate.label)
        return "; ".join(bits) + (" (z relabelled: h = z h_prev + (1 - z) h~)" if self.relabel else "")


def _err(observed: tuple, ref: tuple) -> float:
    worst = 0.0
    for o, r in zip(observed, ref):
        o = np.asarray(o, np.float64)
        if o.shape != r.shape or not np.all(np.isfinite(o)):
            return float("inf")
        worst = max(worst, float(np.max(np.abs(o - r))) if o.size else 0.0)
    return worst


def match(layout: Layout, values: dict, x, h, c, observed: tuple, *, I: int, H: int,
          atol: float = 1e-4, max_candidates: int = 2400) -> Match:
    """Every candidate reading of `values` (the grader's arrays, loaded into the student's
    parameters, name -> array) against `observed` (the cell's raw outputs on x, h, c: (h,) or
    (h, c)). The first reading within atol is the layout; else the known mistakes."""
    kind = layout.kind
    readings = []
    for cand in layout.candidates()[:max_candidates]:
        blocks, no_bias = read(layout.pieces, cand, values, I, H, layout.gates)
        readings.append((cand, blocks, no_bias))
    relabels = (False, True) if kind == "gru" else (False,)
    best = float("inf")
    for cand, blocks, no_bias in readings:
        for relabel in relabels:
            ref, _ = step(kind, blocks, x, h, c, {"relabel": relabel})
            err = _err(observed, ref)
            best = min(best, err)
            if err <= atol:
                return Match(True, cand, relabel, no_bias, closest=err, tried=len(readings))
    for gate, variant, text in MISTAKES[kind]:
        for cand, blocks, no_bias in readings:
            for relabel in relabels:
                ref, _ = step(kind, blocks, x, h, c, dict(variant, relabel=relabel))
                if _err(observed, ref) <= atol:
                    return Match(False, cand, relabel, no_bias, mistake=(gate, text), closest=best,
                                 tried=len(readings))
    return Match(False, closest=best, tried=len(readings))


# =============================================================================== LSTM, gate by gate


@dataclass
class Verdict:
    """What the reference comparison found for one LSTM candidate."""

    gates: dict  # gate -> (ok, detail)
    steps_ok: int  # leading time steps where h and c match
    matches: int  # matching elements over the whole sequence
    first: str | None  # description of the first divergence
    error: str | None


def _close(a, b, rtol, atol) -> np.ndarray:
    return np.isclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol, atol=atol)


def lstm_reference(blocks: dict, no_bias: set, xs, h0, c0, x1, h1, c_prev) -> dict:
    """The reference values judge_lstm compares with: the sequence from (h0, c0) and the gate
    values of one step on (x1, h1), the biases of `no_bias` left out."""
    b = without_bias(blocks, no_bias)
    seq_h, seq_c = sequence("lstm", b, xs, h0, c0)
    _, gates = step("lstm", b, x1, h1, np.zeros_like(h1))
    return {"seq_h": seq_h, "seq_c": seq_c, "gates": {g: v.astype(np.float32) for g, v in gates.items()},
            "c_prev": c_prev}


def judge_lstm(k: int, out: dict, ref: dict, tol: dict, sat_possible: bool) -> Verdict:
    """Candidate k's raw outputs (out: a_c/b_c/a_h at c_prev = ref["c_prev"][0]/[1], sa_c/sb_c
    with the candidate saturated, seq_h/seq_c over the sequence, (K, T, B, H) each; errors[k])
    judged gate by gate: the forget gate is the slope of c_t in c_prev, i * c~ the intercept,
    the input gate the intercept with c~ held at 1, o = h_t / tanh(c_t)."""
    rtol, atol, gate_atol = tol["rtol"], tol["atol"], tol["gate_atol"]
    gates_all = GATES["lstm"]
    if out["errors"][k]:
        return Verdict({g: (False, out["errors"][k]) for g in gates_all}, 0, 0, out["errors"][k], out["errors"][k])
    x_c = ref["c_prev"]
    ca, cb = out["a_c"][k, 0], out["b_c"][k, 0]
    ha = out["a_h"][k, 0]
    gv = ref["gates"]
    slope = (ca - cb) / (x_c[0] - x_c[1])
    intercept = ca - slope * x_c[0]
    gates = {}
    ok_f = _close(slope, gv["f"], 0, gate_atol)
    gates["f"] = (bool(ok_f.all()), f"slope of c_t in c_prev {fmt(slope)}, expected f_t = {fmt(gv['f'])}")
    ig = gv["i"] * gv["g"]
    ok_ig = bool(_close(intercept, ig, 0, gate_atol).all())
    if sat_possible:
        sa, sb = out["sa_c"][k, 0], out["sb_c"][k, 0]
        s_slope = (sa - sb) / (x_c[0] - x_c[1])
        s_int = sa - s_slope * x_c[0]
        ok_i = bool(_close(s_int, gv["i"], 0, gate_atol).all())
        gates["i"] = (ok_i, f"with c~ held at 1: c_t - f_t c_prev = {fmt(s_int)}, expected i_t = {fmt(gv['i'])}")
        gates["g"] = (ok_i and ok_ig, f"c_t - f_t c_prev = {fmt(intercept)}, expected i_t * c~_t = {fmt(ig)}"
                      + ("" if ok_i else " (not separable from the input gate, which differs)"))
    else:
        text = f"c_t - f_t c_prev = {fmt(intercept)}, expected i_t * c~_t = {fmt(ig)} (no bias on c~: " \
               f"the input gate and the candidate are checked together)"
        gates["i"] = gates["g"] = (ok_ig, text)
    want_h = gv["o"] * np.tanh(ca.astype(np.float64))
    gates["o"] = (bool(_close(ha, want_h, 0, gate_atol).all()),
                  f"h_t {fmt(ha)}, expected o_t * tanh(c_t) = {fmt(want_h.astype(np.float32))}")
    hs, cs = out["seq_h"][k], out["seq_c"][k]
    steps_ok, first = 0, None
    for t in range(hs.shape[0]):
        ok_h = _close(hs[t], ref["seq_h"][t], rtol, atol)
        ok_c = _close(cs[t], ref["seq_c"][t], rtol, atol)
        if ok_h.all() and ok_c.all():
            steps_ok += 1
            continue
        parts = []
        for nm, ok, got, want in (("c_t", ok_c, cs[t], ref["seq_c"][t]), ("h_t", ok_h, hs[t], ref["seq_h"][t])):
            if not ok.all():
                parts.append(f"{nm} differs by up to {np.nanmax(np.abs(got - want)) if np.isfinite(got).any() else float('nan'):.3g}")
            else:
                parts.append(f"{nm} matches")
        first = f"time step {t + 1} of {hs.shape[0]}: " + ", ".join(parts)
        break
    matches = int(_close(hs, ref["seq_h"], rtol, atol).sum() + _close(cs, ref["seq_c"], rtol, atol).sum())
    return Verdict(gates, steps_ok, matches, first, None)


def search_lstm(layout: Layout, candidates: list[Candidate], blocks: dict, inputs: dict, tol: dict,
                run_sets, *, max_candidates: int = 2400) -> tuple[frozenset, Candidate, Verdict]:
    """Lays `blocks` into the student's parameters by every candidate and has the child run
    them: run_sets(sets, sequences) -> raw outputs (the pack's probe). Returns the candidate
    that explains the cell best (all steps equal, then most gates right, then longest
    matching prefix), with its verdict and the gates it leaves without a bias. inputs: xs,
    h0, c0 (the sequence), x1 (1, B, I), h1, ca, cb (one step at two values of c_prev)."""
    candidates = candidates[:max_candidates]
    T = inputs["xs"].shape[0]
    full_sets, sat_sets, missing = [], [], []
    for cand in candidates:
        full, no_bias = assemble(layout.pieces, cand, blocks)
        sat, _ = assemble(layout.pieces, cand, saturated_candidate(without_bias(blocks, no_bias)))
        full_sets.append(full)
        sat_sets.append(sat)
        missing.append(frozenset(no_bias))

    def stack(sets):
        return {n: np.stack([s[n] for s in sets]) for n in sets[0]}

    i = inputs
    sequences = {"seq": ["full", i["xs"], i["h0"], i["c0"]], "a": ["full", i["x1"], i["h1"], i["ca"]],
                 "b": ["full", i["x1"], i["h1"], i["cb"]], "sa": ["sat", i["x1"], i["h1"], i["ca"]],
                 "sb": ["sat", i["x1"], i["h1"], i["cb"]]}
    out = run_sets({"full": stack(full_sets), "sat": stack(sat_sets)}, sequences)
    refs: dict = {}
    best = None
    for k, cand in enumerate(candidates):
        if missing[k] not in refs:
            refs[missing[k]] = lstm_reference(blocks, set(missing[k]), i["xs"], i["h0"], i["c0"],
                                              i["x1"][0], i["h1"], (i["ca"], i["cb"]))
        verdict = judge_lstm(k, out, refs[missing[k]], tol, "g" not in missing[k])
        key = (verdict.steps_ok == T, sum(ok for ok, _ in verdict.gates.values()), verdict.steps_ok,
               verdict.matches, -k)
        if best is None or key > best[0]:
            best = (key, k, verdict)
    _, k, verdict = best
    return missing[k], candidates[k], verdict


def staged_search_lstm(layout: Layout, blocks: dict, inputs: dict, tol: dict, run_sets, *,
                       max_candidates: int = 2400) -> tuple[frozenset, Candidate, Verdict]:
    """search_lstm over every candidate, in two stages when some choices only move biases
    (the gate of each b_* vector beside a fused weight, say): the weights' placement is found
    with every bias zero first, 48 + 24 runs instead of 48 x 24."""
    perm_b, order_b = layout.perm_is_bias_only, layout.order_is_bias_only
    if not (perm_b or order_b):
        candidates = layout.candidates()
    else:
        stage = layout.candidates(perms=layout.perms[:1] if perm_b else None,
                                  orders=layout.orders[:1] if order_b else None)
        _, best, _ = search_lstm(layout, stage, without_bias(blocks, set(GATES["lstm"])), inputs, tol, run_sets,
                                 max_candidates=max_candidates)
        perms = layout.perms if perm_b or not layout.groups else \
            [tuple(best.singles[gr[0].name] for gr in layout.groups)]
        orders = layout.orders if order_b else [best.order]
        candidates = [c for c in layout.candidates(perms=perms, orders=orders)
                      if c.cat == best.cat and c.square_t == best.square_t]
    return search_lstm(layout, candidates, blocks, inputs, tol, run_sets, max_candidates=max_candidates)


def lstm_gate_hint(g: str, verdict: Verdict) -> str:
    """What to look at when LSTM gate g differs (judge_lstm)."""
    if verdict.error:
        return "the cell raised with these weights loaded: " + verdict.error
    act = ACTIVATION.get(g, "sigmoid")
    return {
        "f": "f_t must be sigmoid(W_f h_prev + U_f x + b_f) and multiply c_prev: check its activation, "
             "its weights (x vs h_prev, transposed?) and that c_prev (not c~) is what it multiplies",
        "i": "i_t must be sigmoid(W_i h_prev + U_i x + b_i) and multiply c~: check its activation and weights",
        "g": "c~_t must be tanh(W_c h_prev + U_c x + b_c): check its activation (tanh, not sigmoid) and weights",
        "o": "o_t must be sigmoid(W_o h_prev + U_o x + b_o) and h_t = o_t * tanh(c_t): check the output "
             "gate's activation (sigmoid, not tanh) and that it uses h_prev and x",
    }[g] + f" (expected activation: {act})"


def sequence_hint(verdict: Verdict, wrong: list[str]) -> str:
    """What to look at when the sequence differs (judge_lstm)."""
    if verdict.error:
        return "the cell raised with the reference's weights loaded: " + verdict.error
    if wrong:
        return "fix the gate(s) named above; the sequence then matches step by step"
    if verdict.steps_ok >= 1:
        return ("one step matches but later ones do not: is h_prev (not h_t of the previous call) fed "
                "back, or is some state kept inside the cell between calls?")
    return "compare each line of forward with the six equations of the handout"
