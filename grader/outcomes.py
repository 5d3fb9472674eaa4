"""The result objects every stage after `checks` reads: small dataclasses, built by
named constructors, never mutated by the sinks (terminal, HTML, JSON, CSV)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed"]
NOT_CHECKED = "not checked: "  # a declared sub-check's observation when it could not be checked
RunStatus = Literal["ok", "error", "timeout", "memory", "exit", "crashed", "missing", "not-run"]


@dataclass(frozen=True)
class Check:
    """One sub-check of a rubric item: what was expected, what was observed, and a hint."""

    name: str
    passed: bool
    points: float  # earned
    max_points: float
    expected: str | None = None
    observed: str | None = None
    hint: str | None = None

    @classmethod
    def ok(cls, name: str, points: float, *, expected: Any = None, observed: Any = None) -> "Check":
        return cls(name, True, float(points), float(points), text_of(expected), text_of(observed), None)

    @classmethod
    def failed(cls, name: str, points: float, *, expected: Any = None, observed: Any = None,
               hint: str | None = None) -> "Check":
        return cls(name, False, 0.0, float(points), text_of(expected), text_of(observed), hint)

    @classmethod
    def partial(cls, name: str, earned: float, points: float, *, expected: Any = None,
                observed: Any = None, hint: str | None = None) -> "Check":
        earned = max(0.0, min(float(earned), float(points)))
        return cls(name, earned >= points, earned, float(points), text_of(expected), text_of(observed), hint)

    @property
    def unreached(self) -> bool:
        """A declared sub-check the check could not get to (shown with a neutral mark, not a
        cross: the student's mistake is in the failed one before it)."""
        return not self.passed and (self.observed or "").startswith(NOT_CHECKED)

    @classmethod
    def unchecked(cls, name: str, points: float, reason: str) -> "Check":
        return cls(name, False, 0.0, float(points), None, f"{NOT_CHECKED}{reason}", None)

    def to_json(self) -> dict:
        return {"name": self.name, "passed": self.passed, "points": self.points,
                "max_points": self.max_points, "expected": self.expected,
                "observed": self.observed, "hint": self.hint}


def text_of(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else repr(value)


@dataclass(frozen=True)
class ItemScore:
    """A rubric item after scoring. `pending` only for manual items not yet scored by a TA."""

    id: str
    name: str
    number: int
    kind: str  # "auto" | "manual"
    points: float
    max_points: float
    checks: tuple[Check, ...] = ()
    pending: bool = False
    reason: str | None = None  # why the item lost points wholesale (banned API, crash, missing file)
    answer: str | None = None  # manual items: the student's extracted answer text
    provisional: bool = False  # budget-mode figures: never the final tier
    public: bool = True
    comment: str | None = None  # manual items: the TA's comment with the score
    all_or_nothing: bool = False  # the item scores only when every sub-check passes
    question: str | None = None  # manual items: the question number answers are found under
    level_cap: int | None = None  # manual items on levels: the highest level the evidence allows

    @property
    def status(self) -> Status:
        return "passed" if self.points >= self.max_points and not self.pending else "failed"


@dataclass(frozen=True)
class Figure:
    png: bytes
    title: str = ""
    unit: str = ""


@dataclass(frozen=True)
class StudentError:
    type: str
    message: str
    lineno: int | None = None
    line: str | None = None
    traceback: str = ""
    where: str = ""  # "cell 4, line 2" for notebooks, "line 17" for files

    def one_line(self) -> str:
        loc = f" at {self.where}" if self.where else ""
        return f"{self.type}: {self.message}{loc}"


@dataclass(frozen=True)
class UnitRun:
    """What executing one submission unit in the sandbox produced (evidence, not verdicts)."""

    unit: str
    file: str | None
    status: RunStatus
    error: StudentError | None = None
    stdout: str = ""
    figures: tuple[Figure, ...] = ()
    seconds: float = 0.0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubmissionResult:
    pack: str
    pack_title: str
    student: str
    items: tuple[ItemScore, ...]
    seed: int
    sandbox: str
    runs: tuple[UnitRun, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None  # a submission-level problem (nothing could be loaded ...)
    seconds: float = 0.0
    student_seconds: float = 0.0
    mode: str = "budget"
    # Gradescope export: (name, email, sid) of each submitter
    submitters: tuple[tuple[str, str, str], ...] = ()
    # checks on the submission as a whole (a pack's @item("report")): evidence, no points
    report_checks: tuple[Check, ...] = ()

    @property
    def score(self) -> float:
        return round(sum(i.points for i in self.items), 4)

    @property
    def max_score(self) -> float:
        return round(sum(i.max_points for i in self.items), 4)

    @property
    def auto_score(self) -> float:
        return round(sum(i.points for i in self.items if i.kind == "auto"), 4)

    @property
    def auto_max(self) -> float:
        return round(sum(i.max_points for i in self.items if i.kind == "auto"), 4)

    @property
    def figures(self) -> list[Figure]:
        return [f for r in self.runs for f in r.figures]

    @property
    def provisional(self) -> bool:
        """Budget-mode figures are never the final tier: any provisional item marks the result."""
        return any(item.provisional for item in self.items)

    @property
    def pending_points(self) -> float:
        """Points of manual items a TA has not scored yet (not lost: pending)."""
        return round(sum(i.max_points for i in self.items if i.pending), 4)


@dataclass
class BatchResult:
    pack: str
    pack_title: str
    results: list[SubmissionResult] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    seed: int = 0
    # validated TA scores from --manual (grader.manual): student -> item -> {points, comment}
    manual_scores: dict = field(default_factory=dict)
    # grader.similarity.Pair, highest first; None: not computed in this run (a batch rebuilt
    # from results.json): the sinks then keep and show the similarity.csv already written
    similarity: list | None = None

    @property
    def return_code(self) -> int:
        """Exit policy: 0 when at least one submission was graded, 1 when nothing could be
        graded (every input was unusable), so scripts notice a wrong path or pack."""
        return 0 if self.results else 1
