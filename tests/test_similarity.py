"""similarity.csv: winnowed fingerprints of normalised code, the handout subtracted.
Evidence for a TA, never a verdict: scores are untouched."""
from __future__ import annotations

import csv
import io
import keyword
import shutil
import tokenize

import pytest

from conftest import ROOT
from grader import similarity
from grader.load import load_file
from grader.packs import load_pack

pytest.importorskip("copydetect")

INCLASS = ROOT / "submissions" / "lab7-inclass"
CS240 = ROOT / "submissions" / "cs240-week8"


def units(*paths, unit="main"):
    return [load_file(p, unit) for p in paths]


def rename_identifiers(source: str) -> str:
    """Every name the student chose (assigned, defined or a parameter) renamed, as a student
    hiding a copy would; keywords, builtins and attributes of modules stay."""
    import ast
    import builtins

    chosen = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            chosen.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            chosen.add(node.name)
        elif isinstance(node, ast.arg):
            chosen.add(node.arg)
    chosen -= set(dir(builtins)) | set(keyword.kwlist)
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string in chosen:
            tok = tok._replace(string="zz_" + tok.string[::-1])
        out.append(tok)
    return tokenize.untokenize(out)


def test_two_copies_of_one_solution_are_similar_with_regions():
    ref = INCLASS / "reference" / "lab7_inclass.py"
    pairs = similarity.compare({"ann": units(ref), "ben": units(ref)}, [])
    [pair] = pairs
    assert (pair.student_a, pair.student_b) == ("ann", "ben")
    assert pair.score >= 0.95 and pair.share_a >= 0.95 and pair.share_b >= 0.95
    assert pair.regions and all(r.file_a == "lab7_inclass.py" for r in pair.regions)
    assert pair.regions[0].where_a.startswith("line")


def test_renamed_variables_and_comments_still_match(tmp_path):
    ref = INCLASS / "reference" / "lab7_inclass.py"
    disguised = tmp_path / "lab7_inclass.py"
    source = rename_identifiers(ref.read_text())
    assert "zz_" in source and source != ref.read_text()
    disguised.write_text("# my own work\n" + source.replace("    ", "  "))
    compile(disguised.read_text(), "x", "exec")  # still a program
    pack = load_pack("lab7-inclass")
    handout = similarity.handout_fingerprints(pack)
    [pair] = similarity.compare({"ann": units(ref), "cat": units(disguised)}, handout)
    assert pair.score >= 0.9, pair


def test_two_untouched_handouts_are_not_similar():
    pack = load_pack("cs240-week8")
    handout = similarity.handout_fingerprints(pack)
    assert handout
    docs = {s: units(CS240 / "handout" / "q1.py", unit="q1") + units(CS240 / "handout" / "q2.py", unit="q2")
            for s in ("ann", "ben")}
    # without the handout subtracted the two are the same text ...
    [raw] = similarity.compare(docs, [])
    assert raw.score >= 0.95
    # ... with it, there is nothing of their own to compare
    assert similarity.compare(docs, handout) == []
    # and a handout against a full solution shares nothing either
    docs["ref"] = units(CS240 / "reference" / "q1.py", unit="q1") + units(CS240 / "reference" / "q2.py", unit="q2")
    assert similarity.compare(docs, handout) == []


def test_different_work_scores_low():
    own = ROOT / "submissions" / "tutorial8" / "reference" / "tutorial8.py"
    ref = INCLASS / "reference" / "lab7_inclass.py"
    [pair] = similarity.compare({"ann": units(ref), "dan": units(own)}, [])
    assert pair.score < 0.3, pair


def test_a_notebook_and_its_script_match_by_cell():
    folder = ROOT / "submissions" / "tutorial8"
    pack = load_pack("tutorial8")
    [pair] = similarity.compare({"nb": units(folder / "reference-notebook" / "tutorial8.ipynb"),
                                 "py": units(folder / "reference" / "tutorial8.py")},
                                similarity.handout_fingerprints(pack))
    assert pair.score >= 0.9
    assert any(r.where_a.startswith("cell ") for r in pair.regions)


