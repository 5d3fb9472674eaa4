"""Hand-built results for the sink tests (terminal, HTML, JSON, CSV): no engine, no sandbox.

`make_result()` is a lab7-inclass-shaped submission with one item of every kind of
outcome: full marks, a failed check with a hint, a banned-API reason, partial credit,
a pending manual answer and a pending manual item without an answer. Student-controlled
text carries `<script>` so the HTML tests can show it is escaped.
"""
from __future__ import annotations

import struct
import zlib

from grader.outcomes import (BatchResult, Check, Figure, ItemScore, StudentError,
                             SubmissionResult, UnitRun)

SCRIPT = "<script>alert('pwned')</script>"


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid grey PNG, built by hand so the tests need no plotting library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def items(*, forward_points: float = 0.0, sgd_points: float = 0.0, predictions_points: float = 2.5,
          provisional: bool = False, q5_pending: bool = True) -> tuple[ItemScore, ...]:
    forward_checks = (
        (Check.ok("s_t values", 5, expected="tanh(W s_prev + U x_t + b)", observed="match"),)
        if forward_points >= 5 else
        (Check.failed("s_t values", 3, expected="[[0.1], [-0.2]]",
                      observed=f"[[0.5], [0.0]] {SCRIPT}",
                      hint="negative pre-activations became 0: relu instead of tanh?"),
         Check.partial("logits", forward_points, 2, expected="W_out s_T + b_out",
                       observed="missing b_out", hint="add the output bias b_out")))
    return (
        ItemScore("init-weights", "Correctly initialise all weights", 1, "auto", 5, 5,
                  checks=(Check.ok("shapes", 3, expected="W (2, 2)", observed="W (2, 2)"),
                          Check.ok("leaf tensors", 2))),
        ItemScore("forward", "Hidden state update and logits", 2, "auto", forward_points, 5,
                  checks=forward_checks),
        ItemScore("manual-sgd", "Manual SGD update", 3, "auto", sgd_points, 5,
                  checks=(Check.ok("update rule", 5),) if sgd_points else (),
                  reason=None if sgd_points else
                  "banned API torch.optim.SGD at line 12: opt = torch.optim.SGD(params)"),
        ItemScore("predictions", "Predictions on the test sentences", 4, "auto",
                  predictions_points, 5,
                  checks=(Check.ok("bad -> 0", 2.5, expected=0, observed=0),
                          Check.partial("good -> 1", predictions_points - 2.5, 2.5, expected=1,
                                        observed=1 if predictions_points >= 5 else 0,
                                        hint=None if predictions_points >= 5 else
                                        "the model never learned: check the update")),
                  provisional=provisional),
        ItemScore("q-hidden-state", "Question 5: what s_t represents", 5, "manual",
                  0 if q5_pending else 5, 5, pending=q5_pending,
                  answer=f"s_t is the memory {SCRIPT} of the sentence so far"),
        ItemScore("q-hard-to-train", "Question 6: why RNNs are hard to train", 6, "manual", 0, 5,
                  pending=True, answer=None),
    )


def make_result(student: str = "alice", *, error: str | None = None,
                item_list: tuple[ItemScore, ...] | None = None, **points) -> SubmissionResult:
    """`points` go to `items()`: forward_points, sgd_points, predictions_points, provisional,
    q5_pending."""
    run = UnitRun(
        unit="main", file="lab7.py", status="error",
        error=StudentError("NameError", f"name 'x' is not defined {SCRIPT}", lineno=17,
                           line="print(x)", traceback="Traceback (most recent call last):\n  ...",
                           where="line 17"),
        stdout=f"epoch 0 loss 0.69\n{SCRIPT}\nSentence: [...] -> Prediction: 0\n",
        figures=(Figure(tiny_png(), title=f"Loss {SCRIPT}"), Figure(b"GIF89a not a png", "bogus")),
        seconds=1.25, notes=("notebook magic `%matplotlib inline` neutralised",))
    return SubmissionResult(
        pack="lab7-inclass", pack_title="LSTM-RNN In Class: vanilla RNN sentence classifier",
        student=student, items=item_list if item_list is not None else items(**points),
        seed=1234, sandbox="bubblewrap", runs=(run,), notes=("training set: two sentences",),
        error=error, seconds=3.2, student_seconds=1.25, mode="budget")


def make_batch() -> BatchResult:
    """Three students; `forward` is the item most of them lose (only carol has full marks:
    33%, mean 2/5), ahead of manual-sgd and predictions (67% each)."""
    return BatchResult(
        pack="lab7-inclass", pack_title="LSTM-RNN In Class: vanilla RNN sentence classifier",
        results=[make_result("carol", forward_points=5, sgd_points=5, predictions_points=5,
                             q5_pending=False),
                 make_result("alice", predictions_points=5),
                 make_result("bob", forward_points=1, sgd_points=5,
                             error="=HYPERLINK(\"http://evil\") crashed")],
        failures=[("subs/dave.zip", "not a zip file")], seed=1234)
