"""The pack API v2 engine side: declared sub-checks resolved into scored checks, pack
validation at load, and the shared comparison helpers. Each test names the break it catches."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from grader import score
from grader.checks import (close, compare, evidence, exception_text, failed, item, not_checked, partial,
                           passed, printed_lines, printed_numbers, tier)
from grader.outcomes import StudentError
from grader.packs import ItemSpec, PackError, load_pack
from grader.validate import pack_problems

DECL = {"state": ("the state update", 3.0), "logits": ("the output layer", 2.0)}
SPEC = ItemSpec("forward", "Forward", 5.0, "auto", 1)


def test_verdicts_get_declared_titles_and_points_in_declared_order():
    checks = score.resolve(DECL, [failed("logits", observed="x", hint="h"), passed("state")])
    assert [(c.name, c.passed, c.points, c.max_points) for c in checks] == [
        ("the state update", True, 3.0, 3.0), ("the output layer", False, 0.0, 2.0)]
    assert score.score_item(SPEC, checks).points == 3.0


def test_unreported_subchecks_are_not_checked_with_the_reason():
    checks = score.resolve(DECL, [passed("state")], reason="your code raised ValueError: boom")
    assert checks[1].observed == "not checked: your code raised ValueError: boom"
    assert checks[1].max_points == 2.0 and checks[1].points == 0.0
    # a check that stops after a failed step: the rest says so, not left as a gap
    assert score.resolve(DECL, [failed("state")])[1].observed == "not checked: " + score.EARLIER_FAILED


def test_not_checked_names_its_keys_or_all_remaining():
    checks = score.resolve(DECL, [not_checked("no training ran", "logits"), passed("state")])
    assert checks[0].passed and checks[1].observed == "not checked: no training ran"
    checks = score.resolve(DECL, [failed("state"), not_checked("the model was not found")])
    assert checks[1].observed == "not checked: the model was not found"


def test_partial_earns_its_points_and_is_never_rescaled():
    checks = score.resolve(DECL, [partial("state", 1.5), partial("logits", 2)])
    assert [c.points for c in checks] == [1.5, 2.0] and not checks[0].passed and checks[1].passed
    assert score.score_item(SPEC, checks).points == 3.5


@pytest.mark.parametrize("bad", [[passed("nope")], [passed("state"), passed("state")],
                                 [not_checked("x", "nope")], ["a string"], [partial("logits", 9)],
                                 [partial("state", -1)], []])
def test_a_verdict_the_declaration_does_not_allow_is_a_pack_bug(bad):
    with pytest.raises(score.PackBug):
        score.resolve(DECL, bad)


def test_evidence_checks_are_kept_worth_nothing():
    checks = score.resolve(DECL, [passed("state"), passed("logits"), evidence("saw a plot", True)])
    assert checks[-1].name == "saw a plot" and checks[-1].max_points == 0
    assert score.score_item(SPEC, checks).points == 5.0


def _pack(tmp_path, checks_py: str, points=(5, 2)):
    d = tmp_path / "assignments" / "tiny"
    d.mkdir(parents=True)
    d.joinpath("rubric.toml").write_text(textwrap.dedent(f"""
        id = "tiny"
        [[units]]
        name = "main"
        [[items]]
        id = "one"
        points = {points[0]}
        [[items]]
        id = "essay"
        kind = "manual"
        points = {points[1]}
    """))
    d.joinpath("checks.py").write_text(textwrap.dedent(checks_py))
    return d


GOOD = """
    from grader.checks import item, passed
    @item("one", checks={"a": ("first", 2), "b": ("second", 3)})
    def one(ctx):
        yield passed("a")
