"""The HTML sink: report.html per student and the class summary index.html.

Templates live in grader/templates (Jinja2, autoescape on: student stdout, answers,
error messages and figure titles all end up in the page). The pages are
self-contained: CSS inline, figures as base64 PNG data URIs, no scripts, nothing
fetched from the network, so a TA can mail or archive a report as one file.
"""
from __future__ import annotations

from functools import lru_cache

import base64
import statistics
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2

from .outcomes import BatchResult, Figure, ItemScore, SubmissionResult, UnitRun
from .gradebook import row_status, rubric_columns
from .views import all_or_nothing_note, answer_hint, clip, fmt_points, rubric_order

TEMPLATES = Path(__file__).parent / "templates"
STDOUT_LIMIT = 20_000  # characters of student stdout shown per run (head and tail kept)
ANSWER_LIMIT = 20_000  # characters of a manual answer shown to the TA
MAX_FIGURES = 24  # per run: a plotting loop must not make a 100 MB page
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=True,  # explicit: select_autoescape would not match the ".html.j2" names
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["pts"] = fmt_points
_env.filters["clip"] = clip


def _markdown(text: str) -> str:
    from .markdown_view import render_markdown

    return render_markdown(text)


_env.filters["markdown"] = _markdown


@lru_cache(maxsize=64)
def markdown_answers(pack_id: str) -> bool:
    """The pack's manual answers are Markdown (rubric.toml `[options] answers = "markdown"`,
    as assignment7's report sections): shown rendered beside their evidence."""
    import tomllib

    from .packs import assignments_dir

    try:
        with open(assignments_dir() / pack_id / "rubric.toml", "rb") as fh:
            return tomllib.load(fh).get("options", {}).get("answers") == "markdown"
    except (OSError, ValueError):
        return False


# --- per student -----------------------------------------------------------------------

def write_student_report(result: SubmissionResult, path: str | Path) -> Path:
    """Write report.html for one submission and return its path. Each figure is also
    written as a PNG under figures/ beside it, so the page can open it full size."""
    path = Path(path)
    links = write_figures(result, path.parent / FIGURES)
    return _write(path, render_student_report(result, figure_links=links))


FIGURES = "figures"


def write_figures(result: SubmissionResult, folder: Path) -> dict[tuple[int, int], str]:
    """(run index, figure index) -> relative link of the PNG written for it."""
    links = {}
    for r, run in enumerate(result.runs):
        for f, figure in enumerate(run.figures[:MAX_FIGURES]):
            if not figure.png.startswith(_PNG_MAGIC):
                continue
            folder.mkdir(parents=True, exist_ok=True)
            name = f"run{r + 1}-fig{f + 1}.png"
            (folder / name).write_bytes(figure.png)
            links[(r, f)] = f"{FIGURES}/{name}"
    return links


def render_student_report(result: SubmissionResult, *,
                          figure_links: dict[tuple[int, int], str] | None = None,
                          review: dict | None = None) -> str:
    """`review`: the review server's form data (grader.review); None for the static page."""
    return _env.get_template("report.html.j2").render(
        review=review,
        r=result,
        items=rubric_order(result.items),
        provisional=result.provisional,
        pending=result.pending_points,
        runs=[_run_view(run, r, figure_links or {}) for r, run in enumerate(result.runs)],
        answer_limit=ANSWER_LIMIT,
        markdown_answers=markdown_answers(result.pack),
        item_class=_item_class,
        aon_note=all_or_nothing_note,
        answer_hint=answer_hint,
    )


@dataclass(frozen=True)
class _FigureView:
    title: str
    uri: str | None  # None: the bytes were not a PNG, so nothing is embedded
    href: str | None = None  # the PNG written beside the report (full size)


@dataclass(frozen=True)
class _RunView:
    run: UnitRun
    stdout: str
    stdout_lines: int
    figures: list[_FigureView]
    figures_hidden: int


