"""assignment7: the evidence shown beside the five manual report sections, and checks on the
report as a whole. Every conclusion is computed here, in the grader process, from raw values
the child returned on inputs (and weights) the grader chose."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from grader import cells
from grader.checks import Check, StudentRaised, evidence, exception_text, fmt, item

I, H = 5, 4  # sizes chosen so that every Linear's role can be told from its shape (I, H, I + H)
CLASSES = {"rnn": "VanillaRNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}
EXP1 = ("VanillaRNNCell", "LSTMCell", "GRUCell", "CustomRNN")
BANNED = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
MAX_CHARS = 7500
REPORT_SECTIONS = 5


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
        return evidence(check, False, expected=f"a class {name}", observed="not defined in the notebook",
                            hint=f"define {name}(input_size, hidden_size) with that exact name")
    run = ctx.run("main")
    try:
        info = run.probe(cells.CHILD + f"cell = {name}({I}, {H})\nparams = cell_parameters(cell)", want=["params"])
    except StudentRaised as exc:
        return evidence(check, False, expected=f"{name}({I}, {H}) builds", observed=exception_text(exc))
    params = [(str(n), tuple(int(d) for d in s)) for n, s in info.get("params") or []]
    if not params:
        return evidence(check, False, expected="the cell's weights (nn.Linear layers or parameters)",
                            observed=f"{name}({I}, {H}) has no parameters", hint="the cell is not written yet?")
    layout = cells.recognise(params, I, H, kind)
    if isinstance(layout, str):
        ctx.local.setdefault("unjudged", set()).add(check)  # the grader's limit: no cap from it
        return evidence(check, False, expected="the cell's weights as the seed's gates (nn.Linear or nn.Parameter)",
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
        return evidence(check, False, expected=f"{name}.forward runs on a batch of {N}", observed=exception_text(exc))
    observed = (got.get("a"),) if kind != "lstm" else (got.get("a"), got.get("b2"))
    if any(o is None or np.shape(o) != (N, H) for o in observed):
        return evidence(check, False, expected=f"{'(h, c), each' if kind == 'lstm' else 'h of shape'} ({N}, {H})",
                            observed=f"shapes {[None if o is None else np.shape(o) for o in observed]}")
    found = cells.match(layout, {n: v for (n, _), v in zip(params, values)}, x, h, c, observed, I=I, H=H)
    if found.ok:
        return evidence(check, True, expected="the seed's equations", observed=f"matched with {found.words(layout)}")
    if found.mistake is not None:
        gate, text = found.mistake
        return evidence(check, False, expected=cells.SUMMARY[kind],
                            observed=f"your outputs are the seed's equations with one change, in the "
                                     f"{cells.GATE_NAME[gate]} ({cells.EQUATION[kind][gate]}): {text} "
                                     f"(read as {found.words(layout)})",
                            hint=f"likely mistake: {text}")
    return evidence(check, False, expected=cells.SUMMARY[kind],
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
        return [evidence(name, False, expected="a class CustomRNN", observed="not defined in the notebook")]
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
            checks.append(evidence(f"{name} ({cell_type})", False, expected="forward(x_seq, lengths) runs",
                                       observed=exception_text(exc)))
            continue
        last, allh, alone = got.get("last"), got.get("allh"), got.get("alone") or []
        if last is None or np.shape(last) != (B, Hh) or allh is None or np.shape(allh) != (B, L, Hh):
            checks.append(evidence(f"{name} ({cell_type})", False,
                                       expected=f"(all_hiddens ({B}, {L}, {Hh}), last_hiddens ({B}, {Hh}))",
                                       observed=f"shapes {np.shape(allh) if allh is not None else None}, "
                                                f"{np.shape(last) if last is not None else None}"))
            continue
        want = np.stack([np.asarray(a[1]).reshape(-1) if a and a[1] is not None else np.full(Hh, np.nan)
                         for a in alone])
        if np.allclose(last, want, atol=1e-5):
            checks.append(evidence(f"{name} ({cell_type})", True, observed="equal for lengths " + str(LENGTHS)))
            continue
        hint = "take the hidden state at lengths - 1: all_hiddens[torch.arange(B), lengths - 1, :]"
        if np.allclose(last, allh[:, -1, :], atol=1e-6):
            hint = ("last_hiddens is all_hiddens[:, -1, :], the last time step, which has read the padding "
                    "of every shorter sequence; " + hint)
        checks.append(evidence(f"{name} ({cell_type})", False, expected=fmt(want), observed=fmt(last), hint=hint))
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
        return checks + [evidence(name2, False, expected="CustomRNN(..., 'lstm', num_layers=2) runs",
                                      observed=exception_text(exc))]
    if got.get("n_cells") != 2:
        return checks + [evidence(name2, False, expected="two LSTMCell modules inside", observed=f"{got.get('n_cells')}",
                                      hint="keep one cell per layer in an nn.ModuleList so both are trained")]
    top, chained = got.get("top"), got.get("chained")
    if top is not None and chained is not None and np.shape(top) == np.shape(chained) and np.allclose(top, chained, atol=1e-5):
        return checks + [evidence(name2, True, observed="top layer equals layer 2 run on layer 1's hiddens")]
    return checks + [evidence(name2, False, expected="layer 2 run on all of layer 1's hidden states",
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
        return [evidence(name, False, expected="hand-made cells only", observed="; ".join(found[:4]),
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
        return [evidence(name, False, expected="hand-made cells only", observed=f"CustomRNN builds {sorted(set(layers))}",
                             hint="Experiment 1 asks for the cells written from nn.Linear, tanh and sigmoid")]
    return [evidence(name, True, observed="none found in the Experiment-1 classes or what CustomRNN builds")]


def _collate_checks(ctx) -> list[Check]:
    name = "collate_fn pads with PAD = 0"
    run = ctx.run("main")
    seqs = [np.array([5, 6, 7, 8], np.int64), np.array([9, 3], np.int64), np.array([4, 4, 4], np.int64)]
    try:
        got = run.probe("pad = PAD if 'PAD' in dir() else None\n"
                        "out = collate_fn([(torch.tensor(s), k) for k, s in enumerate(seqs)])\n"
                        "parts = probes.flat(out)", bind={"seqs": seqs}, want=["pad", "parts"])
    except StudentRaised as exc:
        return [evidence(name, False, expected="collate_fn([(sequence, label), ...]) runs", observed=exception_text(exc))]
    checks = []
    pad = got.get("pad")
    checks.append(evidence("PAD = 0", True, observed=f"PAD = {pad}") if pad == 0 else
                  evidence("PAD = 0", False, expected="PAD = 0", observed=f"PAD = {pad!r}",
                               hint="the seed maps <PAD> to index 0; define PAD = 0 at the top level"))
    want = np.zeros((3, 4), np.int64)
    for k, s in enumerate(seqs):
        want[k, :len(s)] = s
    for part in got.get("parts") or []:
        a = np.asarray(part)
        if a.shape == (3, 4) and np.array_equal(a, want) or a.shape == (4, 3) and np.array_equal(a, want.T):
            checks.append(evidence(name, True, observed=f"padded to {a.shape} with 0"))
            return checks
    shapes = [np.shape(p) for p in got.get("parts") or []]
    checks.append(evidence(name, False, expected=fmt(want), observed=f"tensors of shapes {shapes}",
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
        return [evidence("report.md", False, expected="a Markdown report (.md) beside the notebook",
                             observed="no .md file in the submission")]
    n = len(doc["sections"])
    checks = [evidence("report.md", True, observed=doc["path"].name)]
    titles = [s["title"] for s in doc["sections"]]
    checks.append(evidence("exactly five sections", True, observed=f"{n}: {titles}") if n == REPORT_SECTIONS and doc["titles"] <= 1
                  else evidence("exactly five sections", False, expected="five `##` sections (one `#` title above them allowed)",
                                    observed=f"{n} `##` sections {titles}, {doc['titles']} `#` title line(s)",
                                    hint="one `## Section k: ...` header per section of the seed, nothing else at that level"))
    length = len(doc["text"])
    checks.append(evidence("at most 7,500 characters", True, observed=f"{length:,}") if length <= MAX_CHARS
                  else evidence("at most 7,500 characters", False, expected=f"<= {MAX_CHARS:,}", observed=f"{length:,}",
                                    hint=f"shorten the report by {length - MAX_CHARS:,} characters"))
    checks.append(evidence("no images", True, observed="none") if not doc["images"]
                  else evidence("no images", False, expected="text and tables only", observed="; ".join(doc["images"][:3]),
                                    hint="the seed asks for no images: describe the plot in words or a table"))
    return checks


def _section(ctx, k: int) -> tuple[dict | None, Check]:
    doc = report(ctx)
    sections = doc["sections"]
    if len(sections) >= k:
        s = sections[k - 1]
        ctx.set_answer(f"## {s['title']}\n\n{s['text']}")
        return s, evidence(f"section {k} exists", True, observed=f"`## {s['title']}`: {s['text'][:200]}")
    ctx.propose_level_cap(1)
    return None, evidence(f"section {k} exists", False, expected=f"a `##` header for section {k}",
                              observed=f"{len(sections)} `##` section(s)" if doc["text"] is not None else "no report",
                              hint="a missing section is level 1 (Missing) in the seed's rubric")


MODELS = (("vanilla", "rnn"), ("lstm",), ("gru",), ("deep", "2-layer", "2 layer", "stacked", "two-layer"))


def _table_check(section) -> Check:
    name = "section 2 table: four models x parameter count, final training loss, test accuracy"
    if section is None:
        return evidence(name, False, observed="no section 2")
    toks = section["tokens"]
    rows, row = [], None
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
        return evidence(name, False, expected="a Markdown table", observed="no table in section 2")
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
        return evidence(name, False, expected="4 rows (Vanilla RNN, LSTM, GRU, Deep LSTM) and those 3 columns",
                            observed=f"header {rows[0]}, {len(body)} rows; missing columns {missing}, missing models {absent}",
                            hint="one row per model, columns Parameters | Final training loss | Test accuracy")
    return evidence(name, True, observed=f"header {rows[0]}, rows {[r[0] for r in body]}")


NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?%?"


def saved_outputs(ctx, streams_only: bool = False) -> str | None:
    """The text the notebook was saved with (stream and text/plain outputs): claims, not
    evidence. None when the notebook holds no outputs (not executed before submission).
    `streams_only`: what the cells printed (comparable with a fresh run's stdout)."""
    key = "streams" if streams_only else "outputs"
    if key in ctx.local:
        return ctx.local[key]
    import nbformat

    text = None
    try:
        nb = nbformat.read(str(ctx.unit("main").path), as_version=4)
        parts = []
        for cell in nb.cells:
            for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
                if out.get("output_type") == "stream":
                    parts.append(str(out.get("text", "")))
                elif "data" in out and "text/plain" in out["data"] and not streams_only:
                    parts.append(str(out["data"]["text/plain"]))
        text = "\n".join(parts)[:1 << 20] or None
    except Exception:
        text = None
    ctx.local[key] = text
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
    """Each model row's numbers equal the numbers the notebook printed for that same model
    (the row's parameter count against that model's printed count, and so on), compared at
    the coarser of the two precisions."""
    name = "section 2 table numbers equal the notebook's printed outputs"
    rows = _table_rows(section)
    if len(rows) < 2:
        return evidence(name, False, observed="no table to compare")
    outputs = saved_outputs(ctx)
    if outputs is None:
        return evidence(name, False, expected="the notebook saved with its outputs (run all cells, then save)",
                            observed="the notebook holds no outputs", hint="submit the executed notebook")
    return compare_table(rows, printed_models(outputs), name)


def compare_table(rows: list[list[str]], printed: dict, name: str) -> Check:
    keys = []
    for cell in rows[0][1:]:
        low = cell.lower()
        keys.append("params" if "param" in low else "loss" if "loss" in low else "acc" if "acc" in low else None)
    wrong, compared = [], 0
    for row in rows[1:]:
        model = model_of(row[0]) if row else None
        if model is None:
            continue
        for key, cell in zip(keys, row[1:]):
            shown = _numbers(cell)
            if key is None or not shown:
                continue
            said = printed.get(model, {}).get(key)
            if said is None:
                wrong.append(f"{row[0]}: {cell} (no {key} printed for {model})")
            elif not (_agrees(shown[0], [said]) or len(shown) > 1 and _agrees(shown[1], [said])):
                wrong.append(f"{row[0]}: {cell}, printed {said[0]:g}")
            else:
                compared += 1
    if wrong:
        return evidence(name, False, expected="each row's numbers = the numbers the notebook printed for that model",
                            observed="; ".join(wrong[:6]),
                            hint="copy the parameter counts, losses and accuracies from the notebook's last run, "
                                 "row by row")
    return evidence(name, True, observed=f"{compared} numbers, each equal to its model's printed value")


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
    return checks + [table] + ([claims] if claims else []) + code + _s2_outputs(ctx, section)


def _s2_outputs(ctx, section) -> list[Check]:
    """Experiment 1's required outputs: claims from the saved notebook; with --execute, the
    grader's count of the models the notebook ran and the fresh run's numbers."""
    printed = _accuracies_check(ctx)
    plot = _plot_check(ctx)
    out = [printed, plot]
    if not executing(ctx):
        ctx.note("definitions only: the saved outputs are claims; `--execute` also runs the whole notebook and "
                 "checks the parameter counts, the loss plot's curves, the PAD-ignoring loss, Task 2.1's input "
                 "and the shifted targets, and which saved numbers a fresh run reproduces")
    plot_judged = plot.passed or not (executing(ctx) and executed(ctx)["problem"])  # a run that could not be observed caps nothing
    if section is not None and saved_outputs(ctx) is not None and not (printed.passed and plot_judged):
        ctx.propose_level_cap(3)  # the required outputs are not all there
    if executing(ctx):
        counts = _param_count_check(ctx)
        if section is not None and not counts.passed and not executed(ctx)["problem"]:
            ctx.propose_level_cap(2)  # "Values incorrect"
        out += [counts, _fresh_check(ctx, "the fresh run reproduces the saved Experiment 1 numbers",
                                     lambda line: model_of(line) is not None)]
    return out


@item("s3-formatting")
def s3(ctx):
    section, present = _section(ctx, 3)
    code = _collate_checks(ctx)
    if executing(ctx):
        code.append(_pad_loss_check(ctx))
        if executed(ctx)["problem"] and not code[-1].passed:
            ctx.local.setdefault("unjudged", set()).add(code[-1].name)
    unjudged = ctx.local.get("unjudged", set())
    if section is not None and not all(c.passed or c.name in unjudged for c in code):
        ctx.propose_level_cap(3)
    return [present] + code


@item("s4-paradigms")
def s4(ctx):
    section, present = _section(ctx, 4)
    claims = _exp2_claims(ctx)
    if section is not None and saved_outputs(ctx) is not None and not all(c.passed for c in claims):
        ctx.propose_level_cap(3)  # the required Experiment 2 outputs are not all there
    observed = []
    if executing(ctx):
        observed = [_first_char_check(ctx), _shift_check(ctx)]
        if section is not None and not executed(ctx)["problem"] and not all(c.passed for c in observed):
            ctx.propose_level_cap(2)  # the paradigm is built wrong
        observed.append(_fresh_check(ctx, "the fresh run reproduces the saved Experiment 2 numbers",
                                     lambda line: model_of(line) is None))
    return [present] + claims + observed


@item("s5-reflection")
def s5(ctx):
    _, present = _section(ctx, 5)
    return [present]


# ------------------------------------------------------------------ --execute: the whole notebook
#
# Why the engine's own cell runner and not nbclient: a Jupyter kernel is a second process that
# talks to its client over ZMQ TCP sockets; the sandbox gives a run no network namespace with
# loopback interfaces it may use (bubblewrap: an empty network namespace; the fallback: seccomp
# refuses non-AF_UNIX sockets), and a kernel would also be one more process outside the probes'
# reach. The child already runs a notebook cell by cell (statement by statement, errors mapped to
# cells, shell lines and magics neutralised, figures collected) and answers probes in the same
# interpreter afterwards, which is what the evidence below needs: the models the notebook built
# and the losses it computed. So --execute is a second run of the same unit with
# definitions_only off, the Gutenberg files placed, and the training watched (probes.watch()).

EBOOKS = {"1041": "sonnets.txt", "1342": "austen.txt", "2147": "poe.txt", "1112": "shakespeare_play.txt"}


def executing(ctx) -> bool:
    return getattr(ctx, "mode", "budget") == "full"


def _wget_targets(ctx) -> dict[str, str]:
    """{file name in the run's folder: data file} for the notebook's `!wget` lines (by eBook
    number in the URL; `-O name` or the URL's last part), plus the seed's four names."""
    import re
    import shlex

    out = {name: name for name in EBOOKS.values()}
    for line in ctx.unit("main").neutralised:
        if "wget" not in line and "curl" not in line:
            continue
        try:
            words = shlex.split(line.lstrip("!"))
        except ValueError:
            continue
        urls = [w for w in words if "://" in w]
        target = None
        for k, w in enumerate(words):
            if w in ("-O", "-o", "--output-document", "--output") and k + 1 < len(words):
                target = words[k + 1]
            elif w.startswith("--output-document="):
                target = w.split("=", 1)[1]
        for url in urls:
            number = next((n for n in EBOOKS if re.search(rf"(?<!\d){n}(?!\d)", url)), None)
            name = target or url.rstrip("/").rsplit("/", 1)[-1]
            if number and re.fullmatch(r"[\w.-]+(/[\w.-]+)*", name or "") and ".." not in name:
                out[name] = EBOOKS[number]
    return out


def executed(ctx) -> dict:
    """The whole notebook run once per submission under --execute (cached): its fresh stdout,
    figures, and the raw recordings of probes.watch(); `problem` says why there is none."""
    if "executed" in ctx.local:
        return ctx.local["executed"]
    from grader import data as data_mod

    done: dict = {"problem": None, "stdout": "", "figures": [], "roots": [], "calls": [], "losses": [],
                  "vocab": None, "error": None}
    ctx.local["executed"] = done
    directory = Path(ctx.data_dir) if ctx.data_dir else data_mod.resolve_data_dir(None)
    files, absent = {}, []
    for name, source in _wget_targets(ctx).items():
        path = directory / "gutenberg" / source
        if path.is_file():
            files[name] = path.read_bytes()
        else:
            absent.append(str(path))
    if absent:
        done["problem"] = (f"could not be graded: the Gutenberg files are missing ({', '.join(sorted(set(absent)))}); "
                           "the TA runs `rnngrade data fetch` (or passes --data-dir) and grades again")
        return done
    run = ctx.run("main", files=files, prelude="probes.watch()", key="execute", definitions_only=False)
    done["stdout"] = run.stdout
    done["error"] = run.error
    try:
        got = run.probe("roots, calls, losses = probes.watched()\n"
                        "vocab = {str(k): int(v) for k, v in char_to_idx.items()} "
                        "if isinstance(globals().get('char_to_idx'), dict) else None",
                        want=["roots", "calls", "losses", "vocab"], timeout=60)
        done.update({k: got.get(k) or ([] if k != "vocab" else None) for k in ("roots", "calls", "losses", "vocab")})
    except StudentRaised as exc:
        done["problem"] = f"the notebook's models could not be read after the run: {exception_text(exc)}"
    except Exception as exc:  # the run is gone (time limit, memory): said as what happened
        done["problem"] = f"the run ended before it could be observed ({type(exc).__name__}: {exc})"
    try:
        done["figures"] = run.figures
    except Exception:
        done["figures"] = []
    return done


def _run_problem(done) -> str | None:
    if done["problem"]:
        return done["problem"]
    if done["error"] is not None:
        e = done["error"]
        return f"the notebook stopped: {e.type}: {e.message}" + (f" at {e.where}" if getattr(e, "where", None) else "")
    return None


# ------------------------------------------------------------------ saved outputs (claims) and fresh ones

import re as _re

_NUM = _re.compile(r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?%?")


def model_of(label: str) -> str | None:
    """Which of Experiment 1's four models a table row or printed line names."""
    low = label.lower()
    if any(d in low for d in MODELS[3]):
        return "Deep LSTM"
    if "lstm" in low:
        return "LSTM"
    if "gru" in low:
        return "GRU"
    if "vanilla" in low or _re.search(r"\brnn\b", low):
        return "Vanilla RNN"
    return None


def _field(line: str, word: str) -> tuple[float, int] | None:
    """The number printed right after `word` (within a few characters: `parameters 7715`,
    `test accuracy: 0.5444`, `accuracy = 54.4%`), or right before it (`7,715 parameters`)."""
    low = line.lower()
    at = low.find(word)
    if at < 0:
        return None
    after = _re.match(r"[a-z ]{0,25}?[:=]?\s*(" + _NUM.pattern + ")", low[at + len(word):])
    raw = after.group(1) if after else None
    if raw is None:
        before = _re.search(r"(" + _NUM.pattern + r")\s*(?:trainable\s+)?$", low[:at])
        raw = before.group(1) if before else None
    if raw is None:
        return None
    return _numbers(raw)[0] if _numbers(raw) else None


def printed_models(text: str | None) -> dict[str, dict[str, tuple[float, int]]]:
    """{model: {"params"|"loss"|"acc": (value, decimals)}} from the lines that name one of the
    four models: each model's own numbers, never a number printed for another model."""
    out: dict[str, dict] = {}
    for line in (text or "").splitlines():
        model = model_of(line.split(":")[0] if ":" in line else line)
        if model is None or model_of(line) != model:
            continue
        got = out.setdefault(model, {})
        for key, word in (("params", "param"), ("loss", "loss"), ("acc", "acc")):
            value = _field(line, word)
            if value is not None and key not in got:
                got[key] = value
    return out


def _saved_images(ctx) -> int:
    import nbformat

    try:
        nb = nbformat.read(str(ctx.unit("main").path), as_version=4)
    except Exception:
        return 0
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if "data" in o and "image/png" in o["data"])


def _template(line: str) -> tuple[str, list[str]]:
    return _NUM.sub("#", line.strip()), _NUM.findall(line)


def _same_number(saved: str, fresh: str) -> bool:
    a, b = _numbers(saved), _numbers(fresh)
    if not a or not b:
        return saved == fresh
    (x, dx), (y, dy) = a[0], b[0]
    if dx == 0 and dy == 0 and "." not in saved:  # counts: exact
        return x == y
    if abs(x) <= 1 and abs(y) <= 1:  # accuracies, losses near 1: training is random
        return abs(x - y) <= 0.05
    return abs(x - y) <= 0.1 * max(abs(x), abs(y))


def fresh_comparison(saved: str | None, fresh: str, keep) -> tuple[list[str], list[str]]:
    """Lines of the saved outputs with numbers (those `keep(line)` selects), each matched with the
    fresh run's line of the same wording (k-th with k-th): (reproduced, not reproduced)."""
    fresh_by: dict[str, list[list[str]]] = {}
    for line in fresh.splitlines():
        t, nums = _template(line)
        if nums:
            fresh_by.setdefault(t, []).append(nums)
    used: dict[str, int] = {}
    same, differ = [], []
    for line in (saved or "").splitlines():
        t, nums = _template(line)
        if not nums or not keep(line):
            continue
        k = used.get(t, 0)
        used[t] = k + 1
        cands = fresh_by.get(t, [])
        if k >= len(cands):
            differ.append(f"`{line.strip()[:100]}`: not printed by the fresh run")
        elif all(_same_number(a, b) for a, b in zip(nums, cands[k])):
            same.append(line.strip())
        else:
            differ.append(f"`{line.strip()[:100]}`: fresh run printed {', '.join(cands[k])}")
    return same, differ


def _fresh_check(ctx, name: str, keep) -> Check | None:
    done = executed(ctx)
    problem = _run_problem(done)
    if done["problem"]:
        return evidence(name, False, expected="the notebook run again in the sandbox", observed=problem)
    same, differ = fresh_comparison(saved_outputs(ctx, streams_only=True), done["stdout"], keep)
    if not same and not differ:
        return evidence(name, False, expected="saved numbers to compare with the fresh run",
                            observed="no such line in the saved outputs" + (f"; {problem}" if problem else ""))
    if differ:
        return evidence(name, False, expected="the saved numbers reproduced (counts exactly; losses and "
                                              "accuracies within 0.05 or 10%: training is random)",
                            observed=f"{len(same)} line(s) reproduced; " + "; ".join(differ[:4])
                                     + (f"; {problem}" if problem else ""),
                            hint="re-run the whole notebook (Runtime > Run all) and save it before submitting")
    return evidence(name, True, observed=f"{len(same)} line(s) reproduced, e.g. `{same[0][:100]}`")


# ------------------------------------------------------------------ evidence from the executed notebook

_CELL_NAMES = {"VanillaRNNCell": "Vanilla RNN", "GRUCell": "GRU"}


def _models_found(roots) -> dict[str, list[tuple[str, int, int]]]:
    """{model: [(class, all parameters, trainable parameters)]} for the student-defined models
    the notebook called, told apart by the cells inside them; counts by the grader from the
    parameter shapes the child returned."""
    out: dict[str, list] = {}
    for root in roots or []:
        if not isinstance(root, dict):
            continue
        cells = [c for c in root.get("cells") or [] if c in CLASSES.values()]
        if not cells or len(set(cells)) != 1:
            continue
        kind = cells[0]
        model = ("Deep LSTM" if len(cells) == 2 else "LSTM") if kind == "LSTMCell" else _CELL_NAMES[kind]
        if kind != "LSTMCell" and len(cells) != 1 or len(cells) > 2:
            continue
        total = trainable = 0
        for shape, grad in root.get("params") or []:
            n = int(np.prod([int(d) for d in shape])) if shape else 1
            total += n
            trainable += n if grad else 0
        out.setdefault(model, []).append((str(root.get("cls")), total, trainable))
    return out


def _param_count_check(ctx) -> Check:
    name = "parameter counts in the saved outputs equal the grader's count of your four models"
    done = executed(ctx)
    if done["problem"]:
        return evidence(name, False, expected="the notebook run again in the sandbox", observed=done["problem"])
    found = _models_found(done["roots"])
    printed = printed_models(saved_outputs(ctx))
    wrong, shown = [], []
    for model in ("Vanilla RNN", "LSTM", "GRU", "Deep LSTM"):
        counts = {n for _, t, g in found.get(model, []) for n in (t, g)}
        said = printed.get(model, {}).get("params")
        if not found.get(model):
            wrong.append(f"{model}: no model with {'two LSTMCells' if model == 'Deep LSTM' else 'this cell'} was run")
        elif said is None:
            wrong.append(f"{model}: no parameter count printed (the grader counts {sorted(counts)})")
        elif said[0] not in counts:
            wrong.append(f"{model}: printed {int(said[0]):,}, the grader counts {', '.join(f'{c:,}' for c in sorted(counts))}")
        else:
            shown.append(f"{model} {int(said[0]):,}")
    if wrong:
        return evidence(name, False, expected="each printed count = the sum of numel over the model's parameters",
                            observed="; ".join(wrong), hint="print sum(p.numel() for p in model.parameters()) "
                                                            "for each trained model")
    return evidence(name, True, observed="; ".join(shown))


def _plot_check(ctx) -> Check:
    name = "one loss plot with four curves"
    if executing(ctx):
        done = executed(ctx)
        if done["problem"]:
            return evidence(name, False, expected="the notebook run again in the sandbox", observed=done["problem"])
        lines = [int(a.get("n_lines", 0)) for f in done["figures"] for a in f.get("axes", [])]
        if any(n == 4 for n in lines):
            return evidence(name, True, observed=f"an axes with 4 curves (figures drawn: {len(done['figures'])})")
        return evidence(name, False, expected="one axes overlaying the four training-loss curves",
                            observed=f"curves per axes: {lines or 'no figure drawn'}",
                            hint="plot the four models' loss lists on the same axes, with a legend")
    images = _saved_images(ctx)
    if images:
        return evidence(name, True, observed=f"{images} image(s) in the saved outputs (curves are counted with --execute)")
    return evidence(name, False, expected="the loss plot in the saved notebook",
                        observed="no image in the saved outputs", hint="run the plotting cell, then save the notebook")


def _accuracies_check(ctx) -> Check:
    name = "saved outputs: parameter count and test accuracy of each of the four models"
    printed = printed_models(saved_outputs(ctx))
    missing = [f"{m} ({', '.join(k for k in ('params', 'acc') if k not in printed.get(m, {}))})"
               for m in ("Vanilla RNN", "LSTM", "GRU", "Deep LSTM")
               if not all(k in printed.get(m, {}) for k in ("params", "acc"))]
    if missing:
        return evidence(name, False, expected="a printed line per model with its parameter count and test accuracy",
                            observed="missing: " + "; ".join(missing),
                            hint="print e.g. `LSTM: parameters 7715, test accuracy 0.5444` for each model")
    return evidence(name, True, observed="; ".join(f"{m} {int(v['params'][0]):,} / {v['acc'][0]:g}" for m, v in printed.items()))


def _ce_losses(entry) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-position losses (float64, the grader's arithmetic) and flat targets of one recorded call."""
    x, t = entry.get("input"), entry.get("target")
    if x is None or t is None:
        return None
    x, t = np.asarray(x, np.float64), np.asarray(t).astype(np.int64)
    if x.ndim == 3:  # (B, C, L) as cross_entropy takes it
        x = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])
    x, t = x.reshape(-1, x.shape[-1]), t.reshape(-1)
    if len(t) != len(x) or (t >= x.shape[1]).any():
        return None
    safe = np.clip(t, 0, x.shape[1] - 1)
    if entry.get("kind") == "nll":
        per = -x[np.arange(len(t)), safe]
    else:
        m = x.max(axis=1, keepdims=True)
        per = (np.log(np.exp(x - m).sum(axis=1)) + m[:, 0]) - x[np.arange(len(t)), safe]
    return per, t