"""


def test_validation_accepts_a_consistent_pack(tmp_path, monkeypatch):
    _pack(tmp_path, GOOD)
    monkeypatch.setenv("RNNGRADE_HOME", str(tmp_path))
    assert pack_problems(load_pack("tiny", validate=False)) == []


@pytest.mark.parametrize("source, words", [
    (GOOD.replace('"b": ("second", 3)', '"b": ("second", 1)'), "add up to 3 (a 2 + b 1), rubric.toml gives it 5"),
    (GOOD.replace('@item("one"', '@item("onee"'), "@item('onee') names no item"),
    (GOOD.replace('checks={"a": ("first", 2), "b": ("second", 3)}', 'checks=None') + '''
    @item("essay", checks={"x": ("t", 1)})
    def essay(ctx):
        return []
''', "declares no sub-checks"),
    ("from grader.checks import item\n", "auto item one has no check function"),
    ("import no_such_module\n", "cannot be imported"),
])
def test_validation_names_the_broken_item_in_one_line(tmp_path, monkeypatch, source, words):
    _pack(tmp_path, source)
    monkeypatch.setenv("RNNGRADE_HOME", str(tmp_path))
    with pytest.raises(PackError) as err:
        load_pack("tiny")
    assert words in str(err.value) and "\n" not in str(err.value)


def test_every_shipped_pack_validates():
    from grader.packs import list_packs

    broken: list[str] = []
    assert len(list_packs(broken)) >= 5 and broken == []


def test_close_has_one_notion_for_numbers_sequences_dicts_and_arrays():
    assert close(1.0 + 1e-7, 1.0) and not close(1.01, 1.0)
    assert close([1.0, [2.0, 3.0]], (1.0, [2.0, 3.0 + 1e-8]))
    assert not close([1.0, 2.0], [1.0, 2.0, 3.0])
    assert close({"a": 1.0, "b": [2.0]}, {"a": 1.0, "b": [2.0]}) and not close({"a": 1.0}, {"a": 1.0, "b": 2})
    assert close(np.ones((2, 3)), np.ones((2, 3))) and not close(np.ones((3, 2)), np.ones((2, 3)))
    assert not close(np.array([np.nan]), np.array([1.0]))
    assert close(0.93, 0.9, atol=0.05) and not close("0.93", 0.93)


def test_compare_names_the_mistake_whose_variant_the_student_computed():
    x = np.array([[0.5, -2.0]], dtype=np.float32)
    expected, relu = np.tanh(x), np.maximum(x, 0)
    mistakes = {"likely mistake: ReLU instead of tanh": relu, "likely mistake: no activation": x}
    c = compare("h", relu, expected, mistakes=mistakes)
    assert not c.ok and c.hint == "likely mistake: ReLU instead of tanh" and "largest difference" in c.problem
    assert compare("h", expected.copy(), expected, mistakes=mistakes).ok
    assert compare("h", expected.T, expected).hint.startswith("the result is transposed")
    scalar = compare("loss", 2.0, 1.0, mistakes={"summed instead of averaged": 2.0})
    assert scalar.hint == "summed instead of averaged"
    v = scalar.verdict("k")
    assert v.key == "k" and v.earned == 0 and v.hint == "summed instead of averaged"


def test_exception_text_is_one_format():
    err = StudentError("TypeError", "bad operand", 4, "  y = x + 'a'  ", where="cell 3, line 4")
    assert exception_text(err) == "your code raised TypeError: bad operand at cell 3, line 4 (`y = x + 'a'`)"


def test_a_time_limit_reads_as_what_it_likely_means():
    text = exception_text(StudentError("Timeout", "the code did not finish within the time limit"))
    assert "did not finish within its time limit" in text and "raised" not in text


def test_tier_takes_the_highest_threshold_reached():
    table = [(0.9, 10), (0.8, 6), (0.5, 2)]
    assert [tier(table, v) for v in (0.95, 0.9, 0.85, 0.5, 0.2, None)] == [10, 10, 6, 2, 0, 0]


def test_printed_numbers_after_a_label():
    out = "epoch 1 loss 0.5\nTest accuracy: 93.5%\ntest_acc=0.91\nTest Accuracy (LSTM) 88\n"
    assert printed_numbers(out, r"test[ _]acc(uracy)?") == [93.5, 0.91, 88.0]
    assert printed_numbers(out, r"test[ _]acc(uracy)?", percent=True) == [0.935, 0.91, 0.88]
    assert printed_lines(out, r"epoch (\d+) loss ([\d.]+)") == [("1", "0.5")]


def test_a_bug_in_a_packs_check_means_could_not_be_graded(tmp_path, monkeypatch):
    """Never a silent partial score: a check that crashes on its own code (a typo'd option,
    a verdict on an undeclared key) makes the submission "could not be graded", naming the
    item and what the course staff should do."""
    from grader.discover import Submission
    from grader.grade import NotGraded, grade_submission

    source = GOOD.replace('yield passed("a")', 'yield passed("a")\n        ctx.spec.options["typo"]')
    d = _pack(tmp_path, source)
    monkeypatch.setenv("RNNGRADE_HOME", str(tmp_path))
    student = tmp_path / "s" / "main.py"
    student.parent.mkdir()
    student.write_text("x = 1\n")
    pack = load_pack("tiny")
    with pytest.raises(NotGraded) as err:
        grade_submission(pack, Submission("s", (student,)), worker=None, seed=1)
    assert "grader error in the tiny pack's checks (item one: KeyError: 'typo')" in err.value.reason
    assert "not the submission" in err.value.reason and "rnngrade pack check tiny" in err.value.reason
    # the same pack without the bug grades: 2 of 5, the unreported key "not checked"
    d.joinpath("checks.py").write_text(textwrap.dedent(GOOD))
    monkeypatch.setattr("grader.packs._IMPORT_CACHE", {})
    result = grade_submission(load_pack("tiny"), Submission("s", (student,)), worker=None, seed=1)
    assert result.items[0].points == 2.0 and result.items[0].checks[1].observed.startswith("not checked")