def _run_view(run: UnitRun, index: int = 0, links: dict | None = None) -> _RunView:
    shown = run.figures[:MAX_FIGURES]
    return _RunView(run=run, stdout=clip(run.stdout, STDOUT_LIMIT),
                    stdout_lines=len(run.stdout.splitlines()),
                    figures=[_figure_view(f, (links or {}).get((index, k))) for k, f in enumerate(shown)],
                    figures_hidden=len(run.figures) - len(shown))


def _figure_view(figure: Figure, href: str | None = None) -> _FigureView:
    title = " ".join(x for x in (figure.title, f"({figure.unit})" if figure.unit else "") if x)
    if not figure.png.startswith(_PNG_MAGIC):
        return _FigureView(title, None)
    data = base64.b64encode(figure.png).decode("ascii")
    return _FigureView(title, f"data:image/png;base64,{data}", href)


def _item_class(item: ItemScore | None) -> str:
    """CSS class for an item's points: full / partial / zero / pending / missing."""
    if item is None:
        return "missing"
    if item.pending:
        return "pending"
    if item.points >= item.max_points:
        return "full"
    return "partial" if item.points > 0 else "zero"


# --- class summary -----------------------------------------------------------------------

def write_class_summary(batch: BatchResult, path: str | Path) -> Path:
    """Write the class summary index.html (links to `<student>/report.html`). A batch
    rebuilt without similarity (None) shows the similarity.csv already beside it."""
    from . import similarity

    pairs = batch.similarity
    if pairs is None:
        pairs = similarity.read_csv(Path(path).parent / "similarity.csv")
    return _write(path, render_class_summary(batch, pairs=pairs))


def render_class_summary(batch: BatchResult, *, pairs: list | None = None) -> str:
    results = sorted(batch.results, key=lambda r: r.student)
    columns = rubric_columns(batch)
    stats = [item_stats(batch, col) for col in columns]
    hardest = most_lost(stats)
    # manual points awaiting a TA are pending, never lost: while any are, the distribution
    # and the mean are over the auto-graded points and the pending points are counted apart
    any_pending = any(r.pending_points for r in results)
    if any_pending:
        totals = [r.auto_score for r in results]
        max_score = max((r.auto_max for r in results), default=0.0)
    else:
        totals = [r.score for r in results]
        max_score = max((r.max_score for r in results), default=0.0)
    from . import similarity

    return _env.get_template("index.html.j2").render(
        any_pending=any_pending,
        shared=similarity.flagged(pairs if pairs is not None else batch.similarity),
        compared=len((pairs if pairs is not None else batch.similarity) or []),
        similarity_known=pairs is not None or batch.similarity is not None,
        flag=similarity.FLAG,
        any_errors=any(r.error for r in results),
        batch=batch,
        columns=columns,
        rows=[_student_row(r, columns) for r in results],
        stats=stats,
        lost=sorted((s for s in stats if s.mean is not None), key=_lost_key),
        hardest=hardest,
        overview=_overview(totals, max_score, batch, results if any_pending else None),
        histogram=histogram(totals, max_score),
        any_provisional=any(r.provisional for r in results),
        any_unconfined=any(r.sandbox == "none" for r in results),
    )


@dataclass(frozen=True)
class ItemStats:
    id: str
    name: str
    number: int
    kind: str
    max_points: float
    mean: float | None  # over students whose item is scored (None: nobody's is yet)
    full_pct: float | None  # % of scored students with full marks
    scored: int
    pending: int

    @property
    def mean_fraction(self) -> float | None:
        if self.mean is None or self.max_points <= 0:
            return None
        return self.mean / self.max_points


def item_stats(batch: BatchResult, column: ItemScore) -> ItemStats:
    found = [i for r in batch.results for i in r.items if i.id == column.id]
    scored = [i for i in found if not i.pending]
    mean = statistics.fmean(i.points for i in scored) if scored else None
    full = 100.0 * sum(i.points >= i.max_points for i in scored) / len(scored) if scored else None
    return ItemStats(column.id, column.name, column.number, column.kind, column.max_points,
                     mean, full, len(scored), len(found) - len(scored))


