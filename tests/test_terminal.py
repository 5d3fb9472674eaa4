from __future__ import annotations

from grader.terminal import render, render_batch
from grader.views import clip, fmt_points
from results_factory import make_batch, make_result


def test_render_plain_rubric():
    text = render(make_result("alice", forward_points=1), color=False)
    lines = text.splitlines()
    assert lines[0] == "lab7-inclass — LSTM-RNN In Class: vanilla RNN sentence classifier"
    assert lines[1] == "student: alice   seed: 1234   sandbox: bubblewrap   mode: budget"
    body = "\n".join(lines[3:])
    assert " ✓ 1. Correctly initialise all weights              5/5" in body
    assert "\n".join([
        " ✗ 2. Hidden state update and logits                1/5",
        "      ✗ s_t values (0/3)",
        "          expected: [[0.1], [-0.2]]",
        "          observed: [[0.5], [0.0]] <script>alert('pwned')</script>",
        "          hint: negative pre-activations became 0: relu instead of tanh?",
        "      ✗ logits (1/2)",
    ]) in body
    assert "      reason: banned API torch.optim.SGD at line 12" in body
    assert " … 5. Question 5: what s_t represents         pending/5  scored by a TA" in body
    assert "shapes" not in body  # passed checks stay implied by the item's ✓
    assert "lab7.py: error — NameError: name 'x' is not defined" in body
    assert lines[-1] == "Total: 8.5/30  (auto 8.5/20, 10 points pending manual grading)"
    assert "\033[" not in text


def test_render_color_and_provisional():
    text = render(make_result(provisional=True), color=True)
    assert "\033[32m✓\033[0m" in text and "\033[31m✗\033[0m" in text
    assert "PROVISIONAL" in text.splitlines()[-1]


def test_render_batch():
    lines = render_batch(make_batch()).splitlines()
    assert lines == [
        "lab7-inclass — LSTM-RNN In Class: vanilla RNN sentence classifier: 3 graded, "
        "1 could not be graded",
        "  alice        10/30  10 pending",
        "  bob        13.5/30  10 pending, error: =HYPERLINK(\"http://evil\") crashed",
        "  carol        25/30  5 pending",
        "  FAILED subs/dave.zip: not a zip file",
        # manual points pending are not lost: the figures are over the auto-graded points
        "auto-graded points: mean 14.5/20, median 13.5, min 10, max 20 (manual items pending for 3 students)",
    ]


def test_points_and_clip():
    assert [fmt_points(x) for x in (5.0, 2.5, 17.3333, -0.0, None, float("nan"))] == [
        "5", "2.5", "17.33", "0", "–", "–"]
    clipped = clip("a" * 50 + "b" * 50, 30)
    assert clipped.startswith("a" * 20) and clipped.endswith("b" * 10)
    assert "(70 characters not shown)" in clipped
