"""The pipeline, one way: discover (grader/discover.py) -> load the units (grader/load.py) ->
run the items' checks (grader/context.py, grader/run.py) -> apply bans (grader/banned.py) ->
score (grader/score.py); the batch's files are grader/outputs.py's. Only orchestration
lives here. Keyword-only functions; the command line is a thin layer over them."""
from __future__ import annotations

import inspect
import logging
import secrets
import time
import traceback
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterable

from grader import banned
from grader import score
from grader.checks import declared, exception_text
from grader.context import Ctx, Memo, UnitMissing
from grader.discover import Submission, discover
from grader.load import NOT_A_NOTEBOOK, SourceUnit, answer_texts, extract_answer, load_units, support_files
from grader.outcomes import BatchResult, Check, ItemScore, SubmissionResult
from grader.packs import REPORT_CHECKS, Pack, PackError, load_pack, requirement_problems
from grader.sandbox import SandboxLost, StudentRaised, Worker, WorkerPool

log = logging.getLogger("rnngrade")


def default_timeout(pack: Pack, mode: str) -> float:
    if mode == "full" and pack.spec.timeout_full:
        return pack.spec.timeout_full
    return pack.spec.timeout


# -- one submission ----------------------------------------------------------------------


def _syntax_problem(unit: SourceUnit) -> str | None:
    try:
        compile(unit.source, unit.filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{unit.filename} has a syntax error at {unit.where(exc.lineno)}: {exc.msg}"
    except ValueError as exc:  # null bytes
        return f"{unit.filename} cannot be compiled: {exc}"
    return None


def _run_check(fn: Callable, ctx: Ctx) -> tuple[list, str | None]:
    """The envelope around a check function: a crash, a timeout, a lost child or student
    code raising inside a probe is a result for this item, never an escaping exception.
    Check functions may return a list or yield verdicts one by one (then the verdicts
    reported before a failure keep their points)."""
    reported: list = []
    try:
        result = fn(ctx)
        if inspect.isgenerator(result):
            for entry in result:
                reported.append(entry)
        else:
            reported = list(result or [])
        return reported, None
    except UnitMissing as exc:
        return reported, exc.reason
    except SandboxLost as exc:
        return reported, f"the run was lost: {exc.reason}"
    except StudentRaised as exc:
        return reported, exception_text(exc)
    except Exception as exc:  # a bug in the pack's check: the submission cannot be graded
        log.error("check %s failed:\n%s", ctx.item_id, traceback.format_exc())
        return reported, _fault(ctx, f"{type(exc).__name__}: {exc}")


def _fault(ctx: Ctx, what: str) -> str:
    """A bug of the pack's own code met on this submission: recorded (the submission is then
    not graded, _fault_reason) and written as the item's reason."""
    ctx.faults.append(f"item {ctx.item_id}: {what}")
    return f"grader error while checking this item ({what}); tell your TA"


def _fault_reason(pack: Pack, faults: list[str]) -> str:
    """Why a submission is not graded when the pack's own check code failed on it: the
    course staff's problem, said so, never a silent partial score."""
    return (f"grader error in the {pack.spec.id} pack's checks ({'; '.join(faults)[:600]}): the pack is "
            f"broken, not the submission; course staff: see the grader's log for the traceback, fix "
            f"the pack (rnngrade pack check {pack.spec.id}) and grade again")


def _item_checks(fn: Callable, ctx: Ctx) -> tuple[list[Check], str | None]:
    """Run an auto item's check function and resolve its verdicts against its declaration."""
    reported, reason = _run_check(fn, ctx)
    table = declared(fn)  # never empty for an auto item: grader.validate refuses the pack
    try:
        return score.resolve(table, reported, reason=reason), reason
    except score.PackBug as exc:
        log.error("check %s: %s", ctx.item_id, exc)
        reason = _fault(ctx, str(exc))
        return score.resolve(table, [], reason=reason), reason


class NotGraded(Exception):
    """A submission the grader cannot grade at all (no score; listed under "could not be graded")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def grade_submission(pack: Pack, submission: Submission, *, worker: Worker | None, seed: int,
                     mode: str = "budget", data_dir: Path | None = None, timeout: float | None = None,
                     memo: Memo | None = None, manual_scores: dict[str, dict[str, float]] | None = None,
                     public_only: bool = False) -> SubmissionResult:
    started = time.perf_counter()
    spec = pack.spec
    units, missing = load_units(pack, submission.files)
    for name, unit in list(units.items()):
        problem = _syntax_problem(unit)
        if problem:
            missing[name] = problem
            del units[name]
    if not units and any(NOT_A_NOTEBOOK in reason for reason in missing.values()):
        # nothing to run and the notebook is not JSON: no score at all, said once
        raise NotGraded("; ".join(r for r in missing.values() if NOT_A_NOTEBOOK in r))
    ctx = Ctx(pack=pack, units=units, missing=missing, worker=worker, seed=seed, mode=mode,
              data_dir=data_dir, memo=memo or Memo(), timeout=timeout or default_timeout(pack, mode),
              hidden=_hidden_paths(pack), support=support_files(units, submission.files))
    ctx.files = [Path(f) for f in submission.files]  # every submitted file (a report beside the code)
    texts = answer_texts(list(submission.files), list(units.values()))
    ta = (manual_scores or {}).get(submission.student, {})
    items: list[ItemScore] = []
    for item in spec.items:
        if public_only and not item.public:
            continue
        ctx.item_id = item.id
        if item.kind == "manual":
            manual = score.manual_item(item, answer=extract_answer(texts, item.question or ""),
                                       ta_points=ta.get(item.id))
            fn = pack.checks.get(item.id)
            if fn is not None:  # evidence shown beside a manual item: checks worth no points
                manual = replace(manual, checks=_evidence(fn, ctx, "evidence"),
                                 level_cap=ctx.level_caps.get(item.id))
                if item.id in ctx.answers:
                    manual = replace(manual, answer=ctx.answers[item.id][:5000], reason=None)
            items.append(manual)
            continue
        absent = [missing[u] for u in item.units if u in missing]
        if absent:
            items.append(score.zero_item(score.score_item(item, []), absent[0]))
            continue
        fn = pack.checks.get(item.id)
        if fn is None:
            items.append(score.zero_item(score.score_item(item, []), "this item has no automatic check yet"))
            continue
        checks, reason = _item_checks(fn, ctx)
        items.append(score.score_item(item, checks, reason=reason,
                                      provisional=item.id in ctx.provisional_items))
    ctx.item_id = None
    report_checks = _evidence(pack.checks[REPORT_CHECKS], ctx, "report") if REPORT_CHECKS in pack.checks else ()
    runtime = {}
    for run in ctx.runs:
        runtime.setdefault(run.unit.name, []).extend(run.banned_calls)
    bans = banned.ban_reasons(spec.banned, units, runtime)
    items = [score.zero_item(i, "; ".join(bans[i.id])) if i.id in bans and i.kind == "auto" else i
             for i in items]
    unit_runs = tuple(ctx.close())
    if ctx.faults:
        raise NotGraded(_fault_reason(pack, ctx.faults))
    notes = list(ctx.notes)
    for name, reason in missing.items():
        notes.insert(0, reason)
    return SubmissionResult(pack=spec.id, pack_title=spec.title, student=submission.student,
                            items=tuple(items), seed=seed,
                            sandbox=worker.level if worker else "not run", runs=unit_runs,
                            notes=tuple(notes), error=_submission_error(units, missing),
                            seconds=time.perf_counter() - started,
                            student_seconds=sum(r.seconds for r in unit_runs), mode=mode,
                            submitters=tuple(submission.submitters), report_checks=report_checks)


def _evidence(fn: Callable, ctx: Ctx, name: str) -> tuple[Check, ...]:
    """A check function whose checks are evidence for a TA, worth no points (a manual item's,
    the report as a whole); why it could not finish is one more failed check."""
    checks, reason = _run_check(fn, ctx)
    evidence = [replace(c, points=0.0, max_points=0.0) for c in checks if isinstance(c, Check)]
    if reason:
        evidence.append(Check.failed(name, 0, hint=reason))
    return tuple(evidence)


def _submission_error(units: dict, missing: dict) -> str | None:
    if units:
        return None
    return "; ".join(missing.values()) or "nothing could be graded"


def _hidden_paths(pack: Pack) -> list[str]:
    from grader.packs import project_root

    from grader.packs import hidden_pack_paths

    root = project_root()
    paths = [str(root / "reference"), str(root / "assignments"), str(root / "submissions"), str(root / "tests"),
             str(pack.spec.dir), *hidden_pack_paths()]
    if pack.reference_path is not None:
        paths.append(str(pack.reference_path.parent))
    return list(dict.fromkeys(paths))


# -- a batch ---------------------------------------------------------------------------------


def _refuse_pack_inside(pack: Pack, paths: Iterable[Path]) -> None:
    """Packs are also found in the current checkout: a TA grading from inside a student's
    folder would otherwise use a pack (checks.py, reference) the student brought along."""
    pack_dir = pack.spec.dir.resolve()
    for path in paths:
        root = Path(path).resolve()
        if root.is_dir() and pack_dir.is_relative_to(root):
            raise PackError(f"the pack {pack.spec.id} was found in {pack_dir}, inside the submissions being "
                            f"graded ({path}): a student could have put it there; grade from the course "
                            "checkout or set RNNGRADE_HOME to it")


def grade_batch(*, pack_id: str, paths: list[Path], jobs: int = 1, timeout: float | None = None,
                data_dir: Path | None = None, manual: Path | None = None, mode: str = "budget",
                seed: int | None = None, pool: WorkerPool | None = None, public_only: bool = False,
                progress: Callable[[int, int, SubmissionResult], None] | None = None,
                known_students: Iterable[str] = (), cluster: str | None = None) -> BatchResult:
    """`manual`: the TA's CSV, validated before anyone runs (grader.manual.ManualError lists
    every problem); `known_students`: students already in the output folder, whose scores
    the CSV may carry too; `cluster`: a Dask scheduler's address (grader.cluster)."""
    from grader import manual as manual_mod

    pack = load_pack(pack_id)
    _refuse_pack_inside(pack, paths)
    submissions, failures = discover([Path(p) for p in paths], pack.spec)
    ta_scores = {}
    if manual is not None:
        ta_scores = manual_mod.read_manual_csv(manual, pack.spec,
                                               [s.student for s in submissions] + list(known_students))
    seed = seed if seed is not None else secrets.randbelow(2**31)
    batch = BatchResult(pack.spec.id, pack.spec.title, failures=list(failures), seed=seed,
                        manual_scores=ta_scores, similarity=[])
    if not submissions:
        return batch
    manual_scores = manual_mod.as_points(ta_scores)
    if cluster:  # a Dask scheduler grades them; its workers check their own install and data
        from grader.cluster import grade_on_cluster

        results, failures = grade_on_cluster(cluster, pack, submissions, seed=seed, mode=mode,
                                             data_dir=data_dir, timeout=timeout, public_only=public_only,
                                             manual_scores=manual_scores, progress=progress)
        batch.results, batch.failures = results, batch.failures + failures
    else:
        # grader-side problems (a missing library or data set) are checked before anyone runs:
        # every submission is "could not be graded", never a partial score blamed on the student
        problems = requirement_problems(pack.spec, data_dir, mode)
        if problems:
            batch.failures += [(sub.origin or sub.student,
                                f"{sub.student}: could not be graded: " + "; ".join(problems))
                               for sub in submissions]
            return batch
        _grade_locally(pack, submissions, batch, jobs=jobs, pool=pool, progress=progress,
                       grade=dict(seed=seed, mode=mode, data_dir=data_dir, timeout=timeout, memo=Memo(),
                                  manual_scores=manual_scores, public_only=public_only))
    order = {s.student: i for i, s in enumerate(submissions)}
    batch.results.sort(key=lambda r: order.get(r.student, 0))
    batch.similarity = _similarity(pack, submissions)
    return batch