def most_lost(stats: list[ItemStats]) -> ItemStats | None:
    """The item most students lose: lowest share of full marks, then lowest mean share,
    among items that are scored and not all full (pending manual items say nothing)."""
    candidates = [s for s in stats if s.full_pct is not None and s.full_pct < 100.0]
    return min(candidates, key=_lost_key, default=None)


def _lost_key(s: ItemStats) -> tuple:
    return (s.full_pct if s.full_pct is not None else 101.0,
            s.mean_fraction if s.mean_fraction is not None else 2.0, s.number)


@dataclass(frozen=True)
class _Cell:
    text: str
    css: str
    title: str


@dataclass(frozen=True)
class _StudentRow:
    result: SubmissionResult
    href: str
    cells: list[_Cell]
    status: str
    total_css: str
    pending: float  # manual points awaiting a TA (not lost)


def _student_row(result: SubmissionResult, columns: list[ItemScore]) -> _StudentRow:
    by_id = {i.id: i for i in result.items}
    cells = []
    for col in columns:
        item = by_id.get(col.id)
        if item is None:
            cells.append(_Cell("–", "missing", "not graded"))
        elif item.pending:
            cells.append(_Cell("pending", "pending", "awaiting a TA"))
        else:
            title = item.reason or f"{fmt_points(item.points)}/{fmt_points(item.max_points)}"
            cells.append(_Cell(fmt_points(item.points), _item_class(item), clip(title, 300)))
    pending = result.pending_points
    scored_max = result.max_score - pending  # pending points are not lost: judged on what is scored
    frac = result.score / scored_max if scored_max else 0.0
    total_css = "full" if frac >= 1 else ("partial" if frac > 0 else "zero")
    if pending and scored_max <= 0:
        total_css = "pending"
    return _StudentRow(result, student_href(result.student), cells, row_status(result), total_css, pending)


def student_href(student: str) -> str:
    """Relative link to a student's report; every character that could break out of the
    path (slashes, colons of a `javascript:` scheme, spaces) is percent-encoded."""
    return f"{quote(student, safe='')}/report.html"


def _overview(totals: list[float], max_score: float, batch: BatchResult,
              pending: list[SubmissionResult] | None = None) -> list[tuple[str, str]]:
    facts = [("Graded", str(len(totals))), ("Could not be graded", str(len(batch.failures)))]
    if totals:
        label = "Mean (auto-graded)" if pending else "Mean"
        facts += [(label, f"{fmt_points(statistics.fmean(totals))} / {fmt_points(max_score)}"),
                  ("Median", fmt_points(statistics.median(totals))),
                  ("Lowest", fmt_points(min(totals))), ("Highest", fmt_points(max(totals)))]
    if pending:
        waiting = [r for r in pending if r.pending_points]
        facts.append(("Manual: pending", f"{len(waiting)} student{'s' if len(waiting) != 1 else ''}"))
    facts.append(("Seed", str(batch.seed)))
    return facts


@dataclass(frozen=True)
class Bin:
    label: str
    low: float
    high: float
    count: int


def histogram(totals: list[float], max_score: float, bins: int = 10) -> list[Bin]:
    """Equal-width bins over [0, max_score]; the last bin includes max_score itself."""
    if max_score <= 0:
        return [Bin("0", 0.0, 0.0, len(totals))] if totals else []
    width = max_score / bins
    counts = [0] * bins
    for total in totals:
        index = int(min(max(total, 0.0), max_score) / width)
        counts[min(index, bins - 1)] += 1
    return [Bin(f"{fmt_points(k * width)}–{fmt_points((k + 1) * width)}", k * width,
                (k + 1) * width, counts[k]) for k in range(bins)]


def _write(path: str | Path, html: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # errors="replace": a lone surrogate in student output must not lose the whole report
    path.write_text(html, encoding="utf-8", errors="replace")
    return path


_env.filters["href"] = student_href
