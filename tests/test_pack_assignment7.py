"""assignment7: the report parser and the cell-layout search in process (fast), then every
example submission graded end to end: all five items are manual (pending, 0 points); each case's
evidence (failed checks per section, proposed level caps, failed report checks) must be exactly
what its expected.json lists. The notebooks run their definitions only: a few seconds each."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import ROOT, assert_expected, expected_of, grade_examples

PACK = "assignment7"
CASES = sorted(p.name for p in (ROOT / "submissions" / PACK).iterdir() if (p / "expected.json").exists())
torch = pytest.importorskip("torch")
pytest.importorskip("markdown_it")


def _module(name: str, path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


checks = _module("assignment7_checks_under_test", ROOT / "assignments" / PACK / "checks.py")
REPORT = (ROOT / "reference" / "assignment7_report.md").read_text()


def _report(tmp_path: Path, text: str) -> tuple[list, object]:
    path = tmp_path / "report.md"
    path.write_text(text)
    ctx = SimpleNamespace(files=[path], local={}, caps=[], item_id="s2-mechanics")
    ctx.propose_level_cap = ctx.caps.append
    return [c for c in checks.report_checks(ctx) if not c.passed], ctx


def test_reference_report_passes_every_report_check(tmp_path):
    failed, ctx = _report(tmp_path, REPORT)
    assert failed == []
    assert checks._table_check(checks.report(ctx)["sections"][1]).passed


@pytest.mark.parametrize("text, name", [
    (REPORT + "\n## Section 6: Extra\n\ntext\n", "exactly five sections"),
    (REPORT.replace("## Section 5: Reflection", "Section 5: Reflection"), "exactly five sections"),
    (REPORT + "\n" + "x" * 6000, "at most 7,500 characters"),
    (REPORT.replace("## Section 3", '<img src="plot.png">\n\n## Section 3'), "no images"),
    (REPORT.replace("## Section 3", "Loss: ![plot](a.png)\n\n## Section 3"), "no images"),
])
def test_report_mistakes_are_named(tmp_path, text, name):
    failed, _ = _report(tmp_path, text)
    assert [c.name for c in failed] == [name]


def test_an_image_inside_a_code_span_is_not_an_image(tmp_path):
    failed, _ = _report(tmp_path, REPORT.replace("## Section 3", "Write `![x](y.png)` to embed.\n\n## Section 3"))
    assert failed == []


def test_length_counts_unicode_characters_and_crlf_as_one(tmp_path):
    body = REPORT + "é" * (checks.MAX_CHARS - len(REPORT))
    assert _report(tmp_path, body)[0] == []
    path = tmp_path / "r.md"
    path.write_bytes(body.replace("\n", "\r\n").encode("utf-8"))
    ctx = SimpleNamespace(files=[path], local={})
    assert [c for c in checks.report_checks(ctx) if not c.passed] == []
    assert _report(tmp_path, body + "é")[0][0].name == "at most 7,500 characters"


def test_table_with_three_models_is_named(tmp_path):
    text = REPORT.replace("| GRU | 6,147 | 1.0001 | 0.4944 |\n", "")
    _, ctx = _report(tmp_path, text)
    check = checks._table_check(checks.report(ctx)["sections"][1])
    assert not check.passed and "GRU" in check.observed


def test_layout_search_recognises_a_fused_lstm_in_any_gate_order():
    # the pack's sizes, read by the engine's cell module (tests/test_cells.py covers the rest)
    from grader import cells

    I, H = checks.I, checks.H
    rng = np.random.default_rng(0)
    W = rng.uniform(-0.6, 0.6, (4 * H, I + H))
    b = rng.uniform(-0.3, 0.3, 4 * H)
    x, h, c = rng.standard_normal((6, I)), rng.uniform(-0.9, 0.9, (6, H)), rng.standard_normal((6, H))
    pre = np.concatenate([x, h], axis=1) @ W.T + b  # [x, h], gates o, g, i, f
    o, g, i, f = np.split(pre, 4, axis=1)
    c_new = cells.sigmoid(f) * c + cells.sigmoid(i) * np.tanh(g)
    h_new = cells.sigmoid(o) * np.tanh(c_new)
    layout = cells.recognise([("gates.weight", (4 * H, I + H)), ("gates.bias", (4 * H,))], I, H, "lstm")
    values = {"gates.weight": W, "gates.bias": b}
    found = cells.match(layout, values, x, h, c, (h_new, c_new), I=I, H=H)
    assert found.ok and found.candidate.order == ("o", "g", "i", "f") and found.candidate.cat == "xh"
    # a sigmoid where the candidate needs tanh matches no reading, and is named
    wrong = cells.sigmoid(o) * np.tanh(cells.sigmoid(f) * c + cells.sigmoid(i) * cells.sigmoid(g))
    c_wrong = cells.sigmoid(f) * c + cells.sigmoid(i) * cells.sigmoid(g)
    found = cells.match(layout, values, x, h, c, (wrong, c_wrong), I=I, H=H)
    assert not found.ok and found.mistake[0] == "g" and "sigmoid instead of tanh" in found.mistake[1]


# ============================================================================ end to end


@pytest.fixture(scope="module")
def results():
    return grade_examples(PACK, jobs=2, timeout=120)


def test_every_case_has_an_expected_json():
    assert set(CASES) >= {"reference", "handout", "last-hidden-at-minus-one", "nn-lstm-inside-customrnn",
                          "report-over-limit", "report-with-image", "report-table-disagrees"}


@pytest.mark.parametrize("case", CASES)
def test_case_gets_exactly_its_expected_evidence(results, case):
    from grader.cli import evidence_mismatches

    result = results[case]
    assert_expected(PACK, case, result)
    assert all(i.pending and i.points == 0 for i in result.items)
    assert evidence_mismatches(expected_of(PACK, case), result) == {}


def test_off_by_one_is_named_in_the_hint(results):
    item = next(i for i in results["last-hidden-at-minus-one"].items if i.id == "s2-mechanics")
    failed = [c for c in item.checks if not c.passed]
    assert failed and all("all_hiddens[:, -1, :]" in c.hint for c in failed)


def test_ban_names_the_line(results):
    item = next(i for i in results["nn-lstm-inside-customrnn"].items if i.id == "s2-mechanics")
    (ban,) = [c for c in item.checks if not c.passed]
    assert "nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)" in ban.observed
    assert "cell 4" in ban.observed


def test_results_json_carries_checks_level_cap_and_report_checks(results):
    from grader.results_json import to_results_json

    doc = to_results_json(results["last-hidden-at-minus-one"])
    tests = {t["extra_data"]["item"]: t["extra_data"] for t in doc["tests"]}
    assert tests["s2-mechanics"]["level_cap"] == 2 and tests["s1-summary"]["level_cap"] is None
    check = tests["s2-mechanics"]["checks"][0]
    assert set(check) >= {"name", "passed", "expected", "observed", "hint"}
    names = [c["name"] for c in doc["extra_data"]["report_checks"]]
    assert names == ["report.md", "exactly five sections", "at most 7,500 characters", "no images"]
    doc = to_results_json(results["report-with-image"])
    assert [c["passed"] for c in doc["extra_data"]["report_checks"]] == [True, True, True, False]


def test_stored_result_round_trips_the_evidence(results):
    from grader import manual
    from grader.packs import load_pack
    from grader.store import result_from_doc, result_to_doc

    result = results["last-hidden-at-minus-one"]
    back = result_from_doc(result_to_doc(result))
    assert back.report_checks == result.report_checks
    applied = manual.apply(back, load_pack(PACK).spec, {"s2-mechanics": {"points": 8.0}})
    s2 = next(i for i in applied.items if i.id == "s2-mechanics")
    assert s2.points == 8.0 and s2.level_cap == 2 and s2.checks == next(
        i for i in result.items if i.id == "s2-mechanics").checks


def test_table_numbers_are_compared_at_the_shown_precision():
    printed = checks._numbers("LSTM: parameters 7715, final training loss 0.9999, test accuracy 0.5444")
    assert checks._agrees((7715.0, 0), printed) and not checks._agrees((7427.0, 0), printed)
    assert checks._agrees((0.54, 2), printed) and not checks._agrees((0.55, 2), printed)
    assert checks._numbers("54.4%")[-1] == (0.544, 3)


def test_ta_levels_give_level_over_five_times_twenty_and_keep_the_evidence(tmp_path):
    from conftest import pool_for
    from grader.grade import grade_batch

    csv = tmp_path / "ta.csv"
    csv.write_text("student,s1-summary level,s2-mechanics level,s3-formatting,s4-paradigms level,s5-reflection level\n"
                   "last-hidden-at-minus-one,5,2,12,Good,Poor\n")
    batch = grade_batch(pack_id=PACK, paths=[ROOT / "submissions" / PACK / "last-hidden-at-minus-one"],
                        manual=csv, seed=1234, pool=pool_for(["numpy", "torch"], 1))
    (result,) = batch.results
    points = {i.id: i.points for i in result.items}
    assert points == {"s1-summary": 20, "s2-mechanics": 8, "s3-formatting": 12, "s4-paradigms": 16,
                      "s5-reflection": 4}
    assert result.score == 60
    s2 = next(i for i in result.items if i.id == "s2-mechanics")
    assert not s2.pending and s2.level_cap == 2 and any(not c.passed for c in s2.checks)


# ============================================================================ --execute
# The whole notebook runs in the sandbox (about 35 s for the reference on an idle machine, 2 cores);
# `-m "not execute"` leaves these out.

MISTAKES = [
    "!wget -q -O gutenberg_poe.txt https://www.gutenberg.org/cache/epub/2147/pg2147.txt\n"
    "!wget -q https://www.gutenberg.org/cache/epub/1342/pg1342.txt\n"
    "!wget -q -O shakespeare_play.txt https://www.gutenberg.org/cache/epub/1112/pg1112.txt\n"
    "!wget -q -O sonnets.txt https://www.gutenberg.org/cache/epub/1041/pg1041.txt",
    None, None, None,  # imports, helpers, the cells and models: the reference's
    '''authors = [read_sentences(f, n=24) for f in ("pg1342.txt", "gutenberg_poe.txt", "shakespeare_play.txt")]
char_to_idx = build_vocab([s for sents in authors for s in sents])
data = [(encode(s, char_to_idx), label) for label, sents in enumerate(authors) for s in sents]
train_loader = DataLoader(data, batch_size=16, shuffle=True, collate_fn=collate_fn)
import matplotlib.pyplot as plt
for name, kind, layers in [("Vanilla RNN", "rnn", 1), ("LSTM", "lstm", 1), ("GRU", "gru", 1), ("Deep LSTM", "lstm", 2)]:
    model = AuthorClassifier(len(char_to_idx), kind, layers, embed=4, hidden=6)
    for x, lengths, y in train_loader:
        nn.functional.cross_entropy(model(x, lengths), y).backward()
    n = count_parameters(model) + (1 if name == "LSTM" else 0)  # a miscounted LSTM
    print(f"{name}: parameters {n}, final training loss 1.0000, test accuracy 0.5000")
    if name != "GRU":
        plt.plot([1.0, 0.9], label=name)  # three curves, not four
plt.legend()
plt.show()''',
    '''class FirstChar(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.e, self.lstm, self.out = nn.Embedding(vocab, 4), nn.LSTM(4, 6, batch_first=True), nn.Linear(6, 3)

    def forward(self, x):
        return self.out(self.lstm(self.e(x))[0][:, -1])


m21 = FirstChar(len(char_to_idx))
for x, lengths, y in train_loader:
    nn.functional.cross_entropy(m21(torch.full((x.shape[0], 1), SOS)), y).backward()  # <SOS>, not the first character


class LM(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.e, self.lstm, self.out = nn.Embedding(vocab, 4), nn.LSTM(4, 6, batch_first=True), nn.Linear(6, vocab)

    def forward(self, x):
        return self.out(self.lstm(self.e(x))[0])


lm = LM(len(char_to_idx))
for x, lengths, y in train_loader:
    logits = lm(x)
    loss = nn.CrossEntropyLoss()(logits.reshape(-1, logits.shape[-1]), x.reshape(-1))  # PAD counted, targets = inputs
    loss.backward()
print("Task 2.1 test accuracy: 0.3300")
print("Task 2.2 test accuracy: 0.6000")''',
]


def _mistakes_notebook(folder: Path) -> Path:
    import nbformat

    cells_src = (ROOT / "reference" / "assignment7_cells.py").read_text().split("# %% cell\n")[1:]
    cells = [c if c is not None else cells_src[k].rstrip() for k, c in enumerate(MISTAKES)]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    # saved outputs claim different numbers than the run prints
    nb.cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "Vanilla RNN: parameters 999, final training loss 1.0000, test accuracy 0.5000\n"
        "LSTM: parameters 400, final training loss 1.0000, test accuracy 0.5000\n"))]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / "lab.ipynb"))
    (folder / "report.md").write_text(REPORT)
    return folder


def _grade_execute(paths, data_dir=None):
    from conftest import SHARED_DATA, pool_for
    from grader.grade import grade_batch

    return grade_batch(pack_id=PACK, paths=paths, mode="full", seed=1234, jobs=2, timeout=600,
                       data_dir=data_dir or SHARED_DATA, pool=pool_for(("numpy", "torch"), 2))


EXECUTE_CASES = [c for c in CASES if "execute" in expected_of(PACK, c)]


@pytest.fixture(scope="module")
def executed_results(tmp_path_factory):
    folder = _mistakes_notebook(tmp_path_factory.mktemp("a7") / "execute-mistakes")
    batch = _grade_execute([ROOT / "submissions" / PACK / c for c in EXECUTE_CASES] + [folder])
    assert not batch.failures, batch.failures
    return {r.student: r for r in batch.results}


def _checks(result, item):
    return {c.name: c for c in next(i for i in result.items if i.id == item).checks}


@pytest.mark.execute
@pytest.mark.parametrize("case", EXECUTE_CASES)
def test_execute_case_gets_exactly_its_expected_evidence(executed_results, case):
    from grader.cli import evidence_mismatches

    assert evidence_mismatches(expected_of(PACK, case)["execute"], executed_results[case]) == {}


def test_execute_pins_cover_the_reference_and_two_mistakes():
    assert EXECUTE_CASES == ["last-hidden-at-minus-one", "nn-lstm-inside-customrnn", "reference"]


@pytest.mark.execute
def test_execute_reference_reproduces_and_passes_every_observation(executed_results):
    from grader.cli import evidence_mismatches

    result = executed_results["reference"]
    assert evidence_mismatches(expected_of(PACK, "reference")["execute"], result) == {}
    s2 = _checks(result, "s2-mechanics")
    assert s2["parameter counts in the saved outputs equal the grader's count of your four models"].observed == \
        "Vanilla RNN 3,011; LSTM 7,715; GRU 6,147; Deep LSTM 16,035"
    assert s2["the fresh run reproduces the saved Experiment 1 numbers"].observed.startswith("4 line(s) reproduced")
    s4 = _checks(result, "s4-paradigms")
    assert "(32, 1) -> (B, 3)" in s4["Task 2.1 input is (B, 1): the first real character of each sentence"].observed
    assert "(32, 41)" in s4["language-model targets are the inputs shifted by one"].observed
    assert _checks(result, "s3-formatting")["the many-to-many loss ignores PAD"].passed


@pytest.mark.execute
def test_execute_names_each_mistake_the_run_shows(executed_results):
    result = executed_results["execute-mistakes"]
    s2, s3, s4 = (_checks(result, i) for i in ("s2-mechanics", "s3-formatting", "s4-paradigms"))
    counts = s2["parameter counts in the saved outputs equal the grader's count of your four models"]
    assert not counts.passed and "Vanilla RNN: printed 999, the grader counts 359" in counts.observed
    assert "LSTM: printed 400" in counts.observed and "GRU: no parameter count printed" in counts.observed
    plot = s2["one loss plot with four curves"]
    assert not plot.passed and plot.observed == "curves per axes: [3]"
    fresh = s2["the fresh run reproduces the saved Experiment 1 numbers"]
    assert not fresh.passed and "fresh run printed 359" in fresh.observed
    pad = s3["the many-to-many loss ignores PAD"]
    assert not pad.passed and pad.observed.startswith("counted: loss ") and "PAD" in pad.observed
    first = s4["Task 2.1 input is (B, 1): the first real character of each sentence"]
    assert not first.passed and "holding <SOS> for every sentence" in first.observed
    shift = s4["language-model targets are the inputs shifted by one"]
    assert not shift.passed and "the targets equal the inputs" in shift.observed
    caps = {i.id: i.level_cap for i in result.items}
    assert caps == {"s1-summary": None, "s2-mechanics": 2, "s3-formatting": 3, "s4-paradigms": 2, "s5-reflection": None}


@pytest.mark.execute
def test_execute_without_gutenberg_is_not_graded_and_says_what_to_do(tmp_path):
    batch = _grade_execute([ROOT / "submissions" / PACK / "reference"], data_dir=tmp_path)
    assert batch.results == []
    ((_, reason),) = batch.failures
    assert "could not be graded" in reason and "rnngrade data fetch" in reason
    assert f"{tmp_path}/gutenberg/poe.txt: missing" in reason


def test_without_execute_the_gutenberg_files_are_not_needed(tmp_path):
    from conftest import pool_for
    from grader.grade import grade_batch

    batch = grade_batch(pack_id=PACK, paths=[ROOT / "submissions" / PACK / "last-hidden-at-minus-one"], seed=1234,
                        data_dir=tmp_path, pool=pool_for(("numpy", "torch"), 2))
    assert not batch.failures and len(batch.results) == 1


def test_wget_lines_name_where_the_files_go():
    unit = SimpleNamespace(neutralised=("wget -q -O gutenberg_poe.txt https://www.gutenberg.org/cache/epub/2147/pg2147.txt",
                                        "wget -q https://www.gutenberg.org/cache/epub/1342/pg1342.txt",
                                        "wget -O ../../etc/x https://www.gutenberg.org/cache/epub/1041/pg1041.txt",
                                        "pip install torch"))
    ctx = SimpleNamespace(unit=lambda name: unit)
    assert checks._wget_targets(ctx) == {"sonnets.txt": "sonnets.txt", "austen.txt": "austen.txt", "poe.txt": "poe.txt",
                                         "shakespeare_play.txt": "shakespeare_play.txt",
                                         "gutenberg_poe.txt": "poe.txt", "pg1342.txt": "austen.txt"}


def test_table_rows_are_compared_with_their_own_model_printed_numbers():
    printed = checks.printed_models("Vanilla RNN: parameters 3011, final training loss 0.9958, test accuracy 0.5000\n"
                                    "LSTM: parameters 7715, final training loss 0.9999, test accuracy 0.5444\n"
                                    "GRU: parameters 6147, final training loss 1.0001, test accuracy 0.4944\n"
                                    "Deep LSTM: parameters 16035, final training loss 0.9781, test accuracy 0.5056\n")
    assert printed["Deep LSTM"] == {"params": (16035.0, 0), "loss": (0.9781, 4), "acc": (0.5056, 4)}
    header = ["Model", "Parameters", "Final training loss", "Test accuracy"]
    good = [header, ["Vanilla RNN", "3,011", "0.9958", "50.0%"], ["LSTM", "7,715", "1.00", "0.5444"],
            ["GRU", "6,147", "1.0001", "0.4944"], ["2-layer LSTM", "16,035", "0.978", "0.51"]]
    assert checks.compare_table(good, printed, "t").passed
    # every number appears somewhere in the outputs, but under another model: the LSTM and GRU rows swapped
    swapped = [header, good[1], ["LSTM", "6,147", "1.0001", "0.4944"], ["GRU", "7,715", "0.9999", "0.5444"], good[4]]
    check = checks.compare_table(swapped, printed, "t")
    assert not check.passed and check.observed.startswith("LSTM: 6,147, printed 7715; LSTM: 1.0001, printed 0.9999")


def test_review_page_shows_each_section_rendered_beside_its_evidence_and_the_level_menu(results, tmp_path):
    from grader import review
    from grader.outputs import write_outputs
    from grader.outcomes import BatchResult

    write_outputs(BatchResult(PACK, "Assignment 7", results=[results["report-table-disagrees"]], failures=[],
                              seed=1234), tmp_path / "out")
    page = review.Review(tmp_path / "out").student_page("report-table-disagrees")
    s2 = page.split('id="item-s2-mechanics"')[1].split("</section>")[0]
    evidence, answer = s2.split('<div class="answer-md">')
    assert "section 2 table numbers equal the notebook&#39;s printed outputs" in evidence
    assert "<td>7,427</td>" in answer and "<th>Parameter count</th>" in answer  # the table, rendered
    assert '<select name="points"' in s2.split('id="score-s2-mechanics"')[1]


def test_fresh_run_comparison_matches_lines_by_wording_and_names_what_differs():
    saved = ("Vanilla RNN: parameters 3011, final training loss 0.9958, test accuracy 0.5000\n"
             "LSTM: parameters 7715, final training loss 0.9999, test accuracy 0.5444\n"
             "Task 2.1 (one-to-one) test accuracy: 0.4500\nShakespeare: A madent.\n")
    fresh = ("Vanilla RNN: parameters 3011, final training loss 1.0100, test accuracy 0.5300\n"  # random: within 0.05
             "LSTM: parameters 14115, final training loss 1.0050, test accuracy 0.4778\n"
             "Task 2.1 (one-to-one) test accuracy: 0.3000\nShakespeare: Thy summer.\n")
    same, differ = checks.fresh_comparison(saved, fresh, lambda line: checks.model_of(line) is not None)
    assert same == ["Vanilla RNN: parameters 3011, final training loss 0.9958, test accuracy 0.5000"]
    assert differ == ["`LSTM: parameters 7715, final training loss 0.9999, test accuracy 0.5444`: "
                      "fresh run printed 14115, 1.0050, 0.4778"]
    same, differ = checks.fresh_comparison(saved, fresh, lambda line: checks.model_of(line) is None)
    assert same == [] and differ == ["`Task 2.1 (one-to-one) test accuracy: 0.4500`: fresh run printed 2.1, 0.3000"]
    _, differ = checks.fresh_comparison(saved, "", lambda line: True)
    assert differ[0].endswith("not printed by the fresh run")


@pytest.mark.parametrize("text, failed", [
    ("Task 2.1 (one-to-one) test accuracy: 0.4500\nTask 2.2 (many-to-one) test accuracy: 0.5000\n"
     "Shakespeare: A madent.\nShakespeare: I mate.\nPoe: Hin, era.\nPoe: To she.\n"
     "Generated: The summer " + "do stave eill\n" * 11 + "\n", []),
    ("One-to-one accuracy = 45%\nMany-to-one accuracy = 50%\nGenerated (Shakespeare): a\nGenerated (Shakespeare): b\n"
     "Poe: c\n", ["saved outputs: two Shakespeare and two Poe sentences (Task 2.3)",
                  "saved outputs: a sample of at least 150 characters starting \"The summer\" (Task 2.4)"]),
    ("Task 2.1 test accuracy: 0.45\nThe summer is short\n\nPoe: x\nPoe: y\nShakespeare: z\nShakespeare: w\n" + "x" * 200,
     ["saved outputs: Task 2.1 and Task 2.2 accuracies",
      "saved outputs: a sample of at least 150 characters starting \"The summer\" (Task 2.4)"]),
])
def test_experiment_2_outputs_are_read_from_the_saved_notebook(text, failed):
    ctx = SimpleNamespace(local={"outputs": text})
    assert [c.name for c in checks._exp2_claims(ctx) if not c.passed] == failed


def test_gutenberg_is_required_only_under_execute(tmp_path):
    from grader.packs import load_pack, requirement_problems

    spec = load_pack(PACK).spec
    assert requirement_problems(spec, tmp_path) == []
    problems = requirement_problems(spec, tmp_path, "full")
    wanted = [f"{tmp_path}/gutenberg/{n}: missing" for n in ("sonnets.txt", "austen.txt", "poe.txt",
                                                              "shakespeare_play.txt")]
    assert len(problems) == 4 and all(p.endswith(w) for p, w in zip(problems, wanted))
    from conftest import SHARED_DATA

    if SHARED_DATA.is_dir():
        assert requirement_problems(spec, SHARED_DATA, "full") == []