def _grade_locally(pack: Pack, submissions: list[Submission], batch: BatchResult, *, jobs: int,
                   pool: WorkerPool | None, progress: Callable | None, grade: dict) -> None:
    """Each submission on a warm worker of the pool (`jobs` at a time); results and failures
    go into `batch` as they finish. `grade`: grade_submission's keyword arguments."""
    own_pool = pool is None
    pool = pool or WorkerPool(imports=pack.spec.warm, size=max(1, jobs))
    done = 0

    def one(sub: Submission) -> SubmissionResult:
        worker = pool.acquire()
        try:
            return grade_submission(pack, sub, worker=worker, **grade)
        finally:
            pool.release(worker)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as executor:
            futures = {executor.submit(one, sub): sub for sub in submissions}
            for future in as_completed(futures):
                sub = futures[future]
                try:
                    result = future.result()
                except NotGraded as exc:
                    batch.failures.append((sub.origin or sub.student,
                                           f"{sub.student}: could not be graded: {exc.reason}"))
                    continue
                except Exception as exc:  # the engine itself failed on this one: the batch goes on
                    log.error("grading %s failed:\n%s", sub.student, traceback.format_exc())
                    batch.failures.append((sub.origin, f"internal error: {type(exc).__name__}: {exc}"))
                    continue
                batch.results.append(result)
                done += 1
                if progress:
                    progress(done, len(submissions), result)
    finally:
        if own_pool:
            pool.close()


def _similarity(pack: Pack, submissions: list[Submission]) -> list:
    """Possibly shared code (evidence for the TA; never changes a score, never stops a batch)."""
    from grader import similarity

    try:
        return similarity.compare_submissions(pack, submissions)
    except Exception:
        log.warning("similarity could not be computed:\n%s", traceback.format_exc())
        return []
