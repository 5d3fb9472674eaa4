"""grader/banned.py: the one matcher of banned APIs, in the code and at run time.

Each case states what a student may write and whether it is the banned API (a miss lets a
hand-written-cell item pass with nn.LSTM; a false hit zeroes honest work)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader import banned
from grader.load import load_file
from grader.packs import BanSpec

CELLS = BanSpec(apis=("torch.nn.LSTM", "torch.nn.RNN"), prefixes=(), zeroes=("forward",),
                units=("main",), message="write the cell by hand")
OPTIM = BanSpec(apis=(), prefixes=("torch.optim",), zeroes=("manual-sgd",), units=("main",))


def uses(code: str, *bans: BanSpec) -> list[tuple[str, int]]:
    """(banned api, line) for every use found in `code`."""
    return [(use.api, use.lineno) for _, use in banned.find_banned(textwrap.dedent(code), bans or (CELLS,))]


# -- in the code --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [
    "import torch\nm = torch.nn.LSTM(3, 4)\n",
    "import torch.nn as nn\nm = nn.LSTM(3, 4)\n",
    "from torch import nn as N\nm = N.LSTM(3, 4)\n",
    "import torch as T\nm = T.nn.LSTM(3, 4)\n",
    "from torch.nn import LSTM as L\nm = L(3, 4)\n",
    "from torch.nn import *\nm = LSTM(3, 4)\n",
    "import torch\nm = torch.nn.modules.rnn.LSTM(3, 4)\n",  # the same class under its module's name
    "import torch\nm = getattr(torch.nn, 'LSTM')(3, 4)\n",
    "from torch import nn as N\nm = getattr(N, 'LSTM', None)(3, 4)\n",
    "import torch\nm = getattr(getattr(torch, 'nn'), 'LSTM')(3, 4)\n",
    "import torch\nm = getattr(torch, 'nn').LSTM(3, 4)\n",
    "import torch\nlayer = torch.nn.LSTM\nm = layer(3, 4)\n",  # referring is using
])
def test_every_spelling_of_a_banned_class_is_found(code):
    found = uses(code)
    assert ("torch.nn.LSTM", code.count("\n", 0, code.index("LSTM")) + 1) in found, found


def test_the_use_names_the_line_as_written_and_the_ban_it_matched():
    code = "import torch\n\n\ncell = torch.nn.RNN(2, 3)  # mine\n"
    ((ban, use),) = banned.find_banned(code, (CELLS, OPTIM))
    assert ban is CELLS
    assert (use.api, use.lineno, use.code) == ("torch.nn.RNN", 4, "cell = torch.nn.RNN(2, 3)  # mine")


@pytest.mark.parametrize("code", [
    "import torch\nm = torch.nn.LSTMCell(3, 4)\n",  # another class whose name starts the same
    "import torch\nm = torch.nn.Linear(3, 4)\n",
    "import mylib as nn\nm = nn.LSTM(3, 4)\n",  # not torch's nn
    "class LSTM:\n    pass\nm = LSTM()\n",  # the student's own class
    "import torch\n# torch.nn.LSTM would be easier\ns = 'torch.nn.LSTM'\n",  # comments and strings
    "import torch\nname = 'LSTM'\nm = getattr(torch.nn, name)\n",  # computed: the run-time hooks' job
    "import torch\nm = torch.nn\n",  # the module itself
])
def test_what_is_not_the_banned_class_is_not_reported(code):
    assert uses(code) == []


def test_a_prefix_bans_every_name_below_it_not_the_module_itself():
    code = textwrap.dedent("""\
        import torch
        import torch.optim
        from torch import optim
        from torch.optim import SGD
        a = torch.optim.Adam([])
        b = optim.SGD([], lr=0.1)
        c = getattr(torch.optim, "RMSprop")
        d = torch.optimize_me
        """)
    assert sorted(set(uses(code, OPTIM))) == [("torch.optim.Adam", 5), ("torch.optim.RMSprop", 7),
                                             ("torch.optim.SGD", 4), ("torch.optim.SGD", 6)]


def test_one_use_per_line_and_ban_even_when_a_line_names_it_twice():
    assert uses("import torch\na, b = torch.nn.LSTM(1, 1), torch.nn.LSTM(2, 2)\n") == [("torch.nn.LSTM", 2)]


def test_code_that_does_not_parse_has_no_uses_and_no_bans_means_no_scan():
    assert uses("import torch\ntorch.nn.LSTM(\n") == []
    assert banned.find_banned("import torch\ntorch.nn.LSTM(1, 1)\n", ()) == []


def test_the_matcher_itself():
    assert banned.match("torch.nn.LSTM", CELLS) == "torch.nn.LSTM"
    assert banned.match("torch.nn.LSTM.forward", CELLS) == "torch.nn.LSTM"
    assert banned.match("torch.nn.LSTMCell", CELLS) is None
    assert banned.match("torch.optim.SGD", OPTIM) == "torch.optim.SGD"
    assert banned.match("torch.optim", OPTIM) is None
    assert banned.match("torch.optimizer.SGD", OPTIM) is None


def test_the_child_hooks_what_the_bans_name():
    assert banned.runtime_apis((CELLS, OPTIM)) == ["torch.nn.LSTM", "torch.nn.RNN", "torch.optim"]


# -- at run time, and which items lose their points ---------------------------------------------


def unit(tmp_path: Path, code: str, name: str = "main"):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return load_file(path, name)


def test_run_time_calls_are_matched_by_the_same_rules():
    calls = [{"api": "torch.nn.LSTM", "lineno": 7}, {"api": "torch.optim.SGD", "lineno": 9},
             {"api": "torch.nn.LSTMCell", "lineno": 3}, {"api": "torch.optim", "lineno": 1},
             "not a dict", {"lineno": "x"}]
    found = [(ban, use.api, use.lineno, use.how) for ban, use in banned.runtime_uses(calls, (CELLS, OPTIM))]
    assert found == [(CELLS, "torch.nn.LSTM", 7, "at run time"), (OPTIM, "torch.optim.SGD", 9, "at run time")]


def test_static_and_run_time_uses_zero_the_items_their_ban_names(tmp_path):
    main = unit(tmp_path, """\
        import torch
        opt = torch.optim.SGD([], lr=0.1)
        """)
    runtime = {"main": [{"api": "torch.nn.LSTM", "lineno": 2}]}  # built by a name computed at run time
    reasons = banned.ban_reasons((CELLS, OPTIM), {"main": main}, runtime)
    assert reasons == {
        "manual-sgd": ["banned API torch.optim.SGD used at line 2: `opt = torch.optim.SGD([], lr=0.1)`"],
        "forward": ["banned API torch.nn.LSTM was called at run time from line 2"],
    }


def test_a_static_use_is_reported_once_even_when_the_run_calls_it_too(tmp_path):
    main = unit(tmp_path, "import torch.nn as nn\ncell = nn.LSTM(2, 3)\n")
    reasons = banned.ban_reasons((CELLS,), {"main": main}, {"main": [{"api": "torch.nn.LSTM", "lineno": 2}]})
    assert reasons == {"forward": ["banned API torch.nn.LSTM used at line 2: `cell = nn.LSTM(2, 3)` "
                                   "(write the cell by hand)"]}


def test_a_ban_applies_only_to_its_units(tmp_path):
    code = "import torch\ncell = torch.nn.LSTM(2, 3)\n"
    units = {"main": unit(tmp_path, "x = 1\n"), "q2": unit(tmp_path, code, "q2")}
    assert banned.ban_reasons((CELLS,), units, {"q2": [{"api": "torch.nn.LSTM", "lineno": 2}]}) == {}
    q2_ban = BanSpec(CELLS.apis, (), ("forward",), units=("q2",))
    assert banned.ban_reasons((q2_ban,), units, {}) == {
        "forward": ["banned API torch.nn.LSTM used at line 2: `cell = torch.nn.LSTM(2, 3)`"]}


def test_a_notebook_use_names_its_cell(tmp_path):
    import json

    nb = {"cells": [{"cell_type": "code", "id": "a", "source": "import torch\n", "metadata": {}, "outputs": []},
                    {"cell_type": "code", "id": "b", "source": "x = 1\nm = torch.nn.RNN(1, 1)\n", "metadata": {},
                     "outputs": []}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "lab.ipynb"
    path.write_text(json.dumps(nb))
    reasons = banned.ban_reasons((CELLS,), {"main": load_file(path, "main")}, {})
    assert reasons == {"forward": ["banned API torch.nn.RNN used at cell 2, line 2: `m = torch.nn.RNN(1, 1)` "
                                   "(write the cell by hand)"]}


# -- end to end: a name no static analysis can read is caught at run time ----------------------


def test_a_banned_class_built_from_a_computed_name_zeroes_its_item(tmp_path):
    """The child reports the construction (raw: api and line), the grader matches it here and
    zeroes the item the ban names; the other items keep their points."""
    from conftest import ROOT, pool_for
    from grader.discover import Submission
    from grader.grade import grade_submission
    from grader.packs import load_pack

    source = (ROOT / "submissions" / "lab7-inclass" / "reference" / "lab7_inclass.py").read_text()
    source += '\n_layer = getattr(torch.nn, "R" + "NN")(2, 3)  # not a name in the code\n'
    path = tmp_path / "lab7_inclass.py"
    path.write_text(source)
    line = source.count("\n")
    pack = load_pack("lab7-inclass")
    assert banned.find_banned(source, pack.spec.banned) == []  # invisible to the static scan
    pool = pool_for(tuple(pack.spec.warm), 1)
    worker = pool.acquire()
    try:
        result = grade_submission(pack, Submission("computed", (path,)), worker=worker, seed=3, timeout=60)
    finally:
        pool.release(worker)
    items = {i.id: i for i in result.items}
    assert items["forward"].points == 0
    assert items["forward"].reason.startswith(f"banned API torch.nn.RNN was called at run time from line {line}")
    assert {i: items[i].points for i in ("init-weights", "manual-sgd", "predictions")} == {
        "init-weights": 5, "manual-sgd": 5, "predictions": 5}
