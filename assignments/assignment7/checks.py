"""assignment7: the evidence shown beside the five manual report sections, and checks on the
report as a whole. Every conclusion is computed here, in the grader process, from raw values
the child returned on inputs (and weights) the grader chose."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from grader import cells
from grader.checks import Check, StudentRaised, fmt, item

I, H = 5, 4  # sizes chosen so that every Linear's role can be told from its shape (I, H, I + H)
CLASSES = {"rnn": "VanillaRNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}
EXP1 = ("VanillaRNNCell", "LSTMCell", "GRUCell", "CustomRNN")
BANNED = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
MAX_CHARS = 7500
REPORT_SECTIONS = 5


def _raised(exc: StudentRaised) -> str:
    err = exc.error
    where = f" at {err.where}" if err.where else ""
    return f"your code raised {err.type}: {err.message}{where}"


def _defined(ctx, name: str) -> bool:
    """The name exists in the notebook's namespace after its definitions ran (a class statement,
    an alias, an import: whatever the notebook did)."""
    return name in ctx.run("main").defined


# ------------------------------------------------------------------ cells, layout-agnostic


def _cell_check(ctx, kind: str) -> Check:
    """The seed's cell equations, whatever the layout: the grader's values go into every
    parameter, the cell runs once on the grader's inputs, and grader/cells.py finds the reading
    of the values (gate order, [h, x] or [x, h], fused or separate, transposed) that reproduces
    the raw outputs, or the known mistake that does."""
    name = CLASSES[kind]
    check = f"{name} equals the seed's equations under the grader's weights"
    if not _defined(ctx, name):
        return Check.failed(check, 0, expected=f"a class {name}", observed="not defined in the notebook",
                            hint=f"define {name}(input_size, hidden_size) with that exact name")
    run = ctx.run("main")
    try:
        info = run.probe(cells.CHILD + f"cell = {name}({I}, {H})\nparams = cell_parameters(cell)", want=["params"])
    except StudentRaised as exc:
        return Check.failed(check, 0, expected=f"{name}({I}, {H}) builds", observed=_raised(exc))
    params = [(str(n), tuple(int(d) for d in s)) for n, s in info.get("params") or []]
    if not params:
        return Check.failed(check, 0, expected="the cell's weights (nn.Linear layers or parameters)",
                            observed=f"{name}({I}, {H}) has no parameters", hint="the cell is not written yet?")
    layout = cells.recognise(params, I, H, kind)
    if isinstance(layout, str):
        ctx.local.setdefault("unjudged", set()).add(check)  # the grader's limit: no cap from it
        return Check.failed(check, 0, expected="the cell's weights as the seed's gates (nn.Linear or nn.Parameter)",
                            observed=f"layout not recognised ({layout}); parameters {[(n, s) for n, s in params]}",
                            hint="the grader cannot read these parameters as the seed's gates; this cell is left to "
                                 "the TA (no level cap from it)")
    rng = ctx.rng
    N = 6
    x = rng.standard_normal((N, I)).astype(np.float32)
    h = rng.uniform(-0.9, 0.9, (N, H)).astype(np.float32)
    c = rng.standard_normal((N, H)).astype(np.float32)
    values = [rng.uniform(-0.6, 0.6, s).astype(np.float32) if len(s) == 2 else
              rng.uniform(-0.3, 0.3, s).astype(np.float32) for _, s in params]
    call = "out = cell(x, (h, c))" if kind == "lstm" else "out = cell(x, h)"
    try:
        got = run.probe(cells.CHILD + f"cell = {name}({I}, {H})\nload_parameters(cell, P)\n"
                        f"with torch.no_grad():\n    {call}\na, b2 = probes.pair(out)",
                        bind={"P": values, "x": ctx.tensor(x), "h": ctx.tensor(h), "c": ctx.tensor(c)},
                        want=["a", "b2"])
    except StudentRaised as exc:
        return Check.failed(check, 0, expected=f"{name}.forward runs on a batch of {N}", observed=_raised(exc))
    observed = (got.get("a"),) if kind != "lstm" else (got.get("a"), got.get("b2"))
    if any(o is None or np.shape(o) != (N, H) for o in observed):
        return Check.failed(check, 0, expected=f"{'(h, c), each' if kind == 'lstm' else 'h of shape'} ({N}, {H})",
                            observed=f"shapes {[None if o is None else np.shape(o) for o in observed]}")
    found = cells.match(layout, {n: v for (n, _), v in zip(params, values)}, x, h, c, observed, I=I, H=H)
    if found.ok:
        return Check.ok(check, 0, expected="the seed's equations", observed=f"matched with {found.words(layout)}")
    if found.mistake is not None:
        gate, text = found.mistake
        return Check.failed(check, 0, expected=cells.SUMMARY[kind],
                            observed=f"your outputs are the seed's equations with one change, in the "
                                     f"{cells.GATE_NAME[gate]} ({cells.EQUATION[kind][gate]}): {text} "
                                     f"(read as {found.words(layout)})",
                            hint=f"likely mistake: {text}")
    return Check.failed(check, 0, expected=cells.SUMMARY[kind],
                        observed=("no reading of your weights as the seed's gates reproduces your outputs"
                                  + (f" (closest: max difference {found.closest:.3g}; layout {layout.words()})"
                                     if np.isfinite(found.closest) else "")),
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
