"""Point arithmetic, in pure functions: rubric spec + check results (+ TA scores) ->
item scores. Nothing here runs student code or renders anything."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from grader.outcomes import Check, ItemScore
from grader.packs import ItemSpec

EARLIER_FAILED = "an earlier step of this item failed, so this could not be checked"


class PackBug(Exception):
    """A check function reported something its declaration does not allow."""


def resolve(declared: Mapping[str, tuple[str, float]], reported: list[Any], *,
            reason: str | None = None) -> list[Check]:
    """The item's sub-checks in declared order: each key's verdict with the declared title
    and points; keys never reported are "not checked" with why (the reason the check
    stopped, or the one its function gave). 0-point evidence checks are kept after them.
    A verdict for an unknown key, or twice for one key, is a PackBug."""
    from grader.checks import Verdict

    verdicts: dict[str, Check] = {}
    extras: list[Check] = []
    skip_reason: str | None = None
    for entry in reported:
        if isinstance(entry, Check):
            if entry.max_points > 0:
                raise PackBug(f"a Check with points ({entry.name!r}) instead of a verdict on a declared sub-check")
            extras.append(entry)
            continue
        if not isinstance(entry, Verdict):
            raise PackBug(f"a check function produced {type(entry).__name__}, not a verdict")
        if entry.skipped is not None:
            for key in entry.keys or [k for k in declared if k not in verdicts]:
                if key not in declared:
                    raise PackBug(f"not_checked names undeclared sub-check {key!r}")
                if key not in verdicts:
                    verdicts[key] = Check.unchecked(declared[key][0], declared[key][1], entry.skipped)
            skip_reason = skip_reason or entry.skipped
            continue
        if entry.key not in declared:
            raise PackBug(f"verdict on undeclared sub-check {entry.key!r} (declared: {', '.join(declared)})")
        if entry.key in verdicts:
            raise PackBug(f"two verdicts on sub-check {entry.key!r}")
        title, points = declared[entry.key]
        if entry.points is not None and not -1e-9 <= entry.points <= points + 1e-9:
            raise PackBug(f"partial({entry.key!r}, {entry.points:g}) outside 0 .. {points:g}, the declared points")
        if entry.points is not None:
            verdicts[entry.key] = Check.partial(title, entry.points, points, expected=entry.expected,
                                                observed=entry.observed, hint=entry.hint)
        elif entry.earned >= 1.0:
            verdicts[entry.key] = Check.ok(title, points, expected=entry.expected, observed=entry.observed)
        else:
            verdicts[entry.key] = Check.failed(title, points, expected=entry.expected, observed=entry.observed,
                                               hint=entry.hint)
    if not verdicts and not extras and reason is None:
        raise PackBug("the check reported no verdict at all (yield not_checked(reason) when it cannot check)")
    why = reason or skip_reason or EARLIER_FAILED
    checks = [verdicts.get(key) or Check.unchecked(title, points, why) for key, (title, points) in declared.items()]
    return checks + extras


def score_item(spec: ItemSpec, checks: list[Check], *, reason: str | None = None,
               provisional: bool = False) -> ItemScore:
    """Sum the checks' points (the declarations add up to the item's points: checked when
    the pack loads) and apply all-or-nothing."""
    checks = [c for c in checks if isinstance(c, Check)]
    earned = sum(c.points for c in checks)
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