def _pad_loss_check(ctx) -> Check:
    name = "the many-to-many loss ignores PAD"
    done = executed(ctx)
    if done["problem"]:
        return evidence(name, False, expected="the notebook run again in the sandbox", observed=done["problem"])
    seen = []
    for entry in done["losses"] or []:
        got = _ce_losses(entry)
        value = entry.get("value")
        if got is None or value is None:
            continue
        per, t = got
        pad = t == 0
        if not pad.any():
            seen.append("clean")
            continue
        v = np.asarray(value, np.float64).reshape(-1)
        if v.size == 1:
            masked, every = per[~pad].mean() if (~pad).any() else 0.0, per.mean()
            if abs(v[0] - masked) <= 1e-3 * max(1.0, abs(masked)):
                seen.append("ignored")
            elif abs(v[0] - every) <= 1e-3 * max(1.0, abs(every)):
                seen.append(f"counted: loss {v[0]:.4f} = the mean over all {len(t)} positions, "
                            f"{int(pad.sum())} of them PAD (without them: {masked:.4f})")
            else:
                seen.append("unknown")
        elif v.size == len(t):
            seen.append("ignored" if np.allclose(v[pad], 0) else "per-position")
    if not seen:
        return evidence(name, False, expected="a vocabulary-sized cross-entropy (Task 2.3 or 2.4) during the run",
                            observed="none observed", hint="compute the loss with nn.CrossEntropyLoss / "
                                                           "F.cross_entropy over (Batch * Seq_Len, Vocab) logits")
    counted = [s for s in seen if s.startswith("counted")]
    if counted:
        return evidence(name, False, expected="padding positions add nothing (ignore_index=PAD, or a mask)",
                            observed=counted[0], hint="nn.CrossEntropyLoss(ignore_index=PAD)")
    if "ignored" in seen:
        return evidence(name, True, observed="the loss equals the grader's mean over the non-PAD positions")
    if all(s == "clean" for s in seen):
        return evidence(name, True, observed="no PAD target reached the loss (masked before it, or unpadded chunks)")
    return evidence(name, False, expected="the loss equal to the mean over non-PAD positions",
                        observed="per-position losses or a loss the grader could not reproduce; left to the TA",
                        hint="nn.CrossEntropyLoss(ignore_index=PAD) makes this visible")