def test_csv_columns_and_formula_cells(tmp_path):
    pair = similarity.Pair("=cmd", "bob", 0.875, 0.875, 0.5,
                           (similarity.Region("a.py", "lines 3-9", "b.py", "lines 4-10"),))
    path = similarity.write_csv([pair], tmp_path / "similarity.csv")
    rows = list(csv.reader(path.open(newline="")))
    assert rows == [similarity.HEADER, ["'=cmd", "bob", "0.875", "0.875", "0.500",
                                        "a.py lines 3-9 ~ b.py lines 4-10"]]
    assert similarity.flagged([pair]) == [pair]
    assert similarity.flagged([similarity.Pair("a", "b", 0.3, 0.3, 0.3)]) == []


def test_a_batch_writes_similarity_and_keeps_scores(tmp_path):
    """Two copies of the reference and two untouched handouts through `grade`: the copies
    are flagged on the class page, the handouts are not, and every score is what the
    submission earns alone."""
    import json
    import subprocess
    import sys

    subs = tmp_path / "subs"
    for name, src in (("ann", "reference"), ("ben", "reference"), ("hal", "handout"), ("hil", "handout")):
        shutil.copytree(INCLASS / src, subs / name, ignore=shutil.ignore_patterns("expected.json"))
    out = subprocess.run([sys.executable, "-m", "grader", "grade", "lab7-inclass", str(subs), "--out",
                          str(tmp_path / "out"), "--jobs", "1", "--seed", "5"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader((tmp_path / "out" / "similarity.csv").open(newline="")))
    by_pair = {(r["student_a"], r["student_b"]): r for r in rows}
    assert float(by_pair[("ann", "ben")]["score"]) >= 0.95 and by_pair[("ann", "ben")]["regions"]
    assert ("hal", "hil") not in by_pair  # nothing of their own: not compared, never flagged
    assert all(float(r["score"]) < similarity.FLAG for r in rows if "hal" in (r["student_a"], r["student_b"]))
    scores = {p.parent.name: json.loads(p.read_text())["score"] for p in (tmp_path / "out").glob("*/results.json")}
    expected = {n: json.loads((INCLASS / src / "expected.json").read_text())["total"]
                for n, src in (("ann", "reference"), ("hal", "handout"))}
    assert scores == {"ann": expected["ann"], "ben": expected["ann"], "hal": expected["hal"], "hil": expected["hal"]}
    page = (tmp_path / "out" / "index.html").read_text()
    shared = page[page.index("Possibly shared code"):page.index("Could not be graded (")]
    assert "ann/report.html" in shared and "ben/report.html" in shared
    assert "hal/report.html" not in shared


def test_a_page_rebuilt_without_similarity_keeps_the_csv_and_its_table(tmp_path):
    """A batch rebuilt from results.json (similarity None, e.g. after a TA saves a score)
    neither overwrites similarity.csv nor loses the table on the class page."""
    from grader.outputs import write_outputs
    from grader.report import write_class_summary
    from results_factory import make_batch

    batch = make_batch()
    batch.similarity = [similarity.Pair("alice", "bob", 0.9, 0.9, 0.8,
                                        (similarity.Region("lab7.py", "lines 1-9", "lab7.py", "lines 2-10"),)),
                        similarity.Pair("alice", "carol", 0.1, 0.1, 0.1)]
    write_outputs(batch, tmp_path)
    written = (tmp_path / "similarity.csv").read_text()
    assert similarity.read_csv(tmp_path / "similarity.csv") == batch.similarity
    batch.similarity = None
    write_outputs(batch, tmp_path)
    assert (tmp_path / "similarity.csv").read_text() == written
    page = (tmp_path / "index.html").read_text()
    shared = page[page.index("Possibly shared code"):page.index("Could not be graded (")]
    assert "90%" in shared and "lines 2-10" in shared and "carol/report.html" not in shared
    (tmp_path / "similarity.csv").unlink()
    page = write_class_summary(batch, tmp_path / "index.html").read_text()
    assert "Not computed for this page" in page
