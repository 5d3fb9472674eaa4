from __future__ import annotations

import nbformat
import pytest

from grader.load import LoadError, extract_answer, load_file, neutralise


def test_shell_lines_and_magics_are_neutralised_keeping_indentation():
    code, found = neutralise("!pip install torch\nif True:\n    %time x = 1\nx = 2")
    assert found == ["!pip install torch", "%time x = 1"]
    compile(code, "cell", "exec")  # still valid Python
    assert "x = 2" in code


def test_cell_magic_comments_out_the_whole_cell():
    code, found = neutralise("%%bash\nrm -rf /\n")
    assert found == ["%%bash"] and all(line.startswith("#") for line in code.splitlines())


def test_notebook_cells_map_back_to_cell_and_line(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("### Question 5\nIt summarises the prefix."),
                nbformat.v4.new_code_cell("a = 1\nb = 2"), nbformat.v4.new_code_cell("!ls\nc = 3")]
    path = tmp_path / "sub.ipynb"
    nbformat.write(nb, str(path))
    unit = load_file(path, "main")
    assert unit.where(4) == "cell 2, line 2"
    assert unit.neutralised == ("!ls",)
    assert extract_answer(list(unit.markdown), "5").endswith("It summarises the prefix.")


def test_invalid_notebook_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.ipynb"
    path.write_text("{ nope")
    with pytest.raises(LoadError, match="not a valid notebook"):
        load_file(path, "main")


@pytest.mark.parametrize("text", ["## 5\nanswer five\n## 6\nsix", "Q5. answer five\nQ6. six",
                                  "**Question 5**: answer five\n**Question 6**: six",
                                  "5. (5%) answer five\n6. (5%) six"])
def test_answer_extraction_formats(text):
    answer = extract_answer([text], "5")
    assert "answer five" in answer and "six" not in answer


def test_pep263_latin1_source_is_decoded_as_declared(tmp_path):
    # what Python itself runs: a latin-1 file with a coding line and non-ASCII text
    source = "# -*- coding: latin-1 -*-\n# résumé: Elman (é, ü)\nlabel = 'café'\n"
    path = tmp_path / "sub.py"
    path.write_bytes(source.encode("latin-1"))
    unit = load_file(path, "main")
    assert "café" in unit.source and "résumé" in unit.source
    namespace: dict = {}
    exec(compile(unit.source, unit.filename, "exec"), namespace)  # the cookie in a str is ignored
    assert namespace["label"] == "café"


def test_utf8_with_bom_and_undeclared_bytes(tmp_path):
    path = tmp_path / "bom.py"
    path.write_bytes("\ufeffx = 'ü'\n".encode("utf-8"))
    assert load_file(path, "main").source == "x = 'ü'\n"
    path = tmp_path / "bad.py"
    path.write_bytes("x = 'café'\n".encode("latin-1"))  # no declaration: Python refuses it too
    with pytest.raises(LoadError, match="not UTF-8 text.*coding: latin-1"):
        load_file(path, "main")
    path.write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    with pytest.raises(LoadError, match="klingon"):
        load_file(path, "main")
