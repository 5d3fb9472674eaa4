"""The output folder of a batch: every student's stored result, results.json and
report.html, grades.csv, similarity.csv, index.html and the TA scores (manual.json),
written from graded results merged with what the folder already holds. No student code
runs here."""
from __future__ import annotations

from pathlib import Path

from grader.outcomes import BatchResult, SubmissionResult
from grader.packs import load_pack


def stored_seed(out: Path | None) -> int | None:
    """The seed of the batch already graded into `out` (reused unless --seed says otherwise)."""
    from grader import store

    if out is None:
        return None
    info = store.read_batch_info(out)
    return info["seed"] if info else None


def write_outputs(batch: BatchResult, out: Path) -> BatchResult:
    """Write every output file, merging into what `out` already holds: the students of
    `batch` replace their stored results, every other stored student is kept, the TA scores
    of OUT/manual.json and the batch's --manual CSV (which wins) are applied to all.
    Returns the merged batch as written (manual scores applied)."""
    from grader import manual, store

    spec = load_pack(batch.pack).spec
    out.mkdir(parents=True, exist_ok=True)
    info = store.read_batch_info(out)
    if info is not None and info["pack"] != batch.pack:
        raise store.StoreError(f"{out} holds a graded batch of {info['pack']}, not {batch.pack}: "
                               "choose another --out")
    graded = {r.student for r in batch.results}
    kept: list[SubmissionResult] = []
    failures = list(batch.failures)
    if info is not None:
        kept = [store.read_result(out / s / store.STORE_NAME) for s in store.stored_students(out)
                if s not in graded]
        new_paths = {p for p, _ in batch.failures}
        failures += [(p, r) for p, r in info.get("failures", [])
                     if p not in new_paths and Path(p).stem not in graded and Path(p).name not in graded]
    stripped = [manual.strip(r, spec) for r in batch.results]
    for result in stripped:
        store.write_result(result, out / result.student)
    given = manual.merged(manual.from_results(batch.results), batch.manual_scores)
    scores = manual.merged(manual.read_manual_json(out, spec), given)
    manual.write_manual_json(out, scores)
    stored = BatchResult(batch.pack, batch.pack_title, results=stripped + kept, failures=failures,
                         seed=batch.seed, similarity=batch.similarity)
    store.write_batch_info(stored, out)
    return render_outputs(stored, out, scores, spec)


def render_outputs(stored: BatchResult, out: Path, scores: dict, spec, *,
                   only: str | None = None) -> BatchResult:
    """The sinks' files from stored results + TA scores: each student's results.json and
    report.html (only `only`'s when given), grades.csv and index.html. No student code runs."""
    from grader import gradebook, manual, report, results_json, similarity

    results = [manual.apply(r, spec, scores.get(r.student)) for r in stored.results]
    batch = BatchResult(stored.pack, stored.pack_title, results=results, failures=list(stored.failures),
                        seed=stored.seed, similarity=stored.similarity)
    for result in results:
        if only is not None and result.student != only:
            continue
        folder = out / result.student
        folder.mkdir(parents=True, exist_ok=True)
        results_json.write_results_json(result, folder / "results.json")
        report.write_student_report(result, folder / "report.html")
    gradebook.write_grades_csv(batch, out / "grades.csv")
    if batch.similarity is not None:  # None: not computed this run, the file there stays
        similarity.write_csv(batch.similarity, out / "similarity.csv")
    report.write_class_summary(batch, out / "index.html")
    return batch
