"""A pack checked when it loads, before anyone is graded: what its checks.py declares
against what its rubric.toml says. Every problem is one line naming the item, so
`rnngrade list`, `check`, `grade` and `pack check` can refuse a broken pack with exit 2
instead of printing one traceback per student or silently rescaling points."""
from __future__ import annotations

from grader.packs import REPORT_CHECKS, Pack, PackError


def pack_problems(pack: Pack) -> list[str]:
    """Every problem of the pack, one line each; empty when it can grade."""
    spec = pack.spec
    where = spec.dir / "checks.py"
    try:
        functions = pack.checks
    except PackError as exc:
        return [str(exc)]
    except Exception as exc:  # checks.py itself does not import
        return [f"{where}: cannot be imported ({type(exc).__name__}: {exc})"]
    from grader.checks import declared

    problems = []
    known = {i.id for i in spec.items}
    for item_id in sorted(set(functions) - known - {REPORT_CHECKS}):
        problems.append(f"{where}: @item({item_id!r}) names no item of rubric.toml (items: {', '.join(sorted(known))})")
    for spec_item in spec.items:
        fn = functions.get(spec_item.id)
        if spec_item.kind != "auto":
            if fn is not None and any(points for _, points in declared(fn).values()):
                problems.append(f"{where}: manual item {spec_item.id} declares sub-checks with points; "
                                "its checks are evidence (use evidence(...))")
            continue
        if fn is None:
            problems.append(f"{where}: auto item {spec_item.id} has no check function (@item({spec_item.id!r}))")
            continue
        table = declared(fn)
        if not table:
            problems.append(f"{where}: item {spec_item.id} declares no sub-checks "
                            f"(@item({spec_item.id!r}, checks={{key: (title, points)}}))")
            continue
        bad = [k for k, (_, points) in table.items() if points < 0]
        if bad:
            problems.append(f"{where}: item {spec_item.id}: negative points on {', '.join(bad)}")
        total = sum(points for _, points in table.values())
        if abs(total - spec_item.points) > 1e-9:
            parts = " + ".join(f"{k} {p:g}" for k, (_, p) in table.items())
            problems.append(f"{where}: item {spec_item.id}: declared sub-checks add up to {total:g} "
                            f"({parts}), rubric.toml gives it {spec_item.points:g} points")
        titles = [title for title, _ in table.values()]
        if len(set(titles)) != len(titles):
            problems.append(f"{where}: item {spec_item.id}: two sub-checks share a title")
    return problems


def validate(pack: Pack) -> Pack:
    """The pack, or PackError with its first problem (and how many more)."""
    problems = pack_problems(pack)
    if problems:
        more = f" (and {len(problems) - 1} more: rnngrade pack check {pack.spec.id})" if len(problems) > 1 else ""
        raise PackError(problems[0] + more)
    return pack



def summary(pack: Pack) -> str:
    """The line `rnngrade pack check` prints for a pack without problems."""
    from grader.checks import declared

    subs = sum(len(declared(fn)) for fn in pack.checks.values())
    return f"ok: {pack.spec.id} ({len(pack.spec.items)} items, {subs} sub-checks)"
