"""`rnngrade review OUT`: the TA scores manual items in a browser; saves rebuild results.json,
grades.csv and the class page from stored results (no student code runs) and survive a
restart. Also: grading into an existing --out merges and reuses its seed."""
from __future__ import annotations

import csv
import json
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
from grader import cli, review, store
from grader.outputs import write_outputs
from results_factory import SCRIPT, make_batch, make_result

CHROMIUM = "/usr/bin/chromium"


def _grades(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


@pytest.fixture()
def out(tmp_path):
    """A graded batch as `grade` leaves it: alice, bob, carol (+ a failed input)."""
    folder = tmp_path / "out"
    write_outputs(make_batch(), folder)
    return folder


@pytest.fixture()
def server(out, monkeypatch):
    import grader.grade
    import grader.sandbox

    def no_student_code(*args, **kwargs):
        raise AssertionError("the review server ran student code")
    monkeypatch.setattr(grader.grade, "grade_submission", no_student_code)
    monkeypatch.setattr(grader.sandbox.Worker, "__init__", no_student_code)
    srv = review.make_server(out, port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _url(srv, path="/"):
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def _get(srv, path, headers=None):
    req = urllib.request.Request(_url(srv, path), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _post(srv, path, fields, headers=None):
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(_url(srv, path), data=data, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
    try:
        with urllib.request.build_opener(_NoRedirect).open(req, timeout=30) as resp:
            return resp.status, resp.read().decode(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers


# -- the pages ----------------------------------------------------------------------------------

def test_pages_forms_navigation_and_escaping(server):
    status, index = _get(server, "/")
    assert status == 200 and 'href="alice/report.html"' in index and "carol" in index
    status, page = _get(server, "/bob/")
    assert status == 200
    assert page.count('<form class="score" method="post" action="/bob/score"') == 2  # two manual items
    assert 'name="token" value="' + server.review.token + '"' in page
    assert '<a rel="prev" href="/alice/">' in page and '<a rel="next" href="/carol/">' in page
    assert "2 of 3" in page
    assert '<a rel="pending" href="/carol/">next with pending: carol</a>' in page  # carol: q6 unscored
    # the extracted answer sits beside its form, escaped like everything student-controlled
    pair = page.split('id="item-q-hidden-state"')[1].split("</section>")[0]
    assert "s_t is the memory &lt;script&gt;" in pair and 'id="score-q-hidden-state"' in pair
    assert SCRIPT not in page
    assert _get(server, "/alice/report.html")[0] == 200
    assert _get(server, "/mallory/")[0] == 404
    assert _get(server, "/../grades.csv")[0] == 404


def test_a_save_updates_totals_results_json_grades_csv_and_class_page(server, out):
    before = _grades(out)["alice"]
    assert (before["total"], before["q-hidden-state"], before["status"]) == ("10", "", "pending")
    status, _, headers = _post(server, "/alice/score", {"token": server.review.token, "item": "q-hidden-state",
                                                        "points": "4.5", "comment": "right idea"})
    assert status == 303 and headers["Location"] == "/alice/?saved=q-hidden-state#item-q-hidden-state"
    row = _grades(out)["alice"]
    assert (row["total"], row["q-hidden-state"], row["q-hard-to-train"]) == ("14.5", "4.5", "")
    assert _grades(out)["bob"]["total"] == "13.5" and "subs/dave.zip" in _grades(out)  # others untouched
    doc = json.loads((out / "alice" / "results.json").read_text())
    assert doc["score"] == 14.5
    test = next(t for t in doc["tests"] if t["extra_data"]["item"] == "q-hidden-state")
    assert (test["score"], test["extra_data"]["pending"], test["extra_data"]["comment"]) == (4.5, False, "right idea")
    assert "TA comment: right idea" in test["output"]
    assert "14.5" in (out / "alice" / "report.html").read_text()
    assert json.loads((out / "manual.json").read_text())["scores"]["alice"] == {
        "q-hidden-state": {"points": 4.5, "comment": "right idea"}}
    _, page = _get(server, "/alice/?saved=q-hidden-state")
    assert "Saved: 4.5 / 5." in page and "right idea" in page
    _, index = _get(server, "/")
    assert "14.5" in index and "14.5" in (out / "index.html").read_text()
    # a restart reads the score back; the stored result itself is unchanged
    again = review.Review(out)
    assert again.result("alice").score == 14.5
    assert store.read_result(out / "alice" / store.STORE_NAME).score == 10
    # blank points clear the score: pending again
    _post(server, "/alice/score", {"token": server.review.token, "item": "q-hidden-state", "points": ""})
    assert (_grades(out)["alice"]["total"], _grades(out)["alice"]["q-hidden-state"]) == ("10", "")


@pytest.mark.parametrize("points, why", [
    ("9", "9 is out of range: q-hidden-state is worth 0 to 5 points"),
    ("-1", "-1 is out of range"),
    ("five", "&#39;five&#39; is not a number"),
])
def test_a_bad_value_is_refused_and_nothing_changes(server, out, points, why):
    before = (out / "grades.csv").read_text()
    status, page, _ = _post(server, "/alice/score", {"token": server.review.token, "item": "q-hidden-state",
                                                     "points": points, "comment": "c"})
    assert status == 400 and "Not saved: " + why in page
    assert f'value="{points}"' in page  # the TA's input is kept for correction
    assert (out / "grades.csv").read_text() == before


def test_cross_site_and_forged_posts_are_refused(server, out):
    before = (out / "grades.csv").read_text()
    good = {"token": server.review.token, "item": "q-hidden-state", "points": "5"}
    assert _post(server, "/alice/score", {**good, "token": "guess"})[0] == 403
    assert _post(server, "/alice/score", {k: v for k, v in good.items() if k != "token"})[0] == 403
    assert _post(server, "/alice/score", good, {"Origin": "http://evil.example"})[0] == 403
    assert _post(server, "/alice/score", good, {"Host": "evil.example"})[0] == 421  # DNS rebinding
    assert _get(server, "/", {"Host": "evil.example:80"})[0] == 421
    assert _post(server, "/alice/score", {**good, "item": "forward"})[0] == 400  # an automatic item
    assert (out / "grades.csv").read_text() == before
    assert _post(server, "/alice/score", good, {"Origin": _url(server, "").rstrip("/")})[0] == 303


def test_the_server_listens_on_loopback_only(out):
    srv = review.make_server(out, port=0)
    try:
        assert srv.server_address[0] == "127.0.0.1"
    finally:
        srv.server_close()


def test_review_of_a_folder_that_was_not_graded(tmp_path, capsys):
    assert cli.main(["review", str(tmp_path)]) == 2
    assert "not a graded output folder" in capsys.readouterr().err


# -- merging into an existing --out ---------------------------------------------------------------

def test_regrading_one_student_keeps_the_others(out):
    regraded = make_batch()
    regraded.results = [make_result("alice", forward_points=5, predictions_points=5)]
    regraded.failures = []
    merged = write_outputs(regraded, out)
    rows = _grades(out)
    assert set(rows) == {"alice", "bob", "carol", "subs/dave.zip"}
    assert rows["alice"]["total"] == "15" and rows["carol"]["total"] == "25"
    assert rows["carol"]["q-hidden-state"] == "5"  # a TA score given before is kept
    index = (out / "index.html").read_text()
    assert all(f'href="{s}/report.html"' in index for s in ("alice", "bob", "carol"))
    assert len(merged.results) == 3


def test_grade_into_an_existing_out_merges_and_reuses_the_seed(tmp_path, capsys):
    out = tmp_path / "out"
    folder = ROOT / "submissions" / "lab7-inclass"
    common = ["--out", str(out), "--jobs", "1", "--timeout", "120"]
    assert cli.main(["grade", "lab7-inclass", str(folder / "handout"), "--seed", "7", *common]) == 0
    manual = tmp_path / "ta.csv"
    manual.write_text("student,q-hidden-state\nhandout,2\n")  # a student of the folder, not of this run
    assert cli.main(["grade", "lab7-inclass", str(folder / "reference"), "--manual", str(manual), *common]) == 0
    assert "merging into" in capsys.readouterr().err
    rows = _grades(out)
    assert set(rows) == {"handout", "reference"}
    assert (rows["reference"]["total"], rows["handout"]["total"], rows["handout"]["q-hidden-state"]) == ("20", "2", "2")
    assert json.loads((out / "batch.json").read_text())["seed"] == 7
    assert json.loads((out / "reference" / "results.json").read_text())["extra_data"]["seed"] == 7
    index = (out / "index.html").read_text()
    assert 'href="handout/report.html"' in index and 'href="reference/report.html"' in index
    # another pack into the same folder is refused
    assert cli.main(["grade", "tutorial8", str(folder / "reference"), "--out", str(out)]) == 2


# -- in a browser -----------------------------------------------------------------------------------

def _browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return sync_api


def test_in_headless_chromium_a_ta_scores_a_student(server, out, tmp_path):
    sync_api = _browser()
    shots = Path(__import__("os").environ.get("RNNGRADE_SCREENSHOTS", tmp_path))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(_url(server))
            page.click("a[href='alice/report.html']")
            assert page.inner_text(".total").split() == ["10", "/", "30"]
            page.fill("#points-q-hidden-state", "4")
            page.fill("#comment-q-hidden-state", "good, but say what s_t summarises")
            page.click("#score-q-hidden-state button")
            page.wait_for_url("**/alice/?saved=q-hidden-state*")
            assert page.inner_text(".total").split() == ["14", "/", "30"]
            assert page.inner_text("#score-q-hidden-state .saved") == "Saved: 4 / 5."
            assert _grades(out)["alice"]["total"] == "14"
            page.fill("#points-q-hard-to-train", "7")
            page.click("#score-q-hard-to-train button")
            assert "7 is out of range" in page.inner_text("#score-q-hard-to-train .form-error")
            assert _grades(out)["alice"]["total"] == "14"
            page.click("a[rel=next]")
            assert page.url.endswith("/bob/")
            page.goto(_url(server))
            row = page.locator("tr", has=page.locator("a[href='alice/report.html']"))
            assert "14" in row.inner_text()
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(_url(server, "/alice/#item-q-hidden-state"))
                page.screenshot(path=str(shots / f"review-{width}.png"), full_page=True)
                # the form and the answer beside (or, narrow, above) it fit the screen
                for selector in ("#score-q-hidden-state", "#score-q-hidden-state button", ".review-nav"):
                    box = page.locator(selector).bounding_box()
                    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, selector, box)
                form = page.locator("#score-q-hidden-state").bounding_box()
                answer = page.locator("#item-q-hidden-state pre").first.bounding_box()
                if width == 1280:
                    assert form["x"] > answer["x"] + answer["width"]  # side by side
                else:
                    assert form["y"] > answer["y"]  # stacked
        finally:
            browser.close()


def test_an_item_on_levels_gets_a_level_menu(out, monkeypatch):
    import grader.review
    from dataclasses import replace
    from grader.packs import load_pack

    pack = load_pack("lab7-inclass")
    levels = ("Poor", "Okay", "Satisfactory", "Good", "Excellent")
    spec = replace(pack.spec, items=tuple(replace(i, levels=levels) if i.id == "q-hidden-state" else i
                                          for i in pack.spec.items))
    monkeypatch.setattr(grader.review, "load_pack", lambda _id: replace(pack, spec=spec))
    session = review.Review(out)
    page = session.student_page("alice")
    form = page.split('id="score-q-hidden-state"')[1].split("</form>")[0]
    assert '<select name="points"' in form
    assert '<option value="4">4 Good (4 points)</option>' in form
    assert session.save("alice", "q-hidden-state", "4", "") is None
    assert '<option value="4" selected>4 Good (4 points)</option>' in session.student_page("alice")
    assert _grades(out)["alice"]["total"] == "14"


def test_a_grade_run_meanwhile_is_not_written_over(server, out):
    """`grade` re-grades alice into the folder while the review server runs: the next save
    (of bob) keeps alice's new result in grades.csv, and the pages show it."""
    regraded = make_batch()
    regraded.results, regraded.failures = [make_result("alice", forward_points=5, predictions_points=5)], []
    write_outputs(regraded, out)
    assert _grades(out)["alice"]["total"] == "15"
    status, _, _ = _post(server, "/bob/score", {"token": server.review.token, "item": "q-hard-to-train",
                                                "points": "1"})
    assert status == 303
    rows = _grades(out)
    assert (rows["alice"]["total"], rows["bob"]["total"]) == ("15", "14.5")
    assert "15" in _get(server, "/alice/")[1].split('<div class="total">')[1][:40]


def test_the_command_serves_the_folder_until_interrupted(out):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "grader", "review", str(out), "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"reviewing {out} at http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "carol/", timeout=30) as resp:
            assert resp.status == 200 and "25" in resp.read().decode()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0 and "scores are in" in proc.stdout.read()
    assert cli.main(["review", str(out), "--port", "70000"]) == 2
    busy = review.make_server(out, port=0)
    try:
        assert cli.main(["review", str(out), "--port", str(busy.server_address[1])]) == 2
    finally:
        busy.server_close()


def test_a_student_name_with_spaces_and_accents(tmp_path):
    out = tmp_path / "out"
    batch = make_batch()
    batch.results = [make_result("José Ñ & co"), make_result("zoe")]
    write_outputs(batch, out)
    srv = review.make_server(out, port=0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        quoted = urllib.parse.quote("José Ñ & co", safe="")
        _, index = _get(srv, "/")
        assert f'href="{quoted}/report.html"' in index
        status, page = _get(srv, f"/{quoted}/")
        assert status == 200 and "José Ñ &amp; co" in page and f'action="/{quoted}/score"' in page
        status, _, headers = _post(srv, f"/{quoted}/score", {"token": srv.review.token,
                                                             "item": "q-hidden-state", "points": "2"})
        assert status == 303 and headers["Location"].startswith(f"/{quoted}/?saved=")
        assert _grades(out)["José Ñ & co"]["total"] == "9.5"  # 7.5 auto + 2
    finally:
        srv.shutdown()
        srv.server_close()
