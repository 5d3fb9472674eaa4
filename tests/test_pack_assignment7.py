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