def _first_char_check(ctx) -> Check:
    name = "Task 2.1 input is (B, 1): the first real character of each sentence"
    done = executed(ctx)
    if done["problem"]:
        return evidence(name, False, expected="the notebook run again in the sandbox", observed=done["problem"])
    vocab = done["vocab"] or {}
    special = {vocab.get(k) for k in ("<PAD>", "<SOS>", "<EOS>", "PAD", "SOS", "EOS") if k in vocab} | {0}
    sos = next((vocab[k] for k in ("<SOS>", "SOS") if k in vocab), None)
    chars = {v: k for k, v in vocab.items()}
    for root, shapes, out_shape, column in done["calls"] or []:
        if column is None or out_shape is None or len(out_shape) != 2 or out_shape[1] != 3:
            continue
        col = np.asarray(column).reshape(-1)
        if len(col) < 2:
            continue
        if sos is not None and (col == sos).all():
            return evidence(name, False, expected="the first real character of each sentence",
                                observed=f"a ({len(col)}, 1) input holding <SOS> for every sentence",
                                hint="slice x[:, :1] of the sentence itself, not the <SOS> in front of it")
        if any(int(v) in special for v in col):
            return evidence(name, False, expected="characters, no special tokens",
                                observed=f"({len(col)}, 1) input with special tokens {sorted({int(v) for v in col} & special)}")
        sample = "".join(chars.get(int(v), "?") for v in col[:12])
        return evidence(name, True, observed=f"({len(col)}, 1) -> (B, 3); first characters `{sample}`")
    return evidence(name, False, expected="a model of yours called on a (B, 1) input, returning (B, 3) logits",
                        observed="none observed", hint="Task 2.1 feeds x[:, :1] to its classifier")


