"""docs/PACKS.md's examples work: fenced blocks marked `example` are run, parsed or assembled
into a pack that `rnngrade pack check` accepts, and the rubric example uses every key the
engine knows."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader import packs
from grader.cli import main

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
PACKS_MD = ROOT / "docs" / "PACKS.md"
# ```python example            run as a module
# ```toml example              parsed (a rubric through the engine's parser)
# ```LANG example pack=P file=F   written into a pack P, then `rnngrade pack check P`
FENCE = re.compile(r"^```(\w+) example([^\n]*)\n(.*?)^```", re.M | re.S)


def examples(text: str) -> list[dict]:
    found = []
    for match in FENCE.finditer(text):
        options = dict(re.findall(r"(\w+)=(\S+)", match.group(2)))
        found.append({"lang": match.group(1), "code": match.group(3), "options": options,
                      "line": text[:match.start()].count("\n") + 2})
    return found


DOC = PACKS_MD.read_text()
EXAMPLES = examples(DOC)
LOOSE = [e for e in EXAMPLES if "pack" not in e["options"]]


def test_the_doc_has_its_examples():
    langs = [e["lang"] for e in EXAMPLES]
    assert langs.count("python") >= 4 and langs.count("toml") >= 3, langs
    assert {e["options"].get("pack") for e in EXAMPLES} >= {"tiny"}


@pytest.mark.parametrize("example", LOOSE, ids=[f"{e['lang']}-line{e['line']}" for e in LOOSE])
def test_example_runs(example, tmp_path):
    where = f"{PACKS_MD}:{example['line']}"
    if example["lang"] == "python":
        exec(compile(example["code"], where, "exec"), {"__name__": "packs_md_example"})
        return
    assert example["lang"] == "toml", where
    data = tomllib.loads(example["code"])
    if "id" in data:  # a rubric: through the engine's own parser (unknown keys refused)
        spec = packs.parse_spec(data, tmp_path)
        assert spec.items and spec.total == sum(i.points for i in spec.items)
    else:  # a course's pack package: its entry point is in the group rnngrade finds
        assert packs.ENTRY_POINT_GROUP in data["project"]["entry-points"], where


def test_rubric_example_uses_every_key_the_engine_knows():
    (full,) = [tomllib.loads(e["code"]) for e in LOOSE
               if e["lang"] == "toml" and tomllib.loads(e["code"]).get("id") == "lab7-inclass"]
    assert set(full) == packs._TOP_KEYS, packs._TOP_KEYS - set(full)
    used = {key for table in full["items"] for key in table}
    assert used == packs._ITEM_KEYS, packs._ITEM_KEYS - used
    assert {k for u in full["units"] for k in u} == packs._UNIT_KEYS
    assert {k for b in full["banned"] for k in b} == packs._BAN_KEYS
    assert set(full["requires"]) == packs._REQUIRES_KEYS and set(full["gradescope"]) == packs._GRADESCOPE_KEYS


def test_pack_examples_assemble_into_a_pack_that_passes_pack_check(tmp_path, monkeypatch, capsys):
    for example in EXAMPLES:
        if "pack" in example["options"]:
            path = tmp_path / "assignments" / example["options"]["pack"] / example["options"]["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(example["code"])
    monkeypatch.setenv("RNNGRADE_HOME", str(tmp_path))
    assert main(["pack", "check", "tiny"]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out == "ok: tiny (3 items, 4 sub-checks)\n"


def test_what_does_not_exist_is_not_documented():
    assert "env=" not in DOC              # ctx.run has no env
    assert "Figure" not in DOC            # figures are dicts
    assert '"transposed"' not in DOC      # compare_arrays never read that hint key
    for name in re.findall(r"`ctx\.(\w+)", DOC):  # every ctx attribute named exists
        from grader.context import Ctx

        assert hasattr(Ctx, name) or name in ("seed", "mode", "spec", "files", "data_dir"), name
