"""assignment7: the evidence shown beside the five manual report sections, and checks on the
report as a whole. Every conclusion is computed here, in the grader process, from raw values
the child returned on inputs (and weights) the grader chose."""
from __future__ import annotations

import ast
import itertools
from pathlib import Path

import numpy as np

from grader.checks import Check, StudentRaised, fmt, item

I, H = 5, 4  # sizes chosen so that every Linear's role can be told from its shape (I, H, I + H)
GATES = {"rnn": ("h~",), "lstm": ("f", "i", "g", "o"), "gru": ("z", "r", "n")}
CLASSES = {"rnn": "VanillaRNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}
EXP1 = ("VanillaRNNCell", "LSTMCell", "GRUCell", "CustomRNN")
BANNED = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
MAX_CHARS = 7500
REPORT_SECTIONS = 5


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _raised(exc: StudentRaised) -> str:
    err = exc.error
    where = f" at {err.where}" if err.where else ""
    return f"your code raised {err.type}: {err.message}{where}"


def _defined(ctx, name: str) -> bool:
    """The name exists in the notebook's namespace after its definitions ran (a class statement,
    an alias, an import: whatever the notebook did)."""
    return name in ctx.run("main").defined


# ------------------------------------------------------------------ cells, layout-agnostic


def _chunks(linears, order: str):
    """Every H-row block of every Linear with the input it reads: 'x', 'h' or 'cat' (the
    concatenation in `order`). None when a Linear's shape fits no role."""
    out = []
    for index, (_, (rows, cols), _) in enumerate(linears):
        if rows % H:
            return None
        role = {I: "x", H: "h", I + H: "cat"}.get(cols)
        if role is None:
            return None
        out += [(index, k, role) for k in range(rows // H)]
    return out


def _pre(chunk, weights, biases, x, h, order):
    index, k, role = chunk
    W = weights[index][k * H:(k + 1) * H]
    b = biases[index][k * H:(k + 1) * H] if biases[index] is not None else 0.0
    inp = {"x": x, "h": h, "cat": np.concatenate([h, x] if order == "hx" else [x, h], axis=1)}[role]
    return inp @ W.T + b


def _gru_n(chunks, weights, biases, x, h, r, order):
    """The GRU candidate's pre-activation with the reset applied to h_prev before the weights."""
    return sum(_pre(c, weights, biases, x, r * h, order) for c in chunks)


def _candidates(kind: str, linears):
    """(description, assignment) for every way to read the Linears as the seed's gates:
    one [h, x] (or [x, h]) block per gate, or one x block plus one h block per gate."""
    gates = GATES[kind]
    for order in ("hx", "xh"):
        chunks = _chunks(linears, order)
        if chunks is None:
            return
        cats = [c for c in chunks if c[2] == "cat"]
        xs = [c for c in chunks if c[2] == "x"]
        hs = [c for c in chunks if c[2] == "h"]
        if len(cats) == len(gates) and not xs and not hs:
            for perm in itertools.permutations(cats):
                yield order, {g: [c] for g, c in zip(gates, perm)}
        elif len(xs) == len(gates) and len(hs) == len(gates) and not cats:
            if order == "xh":
                return  # no concatenation: the order does not matter
            for px in itertools.permutations(xs):
                for ph in itertools.permutations(hs):
                    yield order, {g: [a, b] for g, a, b in zip(gates, px, ph)}
        else:
            return


def _reference(kind, assign, order, weights, biases, x, h, c, relabel=False):
    pre = {g: sum(_pre(ch, weights, biases, x, h, order) for ch in chunks)
           for g, chunks in assign.items() if g != "n"}
    if kind == "rnn":
        return (np.tanh(pre["h~"]),)
    if kind == "lstm":
        c_new = _sig(pre["f"]) * c + _sig(pre["i"]) * np.tanh(pre["g"])
        return _sig(pre["o"]) * np.tanh(c_new), c_new
    z, r = _sig(pre["z"]), _sig(pre["r"])
    n = np.tanh(_gru_n(assign["n"], weights, biases, x, h, r, order))
    return ((z * h + (1 - z) * n) if relabel else ((1 - z) * h + z * n),)


def _raw_readings(params, raw):
    """Raw nn.Parameter cells: every way to read the 2-D parameters as (out, in) weights
    (`x @ W` or `W @ x`: transposed when the shape allows both) with each 1-D parameter added to
    the bias of the nearest weight registered before it (else after it) of its size.
    Yields (linears, weights, biases) in the form the Linear path uses."""
    w_idx = [k for k, (_, s) in enumerate(params) if len(s) == 2]
    b_idx = [k for k, (_, s) in enumerate(params) if len(s) == 1]
    if not w_idx or len(w_idx) + len(b_idx) != len(params):
        return
    options = []
    for k in w_idx:
        a, b = params[k][1]
        opts = [o for o, ok in (("n", a % H == 0 and b in (I, H, I + H)), ("t", b % H == 0 and a in (I, H, I + H))) if ok]
        if not opts:
            return
        options.append(opts)
    for combo in itertools.product(*options):
        weights = [raw[k] if o == "n" else raw[k].T for k, o in zip(w_idx, combo)]
        biases = [np.zeros(w.shape[0], np.float32) for w in weights]
        ok = True
        for k in b_idx:
            size = params[k][1][0]
            before = [j for j, wk in enumerate(w_idx) if wk < k and weights[j].shape[0] == size]
            after = [j for j, wk in enumerate(w_idx) if wk > k and weights[j].shape[0] == size]
            target = before[-1] if before else (after[0] if after else None)
            if target is None:
                ok = False
                break
            biases[target] = biases[target] + raw[k]
        if ok:
            yield [(params[k][0], w.shape, True) for k, w in zip(w_idx, weights)], weights, biases


def _match(kind, readings, x, h, c, observed):
    """(words, None) for the first reading and gate assignment that reproduces `observed`,
    else (None, closest max difference)."""
    best = np.inf
    for linears, weights, biases in readings:
        for order, assign in _candidates(kind, linears):
            for relabel in ((False, True) if kind == "gru" else (False,)):
                ref = _reference(kind, assign, order, weights, biases, x, h, c, relabel)
                err = max(float(np.max(np.abs(np.asarray(o, np.float64) - r))) for o, r in zip(observed, ref))
                best = min(best, err)
                if err < 1e-4:
                    words = ", ".join(f"{g} <- {'+'.join(linears[ch[0]][0] + (f'[{ch[1]}]' if linears[ch[0]][1][0] > H else '') for ch in chs)}"
                                      for g, chs in assign.items())
                    return words + (" (z relabelled)" if relabel else ""), best
    return None, best


def _cell_check(ctx, kind: str) -> Check:
    name = CLASSES[kind]
    check = f"{name} equals the seed's equations under the grader's weights"
    if not _defined(ctx, name):
        return Check.failed(check, 0, expected=f"a class {name}", observed="not defined in the notebook",
                            hint=f"define {name}(input_size, hidden_size) with that exact name")
    run = ctx.run("main")
    try:
        info = run.probe(f"cell = {name}({I}, {H})\nlin, others = probes.linears(cell)", want=["lin", "others"])
    except StudentRaised as exc:
        return Check.failed(check, 0, expected=f"{name}({I}, {H}) builds", observed=_raised(exc))
    linears = [(str(n), (int(s[0]), int(s[1])), bool(b)) for n, s, b in info.get("lin") or []]
    others = [(str(n), tuple(int(d) for d in s)) for n, s in info.get("others") or []]
    if not linears and not others:
        return Check.failed(check, 0, expected="the cell's weights (nn.Linear layers or parameters)",
                            observed=f"{name}({I}, {H}) has no parameters", hint="the cell is not written yet?")
    rng = ctx.rng
    N = 6
    x = rng.standard_normal((N, I)).astype(np.float32)
    h = rng.uniform(-0.9, 0.9, (N, H)).astype(np.float32)
    c = rng.standard_normal((N, H)).astype(np.float32)
    call = "out = cell(x, (h, c))" if kind == "lstm" else "out = cell(x, h)"
    if linears and not others:
        weights = [rng.uniform(-0.6, 0.6, shape).astype(np.float32) for _, shape, _ in linears]
        biases = [rng.uniform(-0.3, 0.3, shape[0]).astype(np.float32) if b else None for _, shape, b in linears]
        setter, bind = "probes.set_linears(cell, W, b)", {"W": weights, "b": biases}
        readings = [(linears, weights, biases)]
    elif others and not linears:
        raw = [rng.uniform(-0.6, 0.6, s).astype(np.float32) if len(s) == 2 else
               rng.uniform(-0.3, 0.3, s).astype(np.float32) for _, s in others]
        setter, bind = "probes.set_params(cell, P)", {"P": raw}
        readings = _raw_readings(others, raw)
    else:
        readings = None
    if readings is None:
        ctx.local.setdefault("unjudged", set()).add(check)  # the grader's limit: no cap from it
        return Check.failed(check, 0, expected="the cell's weights in nn.Linear layers or in nn.Parameters",
                            observed=f"Linear layers {[n for n, _, _ in linears]}, other parameters {others}",
                            hint="the grader cannot read this mix of layers and parameters; this cell is left to "
                                 "the TA (no level cap from it)")
    try:
        got = run.probe(f"cell = {name}({I}, {H})\n{setter}\n"
                        f"with torch.no_grad():\n    {call}\na, b2 = probes.pair(out)",
                        bind={**bind, "x": ctx.tensor(x), "h": ctx.tensor(h), "c": ctx.tensor(c)}, want=["a", "b2"])
    except StudentRaised as exc:
        return Check.failed(check, 0, expected=f"{name}.forward runs on a batch of {N}", observed=_raised(exc))
    observed = (got.get("a"),) if kind != "lstm" else (got.get("a"), got.get("b2"))
    if any(o is None or np.shape(o) != (N, H) for o in observed):
        return Check.failed(check, 0, expected=f"{'(h, c), each' if kind == 'lstm' else 'h of shape'} ({N}, {H})",
                            observed=f"shapes {[None if o is None else np.shape(o) for o in observed]}")
    words, best = _match(kind, readings, x, h, c, observed)
    if words is not None:
        return Check.ok(check, 0, expected="the seed's equations", observed=f"matched with {words}")
    hint = {"rnn": "h = tanh(W_h h_prev + W_x x + b)",
            "lstm": "f, i, o = sigmoid(W [h_prev, x] + b); C = f * C_prev + i * tanh(W_c [h_prev, x] + b_c); h = o * tanh(C)",
            "gru": "z, r = sigmoid(W [h_prev, x] + b); h~ = tanh(W [r * h_prev, x]); h = (1 - z) h_prev + z h~"}[kind]
    return Check.failed(check, 0, expected=hint,
                        observed=("no reading of your weights as the seed's gates reproduces your outputs"
                                  + (f" (closest: max difference {best:.3g})" if np.isfinite(best) else
                                     f"; layers {[(n, s) for n, s, _ in linears] or others} do not fit the gates")),
                        hint="compare each gate with the equation above: activation, which state is gated, and "
                             "which of h_prev and x each weight multiplies")


# ------------------------------------------------------------------ CustomRNN

LENGTHS = [7, 4, 2, 6]


def _custom_rnn_checks(ctx) -> list[Check]:
    name = "CustomRNN: last_hiddens of a padded batch equal each sequence run alone"
    if not _defined(ctx, "CustomRNN"):
        return [Check.failed(name, 0, expected="a class CustomRNN", observed="not defined in the notebook")]
    run = ctx.run("main")
    rng = ctx.rng
    E, Hh, B, L = 3, 4, len(LENGTHS), max(LENGTHS)
    x = rng.standard_normal((B, L, E)).astype(np.float32)  # padding positions hold values too
    checks = []
    for cell_type in ("rnn", "lstm", "gru"):
        code = (f"torch.manual_seed(0)\nm = CustomRNN({E}, {Hh}, '{cell_type}')\nm.eval()\n"
                "with torch.no_grad():\n"
                "    allh, last = probes.pair(m(x, lengths))\n"
                "    alone = [probes.pair(m(x[k:k + 1, :int(lengths[k])], lengths[k:k + 1])) for k in range(len(lengths))]\n")
        try:
            got = run.probe(code, bind={"x": ctx.tensor(x), "lengths": ctx.tensor(np.array(LENGTHS, np.int64))},
                            want=["allh", "last", "alone"])
        except StudentRaised as exc:
            checks.append(Check.failed(f"{name} ({cell_type})", 0, expected="forward(x_seq, lengths) runs",
                                       observed=_raised(exc)))
            continue
        last, allh, alone = got.get("last"), got.get("allh"), got.get("alone") or []
        if last is None or np.shape(last) != (B, Hh) or allh is None or np.shape(allh) != (B, L, Hh):
            checks.append(Check.failed(f"{name} ({cell_type})", 0,
                                       expected=f"(all_hiddens ({B}, {L}, {Hh}), last_hiddens ({B}, {Hh}))",
                                       observed=f"shapes {np.shape(allh) if allh is not None else None}, "
                                                f"{np.shape(last) if last is not None else None}"))
            continue
        want = np.stack([np.asarray(a[1]).reshape(-1) if a and a[1] is not None else np.full(Hh, np.nan)
                         for a in alone])
        if np.allclose(last, want, atol=1e-5):
            checks.append(Check.ok(f"{name} ({cell_type})", 0, observed="equal for lengths " + str(LENGTHS)))
            continue
        hint = "take the hidden state at lengths - 1: all_hiddens[torch.arange(B), lengths - 1, :]"
        if np.allclose(last, allh[:, -1, :], atol=1e-6):
            hint = ("last_hiddens is all_hiddens[:, -1, :], the last time step, which has read the padding "
                    "of every shorter sequence; " + hint)
        checks.append(Check.failed(f"{name} ({cell_type})", 0, expected=fmt(want), observed=fmt(last), hint=hint))
    # num_layers=2: the two cells found inside, each run as a 1-layer CustomRNN, chained
    code = (f"torch.manual_seed(0)\nm2 = CustomRNN({E}, {Hh}, 'lstm', num_layers=2)\nm2.eval()\n"
            "cells = [s for _, s in m2.named_modules() if type(s).__name__ == 'LSTMCell']\n"
            "n_cells = len(cells)\n"
            "if n_cells == 2:\n"
            f"    a = CustomRNN({E}, {Hh}, 'lstm')\n    b = CustomRNN({Hh}, {Hh}, 'lstm')\n"
            "    ca = [s for _, s in a.named_modules() if type(s).__name__ == 'LSTMCell'][0]\n"
            "    cb = [s for _, s in b.named_modules() if type(s).__name__ == 'LSTMCell'][0]\n"
            "    ca.load_state_dict(cells[0].state_dict()); cb.load_state_dict(cells[1].state_dict())\n"
            "    with torch.no_grad():\n"
            "        top, _ = probes.pair(m2(x, lengths))\n"
            "        mid, _ = probes.pair(a(x, lengths))\n"
            "        chained, _ = probes.pair(b(torch.tensor(mid), lengths))\n")
    name2 = "CustomRNN(num_layers=2) feeds layer-1 hiddens to layer 2"
    try:
        got = run.probe(code, bind={"x": ctx.tensor(x), "lengths": ctx.tensor(np.array(LENGTHS, np.int64))},
                        want=["n_cells", "top", "chained"])
    except StudentRaised as exc:
        return checks + [Check.failed(name2, 0, expected="CustomRNN(..., 'lstm', num_layers=2) runs",
                                      observed=_raised(exc))]
    if got.get("n_cells") != 2:
        return checks + [Check.failed(name2, 0, expected="two LSTMCell modules inside", observed=f"{got.get('n_cells')}",
                                      hint="keep one cell per layer in an nn.ModuleList so both are trained")]
    top, chained = got.get("top"), got.get("chained")
    if top is not None and chained is not None and np.shape(top) == np.shape(chained) and np.allclose(top, chained, atol=1e-5):
        return checks + [Check.ok(name2, 0, observed="top layer equals layer 2 run on layer 1's hiddens")]
    return checks + [Check.failed(name2, 0, expected="layer 2 run on all of layer 1's hidden states",
                                  observed="the 2-layer output differs",
                                  hint="stack layer 1's hidden state of every time step into (B, L, H) and feed it to layer 2")]


def _ban_checks(ctx) -> list[Check]:
    name = "Experiment 1 builds its RNNs without nn.RNN/LSTM/GRU (or their cells)"
    tree = ctx.tree("main")
    unit = ctx.unit("main")
    found = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name in EXP1) if tree else ():
        for node in ast.walk(cls):
            if isinstance(node, ast.Attribute) and node.attr in BANNED and isinstance(node.value, (ast.Name, ast.Attribute)):
                found.append(f"{cls.name}: `{unit.line(node.lineno)}` ({unit.where(node.lineno)})")
    if found:
        return [Check.failed(name, 0, expected="hand-made cells only", observed="; ".join(found[:4]),
                             hint="Experiment 1 asks for the cells written from nn.Linear, tanh and sigmoid; "
                                  "nn.LSTM/nn.GRU belong to Experiment 2")]
    run = ctx.run("main")
    try:
        got = run.probe("found = []\nfor k in ('rnn', 'lstm', 'gru'):\n    found += probes.library_layers(CustomRNN(3, 4, k))",
                        want=["found"])
    except StudentRaised:
        got = {}
    layers = got.get("found") or []
    if layers:
        return [Check.failed(name, 0, expected="hand-made cells only", observed=f"CustomRNN builds {sorted(set(layers))}",
                             hint="Experiment 1 asks for the cells written from nn.Linear, tanh and sigmoid")]
    return [Check.ok(name, 0, observed="none found in the Experiment-1 classes or what CustomRNN builds")]


def _collate_checks(ctx) -> list[Check]:
    name = "collate_fn pads with PAD = 0"
    run = ctx.run("main")
    seqs = [np.array([5, 6, 7, 8], np.int64), np.array([9, 3], np.int64), np.array([4, 4, 4], np.int64)]
    try:
        got = run.probe("pad = PAD if 'PAD' in dir() else None\n"
                        "out = collate_fn([(torch.tensor(s), k) for k, s in enumerate(seqs)])\n"
                        "parts = probes.flat(out)", bind={"seqs": seqs}, want=["pad", "parts"])
    except StudentRaised as exc:
        return [Check.failed(name, 0, expected="collate_fn([(sequence, label), ...]) runs", observed=_raised(exc))]
    checks = []
    pad = got.get("pad")
    checks.append(Check.ok("PAD = 0", 0, observed=f"PAD = {pad}") if pad == 0 else
                  Check.failed("PAD = 0", 0, expected="PAD = 0", observed=f"PAD = {pad!r}",
                               hint="the seed maps <PAD> to index 0; define PAD = 0 at the top level"))
    want = np.zeros((3, 4), np.int64)
    for k, s in enumerate(seqs):
        want[k, :len(s)] = s
    for part in got.get("parts") or []:
        a = np.asarray(part)
        if a.shape == (3, 4) and np.array_equal(a, want) or a.shape == (4, 3) and np.array_equal(a, want.T):
            checks.append(Check.ok(name, 0, observed=f"padded to {a.shape} with 0"))
            return checks
    shapes = [np.shape(p) for p in got.get("parts") or []]
    checks.append(Check.failed(name, 0, expected=fmt(want), observed=f"tensors of shapes {shapes}",
                               hint="pad_sequence(seqs, batch_first=True, padding_value=PAD)"))
    return checks


# ------------------------------------------------------------------ the report


def _report_path(ctx) -> Path | None:
    mds = sorted(p for p in ctx.files if p.suffix.lower() == ".md" and p.is_file() and not p.is_symlink())
    named = [p for p in mds if p.name.lower() == "report.md"]
    return (named or mds or [None])[0]


def report(ctx) -> dict:
    """The report parsed once per submission: text, sections (title, body tokens), images."""
    if "report" in ctx.local:
        return ctx.local["report"]
    from markdown_it import MarkdownIt

    path = _report_path(ctx)
    doc = {"path": path, "text": None, "sections": [], "titles": 0, "images": [], "before": 0}
    if path is not None:
        text = path.read_bytes()[:1 << 20].decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
        doc["text"] = text
        tokens = MarkdownIt("commonmark").enable("table").parse(text)
        current = None
        lines = text.split("\n")
        for k, tok in enumerate(tokens):
            if tok.type == "heading_open":
                title = tokens[k + 1].content
                if tok.tag == "h1" and current is None:
                    doc["titles"] += 1
                elif tok.tag == "h2":
                    current = {"title": title, "tokens": [], "start": tok.map[0] if tok.map else 0}
                    doc["sections"].append(current)
                    continue
                elif tok.tag == "h1":
                    doc["titles"] += 1
            if current is not None:
                current["tokens"].append(tok)
            elif tok.type not in ("heading_open", "heading_close", "inline") or tok.tag not in ("h1", ""):
                if tok.type in ("paragraph_open",):
                    doc["before"] += 1
            for child in tok.children or []:
                if child.type == "image":
                    doc["images"].append(f"![..]({child.attrGet('src')})")
                elif child.type == "html_inline" and "<img" in child.content.lower():
                    doc["images"].append(child.content.strip()[:80])
            if tok.type == "html_block" and "<img" in tok.content.lower():
                doc["images"].append(tok.content.strip()[:80])
        for k, section in enumerate(doc["sections"]):
            end = doc["sections"][k + 1]["start"] if k + 1 < len(doc["sections"]) else len(lines)
            section["text"] = "\n".join(lines[section["start"] + 1:end]).strip()
    ctx.local["report"] = doc
    return doc


@item("report")
def report_checks(ctx):
    doc = report(ctx)
    if doc["text"] is None:
        return [Check.failed("report.md", 0, expected="a Markdown report (.md) beside the notebook",
                             observed="no .md file in the submission")]
    n = len(doc["sections"])
    checks = [Check.ok("report.md", 0, observed=doc["path"].name)]
    titles = [s["title"] for s in doc["sections"]]
    checks.append(Check.ok("exactly five sections", 0, observed=f"{n}: {titles}") if n == REPORT_SECTIONS and doc["titles"] <= 1
                  else Check.failed("exactly five sections", 0, expected="five `##` sections (one `#` title above them allowed)",
                                    observed=f"{n} `##` sections {titles}, {doc['titles']} `#` title line(s)",
                                    hint="one `## Section k: ...` header per section of the seed, nothing else at that level"))
    length = len(doc["text"])
    checks.append(Check.ok("at most 7,500 characters", 0, observed=f"{length:,}") if length <= MAX_CHARS
                  else Check.failed("at most 7,500 characters", 0, expected=f"<= {MAX_CHARS:,}", observed=f"{length:,}",
                                    hint=f"shorten the report by {length - MAX_CHARS:,} characters"))
    checks.append(Check.ok("no images", 0, observed="none") if not doc["images"]
                  else Check.failed("no images", 0, expected="text and tables only", observed="; ".join(doc["images"][:3]),
                                    hint="the seed asks for no images: describe the plot in words or a table"))
    return checks


def _section(ctx, k: int) -> tuple[dict | None, Check]:
    doc = report(ctx)
    sections = doc["sections"]
    if len(sections) >= k:
        s = sections[k - 1]
        ctx.set_answer(f"## {s['title']}\n\n{s['text']}")
        return s, Check.ok(f"section {k} exists", 0, observed=f"`## {s['title']}`: {s['text'][:200]}")
    ctx.propose_level_cap(1)
    return None, Check.failed(f"section {k} exists", 0, expected=f"a `##` header for section {k}",
                              observed=f"{len(sections)} `##` section(s)" if doc["text"] is not None else "no report",
                              hint="a missing section is level 1 (Missing) in the seed's rubric")


MODELS = (("vanilla", "rnn"), ("lstm",), ("gru",), ("deep", "2-layer", "2 layer", "stacked", "two-layer"))


def _table_check(section) -> Check:
    name = "section 2 table: four models x parameter count, final training loss, test accuracy"
    if section is None:
        return Check.failed(name, 0, observed="no section 2")
    toks = section["tokens"]
    rows, row, in_head = [], None, False
    for tok in toks:
        if tok.type == "table_open":
            rows = []
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(tok.content.strip())
        elif tok.type == "tr_close":
            rows.append(row)
            row = None
        elif tok.type == "table_close":
            break
    if not rows:
        return Check.failed(name, 0, expected="a Markdown table", observed="no table in section 2")
    header, body = [c.lower() for c in rows[0]], rows[1:]
    wanted = {"parameter count": "param", "final training loss": "loss", "test accuracy": "acc"}
    missing = [w for w, key in wanted.items() if not any(key in c for c in header)]
    labels = [r[0].lower() if r else "" for r in body]
    models = {"Vanilla RNN": any("vanilla" in l or l.strip() == "rnn" for l in labels),
              "LSTM": any("lstm" in l and not any(d in l for d in MODELS[3]) for l in labels),
              "GRU": any("gru" in l for l in labels),
              "Deep LSTM": any(any(d in l for d in MODELS[3]) for l in labels)}
    absent = [m for m, ok in models.items() if not ok]
    if missing or absent or len(body) != 4:
        return Check.failed(name, 0, expected="4 rows (Vanilla RNN, LSTM, GRU, Deep LSTM) and those 3 columns",
                            observed=f"header {rows[0]}, {len(body)} rows; missing columns {missing}, missing models {absent}",
                            hint="one row per model, columns Parameters | Final training loss | Test accuracy")
    return Check.ok(name, 0, observed=f"header {rows[0]}, rows {[r[0] for r in body]}")


NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?%?"


def saved_outputs(ctx) -> str | None:
    """The text the notebook was saved with (stream and text/plain outputs): claims, not
    evidence. None when the notebook holds no outputs (not executed before submission)."""
    if "outputs" in ctx.local:
        return ctx.local["outputs"]
    import nbformat

    text = None
    try:
        nb = nbformat.read(str(ctx.unit("main").path), as_version=4)
        parts = []
        for cell in nb.cells:
            for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
                if out.get("output_type") == "stream":
                    parts.append(str(out.get("text", "")))
                elif "data" in out and "text/plain" in out["data"]:
                    parts.append(str(out["data"]["text/plain"]))
        text = "\n".join(parts)[:1 << 20] or None
    except Exception:
        text = None
    ctx.local["outputs"] = text
    return text


def _numbers(text: str) -> list[tuple[float, int]]:
    """(value, decimals) of every number in `text`; 1,234 -> 1234; 54.4% -> 0.544 as well."""
    import re

    out = []
    for raw in re.findall(NUMBER, text):
        clean = raw.replace(",", "").rstrip("%")
        try:
            value = float(clean)
        except ValueError:
            continue
        decimals = len(clean.split(".")[1]) if "." in clean else 0
        out.append((value, decimals))
        if raw.endswith("%"):
            out.append((value / 100, decimals + 2))
    return out


def _agrees(shown: tuple[float, int], printed: list[tuple[float, int]]) -> bool:
    """A table value agrees with a printed one when they are equal at the coarser precision."""
    value, decimals = shown
    for p, pd in printed:
        d = min(decimals, pd)
        if abs(round(value, d) - round(p, d)) <= 0.5 * 10 ** -d + 1e-12:
            return True
    return False


def _table_rows(section) -> list[list[str]]:
    rows, row = [], None
    for tok in section["tokens"] if section else ():
        if tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(tok.content.strip())
        elif tok.type == "tr_close":
            rows.append(row)
            row = None
        elif tok.type == "table_close":
            break
    return rows


def _claims_check(ctx, section) -> Check:
    name = "section 2 table numbers equal the notebook's printed outputs"
    rows = _table_rows(section)
    if len(rows) < 2:
        return Check.failed(name, 0, observed="no table to compare")
    outputs = saved_outputs(ctx)
    if outputs is None:
        return Check.failed(name, 0, expected="the notebook saved with its outputs (run all cells, then save)",
                            observed="the notebook holds no outputs", hint="submit the executed notebook")
    printed = _numbers(outputs)
    wrong = []
    for row in rows[1:]:
        for cell in row[1:]:
            for value in _numbers(cell):
                if not _agrees(value, printed):
                    wrong.append(f"{row[0]}: {cell}")
    if wrong:
        return Check.failed(name, 0, expected="every number of the table printed by the notebook",
                            observed="not printed: " + "; ".join(wrong[:6]),
                            hint="copy the parameter counts, losses and accuracies from the notebook's last run")
    return Check.ok(name, 0, observed=f"{sum(len(_numbers(c)) for r in rows[1:] for c in r[1:])} numbers found in the outputs")


@item("s1-summary")
def s1(ctx):
    _, present = _section(ctx, 1)
    return [present]


@item("s2-mechanics")
def s2(ctx):
    section, present = _section(ctx, 2)
    checks = [present]
    code = [_cell_check(ctx, k) for k in ("rnn", "lstm", "gru")] + _custom_rnn_checks(ctx) + _ban_checks(ctx)
    table = _table_check(section)
    claims = _claims_check(ctx, section) if table.passed else None
    if claims is not None and not claims.passed and saved_outputs(ctx) is not None:
        ctx.propose_level_cap(2)  # "Values incorrect"
    unjudged = ctx.local.get("unjudged", set())
    if section is not None and not all(c.passed or c.name in unjudged for c in code):
        ctx.propose_level_cap(2)  # "Values incorrect or analysis is missing"
    if section is not None and not table.passed:
        ctx.propose_level_cap(3)  # levels 4 and 5 need the complete table
    return checks + [table] + ([claims] if claims else []) + code


@item("s3-formatting")
def s3(ctx):
    section, present = _section(ctx, 3)
    code = _collate_checks(ctx)
    if section is not None and not all(c.passed for c in code):
        ctx.propose_level_cap(3)
    return [present] + code


@item("s4-paradigms")
def s4(ctx):
    _, present = _section(ctx, 4)
    return [present]


@item("s5-reflection")
def s5(ctx):
    _, present = _section(ctx, 5)
    return [present]
