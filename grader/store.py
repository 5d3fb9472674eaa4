"""What an output folder keeps so that it can be re-rendered without re-grading.

`grade` writes, next to the sinks' files:

- OUT/batch.json            the pack, the batch's seed and the inputs that could not be graded
- OUT/<student>/result.json  the whole SubmissionResult (figures as base64 PNG), as graded,
                             before any TA score: manual items keep their extracted answers
- OUT/manual.json            the TA's scores and comments (grader.manual), applied on top

`review` and a later `grade --out` into the same folder read them back: a re-graded
student's stored result is replaced, everybody else's is kept, and every page, results.json
and grades.csv is rebuilt from the stored results plus manual.json. These files are written
by the grader process only; student code never sees the output folder.
"""
from __future__ import annotations

import base64
import json
from dataclasses import asdict
from pathlib import Path

from .outcomes import (BatchResult, Check, Figure, ItemScore, StudentError, SubmissionResult,
                       UnitRun)
from .results_json import write_json

STORE_NAME = "result.json"
BATCH_NAME = "batch.json"
FORMAT = 1


class StoreError(Exception):
    """A stored file that cannot be read back: said with its path, never a traceback."""


def result_to_doc(result: SubmissionResult) -> dict:
    doc = asdict(result)
    doc["format"] = FORMAT
    for run in doc["runs"]:
        run["figures"] = [{"png": base64.b64encode(f["png"]).decode("ascii"), "title": f["title"],
                           "unit": f["unit"]} for f in run["figures"]]
    return doc


def result_from_doc(doc: dict) -> SubmissionResult:
    items = tuple(ItemScore(**{**i, "checks": tuple(Check(**c) for c in i["checks"])})
                  for i in doc["items"])
    runs = tuple(UnitRun(**{**r, "error": StudentError(**r["error"]) if r.get("error") else None,
                            "figures": tuple(Figure(base64.b64decode(f["png"]), f["title"], f["unit"])
                                             for f in r["figures"]),
                            "notes": tuple(r["notes"])})
                 for r in doc["runs"])
    fields = {k: v for k, v in doc.items() if k not in ("format", "items", "runs")}
    fields["notes"] = tuple(fields.get("notes", ()))
    fields["submitters"] = tuple(tuple(s) for s in fields.get("submitters", ()))
    fields["report_checks"] = tuple(Check(**c) for c in fields.get("report_checks", ()))
    return SubmissionResult(items=items, runs=runs, **fields)


def write_result(result: SubmissionResult, folder: Path) -> Path:
    return write_json(result_to_doc(result), Path(folder) / STORE_NAME)


def read_result(path: Path) -> SubmissionResult:
    try:
        return result_from_doc(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise StoreError(f"{path}: cannot be read back ({type(exc).__name__}: {exc})") from exc


def write_batch_info(batch: BatchResult, out: Path) -> Path:
    return write_json({"format": FORMAT, "pack": batch.pack, "pack_title": batch.pack_title,
                       "seed": batch.seed, "failures": [list(f) for f in batch.failures]},
                      Path(out) / BATCH_NAME)


def read_batch_info(out: Path) -> dict | None:
    """OUT/batch.json, or None when OUT holds no graded batch yet."""
    path = Path(out) / BATCH_NAME
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("pack"), str) \
                or not isinstance(doc.get("seed"), int):
            raise ValueError("no pack or seed")
        return doc
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: cannot be read back ({exc})") from exc


def stored_students(out: Path) -> list[str]:
    out = Path(out)
    if not out.is_dir():
        return []
    return sorted(p.parent.name for p in out.glob(f"*/{STORE_NAME}") if p.is_file())


def load_batch(out: Path) -> BatchResult:
    """The batch as stored in OUT (results as graded, before manual scores)."""
    info = read_batch_info(out)
    if info is None:
        raise StoreError(f"{out}: not a graded output folder (no {BATCH_NAME}; run `rnngrade grade "
                         f"PACK SUBMISSIONS --out {out}` first)")
    results = [read_result(Path(out) / s / STORE_NAME) for s in stored_students(out)]
    return BatchResult(info["pack"], info.get("pack_title", info["pack"]), results=results,
                       failures=[tuple(f) for f in info.get("failures", [])], seed=info["seed"])