def _shift_check(ctx) -> Check:
    name = "language-model targets are the inputs shifted by one"
    done = executed(ctx)
    if done["problem"]:
        return evidence(name, False, expected="the notebook run again in the sandbox", observed=done["problem"])
    vocab = done["vocab"] or {}
    verdicts = []
    for entry in done["losses"] or []:
        t = entry.get("target")
        if t is None:
            continue
        t = np.asarray(t).reshape(-1)
        for x in entry.get("inputs") or []:
            x = np.asarray(x)
            if x.ndim != 2 or x.size != t.size or x.shape[1] < 3:
                continue
            T = t.reshape(x.shape)
            real = T[:, :-1] != 0
            if not real.any():
                continue
            shifted = float((x[:, 1:] == T[:, :-1])[real].mean())
            same = float((x == T)[T != 0].mean())
            verdicts.append((shifted, same, x.shape))
    if not verdicts:
        return evidence(name, False, expected="a sequence model trained on (inputs, targets) of the same shape",
                            observed="no vocabulary-sized loss with a matching (Batch, Seq_Len) input observed")
    best = max(verdicts)
    if best[0] >= 0.99:
        sos = next((vocab[k] for k in ("<SOS>", "SOS") if k in vocab), None)
        return evidence(name, True, observed=f"targets[:, t] = inputs[:, t + 1] on {best[2]}"
                                           + (" (inputs start with <SOS>)" if sos is not None else ""))
    if max(v[1] for v in verdicts) >= 0.99:
        return evidence(name, False, expected="targets = inputs shifted one step into the future",
                            observed="the targets equal the inputs (the model learns to copy)",
                            hint="inputs [<SOS>] + chunk, targets chunk + [<EOS>]")
    return evidence(name, False, expected="targets = inputs shifted one step into the future",
                        observed=f"only {best[0]:.0%} of the positions agree with a shift by one",
                        hint="inputs [<SOS>] + chunk, targets chunk + [<EOS>]")


