"""Possibly shared code: pairwise similarity of a batch's submissions.

Fingerprinting is copydetect's (PyPI `copydetect`, the MOSS-style tool): pygments tokens
with every variable, function and class name replaced by one letter and strings, comments
and whitespace dropped, then winnowed character k-grams. Chosen over writing our own
winnowing because it is small, pure Python over numpy and pygments (both already here),
works offline, is maintained and used by courses for exactly this, and maps matches back
to the original text so regions can be named. The handout's own fingerprints are passed
as copydetect's "boilerplate" and never count, so two untouched handouts score 0.

This is evidence for a TA, never a verdict: nothing here changes a score. Pairs are
written to similarity.csv and the highest are listed on the class page.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Iterable

log = logging.getLogger("rnngrade")

NOISE = 25  # matches shorter than this many normalised characters are ignored
GUARANTEE = 30  # matches at least this long are always found
FLAG = 0.5  # pairs at or above this score are listed on the class page
MIN_TOKENS = 20  # a submission with fewer own (non-handout) characters is not compared
PAGE_ROWS = 25
MAX_CHARS = 400_000  # of one student's code: beyond this the text is cut (tokenizing is linear, but bounded)


@dataclass(frozen=True)
class Region:
    file_a: str
    where_a: str
    file_b: str
    where_b: str

    def text(self) -> str:
        return f"{self.file_a} {self.where_a} ~ {self.file_b} {self.where_b}"


@dataclass(frozen=True)
class Pair:
    student_a: str
    student_b: str
    score: float  # in [0, 1]: the larger of the two shares below
    share_a: float  # share of a's own (non-handout) code found in b
    share_b: float
    regions: tuple[Region, ...] = ()


@dataclass(frozen=True)
class _Segment:
    start: int  # character offset in the student's combined text
    filename: str
    where: object  # SourceUnit.where, or a plain "line N"


class _Doc:
    """One student's code: every source unit (notebook cells already joined) in one text."""

    def __init__(self, student: str, units: Iterable) -> None:
        self.student = student
        self.segments: list[_Segment] = []
        parts, offset = [], 0
        for unit in units:
            self.segments.append(_Segment(offset, unit.filename, unit.where))
            parts.append(unit.source)
            offset += len(unit.source) + 1
        self.text = "\n".join(parts)[:MAX_CHARS]

    def locate(self, start: int, end: int) -> tuple[str, str]:
        seg = self.segments[0]
        for s in self.segments:
            if s.start <= start:
                seg = s
        first = self.text.count("\n", seg.start, start) + 1
        last = self.text.count("\n", seg.start, max(start, end - 1)) + 1
        a, b = seg.where(first), seg.where(last)
        if a == b:
            return seg.filename, a
        if a.startswith("line ") and b.startswith("line "):
            return seg.filename, f"lines {first}-{last}"
        return seg.filename, f"{a} to {b}"


def _fingerprint(text: str, boilerplate=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("code.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(text))


def handout_fingerprints(pack) -> list[int]:
    """Fingerprints of the pack's handout: each file alone (scripts, notebooks' code cells)
    and its units joined as a submission's are, so the seams between files count too."""
    from grader.load import LoadError, load_file, load_units

    handout_dir = getattr(pack, "handout_dir", None)
    if handout_dir is None or not Path(handout_dir).is_dir():
        return []
    files = [p for p in sorted(Path(handout_dir).rglob("*")) if p.suffix in (".py", ".ipynb") and p.is_file()]
    hashes: set[int] = set()
    for path in files:
        try:
            hashes |= set(_fingerprint(load_file(path, "handout").source).hashes)
        except (LoadError, OSError, UnicodeError):
            continue
    try:
        units, _ = load_units(pack, files)
        if units:
            hashes |= set(_fingerprint(_Doc("handout", units.values()).text).hashes)
    except Exception:
        pass
    return sorted(hashes)


def compare(docs: dict[str, list], handout: list[int] | None = None) -> list[Pair]:
    """docs: student -> their SourceUnits. Every pair, highest score first."""
    from copydetect import compare_files

    prints, texts = {}, {}
    for student, units in docs.items():
        if not units:
            continue
        doc = _Doc(student, units)
        try:
            fp = _fingerprint(doc.text, handout or None)
        except Exception as exc:  # a tokenizer surprise costs this student's comparison only
            log.warning("similarity: %s not compared (%s)", student, exc)
            continue
        if fp.token_coverage < MIN_TOKENS:
            continue
        prints[student], texts[student] = fp, doc
    pairs = []
    for a, b in combinations(sorted(prints), 2):
        overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        share_a, share_b = _unit(share_a), _unit(share_b)
        regions = []
        if overlap:
            for (sa, ea), (sb, eb) in zip(zip(*slices_a), zip(*slices_b)):
                fa, wa = texts[a].locate(int(sa), int(ea))
                fb, wb = texts[b].locate(int(sb), int(eb))
                regions.append(Region(fa, wa, fb, wb))
        pairs.append(Pair(a, b, round(max(share_a, share_b), 3), round(share_a, 3), round(share_b, 3),
                          tuple(regions)))
    pairs.sort(key=lambda p: (-p.score, p.student_a, p.student_b))
    return pairs


def _unit(x) -> float:
    x = float(x)
    return 0.0 if x != x else min(1.0, max(0.0, x))  # NaN (nothing own) -> 0


def compare_submissions(pack, submissions) -> list[Pair]:
    """The batch's submissions as loaded for grading (their own units), handout subtracted."""
    from grader.load import load_units

    docs = {}
    for sub in submissions:
        try:
            units, _missing = load_units(pack, sub.files)
        except Exception:
            continue
        docs[sub.student] = list(units.values())
    return compare(docs, handout_fingerprints(pack))


HEADER = ["student_a", "student_b", "score", "share_a", "share_b", "regions"]


def write_csv(pairs: list[Pair], path: str | Path) -> Path:
    from grader.gradebook import _cell

    path = Path(path)
    with path.open("w", newline="", encoding="utf-8", errors="replace") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for p in pairs:
            writer.writerow([_cell(p.student_a), _cell(p.student_b), f"{p.score:.3f}", f"{p.share_a:.3f}",
                             f"{p.share_b:.3f}", _cell("; ".join(r.text() for r in p.regions))])
    return path


def read_csv(path: str | Path) -> list[Pair] | None:
    """The pairs of a similarity.csv written earlier (None when there is none or it is unreadable)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        pairs = []
        for row in rows:
            regions = []
            for text in filter(None, (row.get("regions") or "").split("; ")):
                left, _, right = text.partition(" ~ ")
                fa, _, wa = left.partition(" ")
                fb, _, wb = right.partition(" ")
                regions.append(Region(fa, wa, fb, wb))
            pairs.append(Pair(_uncell(row["student_a"]), _uncell(row["student_b"]), float(row["score"]),
                              float(row["share_a"]), float(row["share_b"]), tuple(regions)))
        return pairs
    except (OSError, KeyError, ValueError, UnicodeError):
        return None


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:2] in ("=", "+", "-", "@") else text


def flagged(pairs: list[Pair] | None, limit: int = PAGE_ROWS) -> list[Pair]:
    pairs = pairs or []
    return [p for p in pairs if p.score >= FLAG][:limit]
