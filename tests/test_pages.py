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
