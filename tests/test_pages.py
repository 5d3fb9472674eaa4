"""The class page and a student report in headless Chromium (Debian's /usr/bin/chromium
driven by Playwright; no browser download), at 1280 and 390 px. Screenshots are kept under
$RNNGRADE_SCREENSHOTS (default: <tmp>/rnngrade-pages) for a human to look at."""
from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from grader.outcomes import BatchResult, Check, ItemScore
from grader.report import write_class_summary, write_student_report
from results_factory import make_batch, make_result

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
SHOTS = Path(os.environ.get("RNNGRADE_SCREENSHOTS", Path(tempfile.gettempdir()) / "rnngrade-pages"))
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def wide_batch() -> BatchResult:
    """make_batch() with 12 more auto items: a table wider than any screen."""
    batch = make_batch()
    extra = tuple(ItemScore(f"extra-item-{k}", f"Extra item {k}", 10 + k, "auto", 1.0, 2.0,
                            checks=(Check.partial("part", 1, 2),)) for k in range(12))
    batch.results = [replace(r, items=r.items + extra) for r in batch.results]
    batch.results[0] = replace(batch.results[0], student="a-student-with-a-rather-long-folder-name")
    return batch


def open_page(browser, path: Path, width: int, shot: str):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(path.as_uri())
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{shot}-{width}.png"), full_page=True)
    return page


def visible_x(page, box) -> bool:
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 0.5


@pytest.mark.parametrize("width", WIDTHS)
def test_class_page_fits_and_keeps_name_and_status_in_view(browser, tmp_path, width):
    index = write_class_summary(wide_batch(), tmp_path / "index.html")
    page = open_page(browser, index, width, "class")
    # the page itself never scrolls sideways: only the students table does
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    scroller = page.locator("#students")
    assert page.evaluate("e => e.scrollWidth > e.clientWidth", scroller.element_handle())
    page.evaluate("e => { e.scrollLeft = e.scrollWidth; }", scroller.element_handle())
    page.wait_for_timeout(100)
    page.screenshot(path=str(SHOTS / f"class-scrolled-{width}.png"), full_page=True)
    for student, status in (("bob", "error"), ("a-student-with-a-rather-long-folder-name", "pending")):
        cell = page.locator("td.who", has=page.locator(f'a[href="{student}/report.html"]'))
        link = cell.locator("a").bounding_box()
        badge = cell.locator(".badge").bounding_box()
        assert visible_x(page, link) and visible_x(page, badge), (student, link, badge)
        assert cell.locator(".badge").inner_text() == status
        # the items scrolled out of view under the sticky column
        first_item = page.locator("tr", has=cell).locator("td").nth(2).bounding_box()
        assert first_item["x"] + first_item["width"] <= link["x"] + 1 or first_item["x"] < 0
    # the last column (the error) is reachable at the right edge of the scroller
    problem = page.locator("td.problem").first.bounding_box()
    assert problem["x"] + problem["width"] <= width + 1
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_report_fits_and_figures_open_full_size(browser, tmp_path, width):
    report = write_student_report(make_result(), tmp_path / "alice" / "report.html")
    page = open_page(browser, report, width, "report")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    link = page.locator("a.full-size").first
    target = (report.parent / link.get_attribute("href")).resolve()
    assert target.is_file() and target.read_bytes().startswith(b"\x89PNG")
    img = page.locator("figure img").first.bounding_box()
    assert visible_x(page, img)
    hint = page.locator("#item-q-hard-to-train .where")
    assert "answers.md" in hint.inner_text() and hint.is_visible()
    page.close()


HOSTILE_SECTION = """## Section 2: Architectural Mechanics (From Scratch)

| Model | Parameter count | Final training loss | Test accuracy |
|---|---|---|---|
| Vanilla RNN | 3,011 | 0.9958 | 0.5000 |
| LSTM | 7,715 | 0.9999 | 0.5444 |
| GRU | 6,147 | 1.0001 | 0.4944 |
| Deep LSTM | 16,035 | 0.9781 | 0.5056 |

The **forget gate** keeps `C` on an additive path.

<script>window.pwned = 1</script>
<img src="x.png" onerror="window.pwned = 2">
![plot](http://127.0.0.1:9/track.png) [click](javascript:window.pwned=3) [docs](https://pytorch.org)
"""


def markdown_result():
    checks = (Check.ok("section 2 exists", 0), Check.failed("section 2 table numbers equal the notebook's printed outputs",
                                                            0, expected="each row's numbers", observed="LSTM: 7,427"))
    items = tuple(ItemScore(f"s{k}-x", f"Section {k}", k, "manual", 0.0, 20.0, pending=True,
                            checks=checks if k == 2 else (Check.ok(f"section {k} exists", 0),),
                            answer=HOSTILE_SECTION if k == 2 else f"## Section {k}\n\ntext {k}")
                  for k in range(1, 6))
    result = make_result("eve")
    run = replace(result.runs[0], notes=("not run (shell lines and magics): !wget -q -O sonnets.txt "
                                         "https://www.gutenberg.org/cache/epub/1041/pg1041.txt",))
    return replace(result, pack="assignment7", items=items, runs=(run,))


@pytest.mark.parametrize("width", WIDTHS)
def test_markdown_report_is_rendered_beside_its_evidence_and_sanitised(browser, tmp_path, width):
    path = write_student_report(markdown_result(), tmp_path / "eve" / "report.html")
    page = open_page(browser, path, width, "markdown-report")
    section = page.locator("#item-s2-x")
    md = section.locator(".answer-md .md")
    # rendered: the header, the table with its five rows, bold and code
    assert md.locator("h2").inner_text() == "Section 2: Architectural Mechanics (From Scratch)"
    assert md.locator("table tr").count() == 5 and md.locator("table td").nth(5).inner_text() == "7,715"
    assert md.locator("strong").inner_text() == "forget gate" and md.locator("code").first.inner_text() == "C"
    # sanitised: no script ran, no element from raw HTML, no image fetched, no javascript: link
    assert page.evaluate("window.pwned === undefined")
    assert md.locator("script, img, iframe").count() == 0
    assert "<script>window.pwned = 1</script>" in md.inner_text()
    hrefs = [a.get_attribute("href") for a in md.locator("a").all()]
    assert hrefs == ["http://127.0.0.1:9/track.png", "https://pytorch.org"]  # the image is a plain link: not fetched
    assert {a.get_attribute("rel") for a in md.locator("a").all()} == {"nofollow noopener noreferrer"}
    # beside the evidence on a wide screen, below it on a phone; never wider than the page
    evidence = section.locator(".evidence").bounding_box()
    answer = section.locator(".answer-md").bounding_box()
    if width >= 1000:
        assert answer["x"] >= evidence["x"] + evidence["width"] - 1 and abs(answer["y"] - evidence["y"]) < 5
    else:
        assert answer["y"] >= evidence["y"] + evidence["height"] - 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.close()


def test_other_packs_answers_stay_plain_text(tmp_path):
    result = replace(markdown_result(), pack="lab7-inclass")
    html = write_student_report(result, tmp_path / "report.html").read_text()
    assert "answer-md" not in html.split("</style>")[1] and "&lt;script&gt;window.pwned" in html
