"""Point arithmetic, in pure functions: rubric spec + check results (+ TA scores) ->
item scores. Nothing here runs student code or renders anything."""
from __future__ import annotations

from dataclasses import replace

from grader.outcomes import Check, ItemScore
from grader.packs import ItemSpec


def score_item(spec: ItemSpec, checks: list[Check], *, reason: str | None = None,
               provisional: bool = False) -> ItemScore:
    """Sum the checks' points, rescaled when a pack's sub-checks do not add up to the item's
    points (a pack bug, flagged in `reason`), and apply all-or-nothing."""
    checks = [c for c in checks if isinstance(c, Check)]
    possible = sum(c.max_points for c in checks)
    earned = sum(c.points for c in checks)
    if possible > 0 and abs(possible - spec.points) > 1e-9:
        earned = earned * spec.points / possible
    if not checks:
        earned = 0.0
    if spec.all_or_nothing and (not checks or not all(c.passed for c in checks)):
        earned = 0.0
    if reason is not None:
        # the check stopped early (student code raised, the run was lost): what the
        # completed sub-checks earned stays, the rest of the item is lost with the reason
        earned = min(earned, spec.points) if not spec.all_or_nothing else 0.0
    return ItemScore(spec.id, spec.name, spec.number, spec.kind, round(min(earned, spec.points), 4),
                     spec.points, tuple(checks), reason=reason, provisional=provisional,
                     public=spec.public, all_or_nothing=spec.all_or_nothing)


def zero_item(item: ItemScore, reason: str) -> ItemScore:
    """A verdict that overrides the checks (banned API, missing file)."""
    combined = reason if not item.reason else f"{reason}; {item.reason}"
    return replace(item, points=0.0, reason=combined)


def manual_item(spec: ItemSpec, *, answer: str | None, ta_points: float | None) -> ItemScore:
    if ta_points is None:
        return ItemScore(spec.id, spec.name, spec.number, "manual", 0.0, spec.points, pending=True,
                         answer=answer, public=spec.public, question=spec.question,
                         reason=None if answer or not spec.question else f"no answer found for question {spec.question}")
    points = max(0.0, min(float(ta_points), spec.points))
    return ItemScore(spec.id, spec.name, spec.number, "manual", points, spec.points, pending=False,
                     answer=answer, public=spec.public, question=spec.question)