def _exp2_claims(ctx) -> list[Check]:
    """Experiment 2's required outputs, read from the saved notebook (claims)."""
    text = saved_outputs(ctx) or ""
    lines = text.splitlines()
    checks = []
    accs = {}
    for task, names in (("2.1", ("2.1", "one-to-one", "one to one")), ("2.2", ("2.2", "many-to-one", "many to one"))):
        for line in lines:
            if any(n in line.lower() for n in names) and "acc" in line.lower():
                value = _field(line, "acc")
                if value is not None:
                    accs[task] = value
                    break
    name = "saved outputs: Task 2.1 and Task 2.2 accuracies"
    checks.append(evidence(name, True, observed=", ".join(f"{k}: {v[0]:g}" for k, v in accs.items())) if len(accs) == 2
                  else evidence(name, False, expected="a printed accuracy for Task 2.1 and for Task 2.2",
                                    observed=f"found {sorted(accs) or 'none'}",
                                    hint="print e.g. `Task 2.1 test accuracy: 0.45`"))
    name = "saved outputs: two Shakespeare and two Poe sentences (Task 2.3)"
    found = {a: [l.split(":", 1)[1].strip() for l in lines if a.lower() in l.lower().split(":", 1)[0]
                 and ":" in l and l.split(":", 1)[1].strip()] for a in ("Shakespeare", "Poe")}
    counts = {a: len(v) for a, v in found.items()}
    checks.append(evidence(name, True, observed=f"Shakespeare: `{found['Shakespeare'][0][:60]}`; Poe: `{found['Poe'][0][:60]}`")
                  if all(n >= 2 for n in counts.values()) else
                  evidence(name, False, expected="two lines `Shakespeare: ...` and two `Poe: ...`",
                               observed=f"{counts}", hint="label each generated sentence with its author"))
    name = "saved outputs: a sample of at least 150 characters starting \"The summer\" (Task 2.4)"
    at = text.find("The summer")
    # the sample may hold line breaks (the sonnets do): it runs to a blank line or the end of its output
    sample = text[at:].split("\n\n")[0].rstrip() if at >= 0 else ""
    checks.append(evidence(name, True, observed=f"{len(sample)} characters: `{sample[:60]}...`") if len(sample) >= 150 else
                  evidence(name, False, expected="`The summer` followed by generated text, >= 150 characters",
                               observed=f"{len(sample)} characters" if at >= 0 else "no `The summer` in the outputs",
                               hint="seed the language model with \"The summer\" and generate 150 characters"))
    return checks
