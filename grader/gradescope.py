"""`rnngrade gradescope PACK`: an autograder zip in Gradescope's layout
(setup.sh, run_autograder, source/), running this same engine on one submission and
writing /autograder/results/results.json."""
from __future__ import annotations

import zipfile
from pathlib import Path

from grader.packs import load_pack, project_root

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu, as root).
set -euo pipefail
apt-get update -qq && apt-get install -y -qq bubblewrap libseccomp2 python3-pip python3-venv >/dev/null || true
cd /autograder/source
python3 -m pip install -q -r requirements.txt
python3 -m pip install -q -e .
# student code runs under its own uid: where the kernel lacks Landlock, only these modes
# keep the reference and the checks from it (the grader refuses to run otherwise)
chmod -R o-rwx /autograder/source/reference /autograder/source/assignments
# the data the pack reads (MNIST, texts); Gradescope's image build has network access
python3 -m grader data fetch --data-dir /autograder/source/data || true
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this per submission: the files are in /autograder/submission.
set -uo pipefail
cd /autograder/source
out=$(mktemp -d)
python3 -m grader grade {pack} /autograder/submission --out "$out" --jobs 1 \\
    --data-dir /autograder/source/data {train}
mkdir -p /autograder/results
result=$(ls "$out"/*/results.json 2>/dev/null | head -n 1)
if [ -n "$result" ]; then
  cp "$result" /autograder/results/results.json
else
  printf '{{"score": 0, "output": "rnngrade could not grade this submission: no .py or .ipynb file found."}}' \\
    > /autograder/results/results.json
fi
"""

# What the autograder needs from the repository: never the example submissions or tests.
INCLUDE = ["grader", "reference", "pyproject.toml", "requirements.txt", "README.md"]


def build_autograder(*, pack_id: str, output: Path, train: str = "full") -> Path:
    pack = load_pack(pack_id)
    root = project_root()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        _write(archive, "setup.sh", SETUP)
        _write(archive, "run_autograder", RUN.format(pack=pack_id, train=f"--train {train}"))
        for name in INCLUDE:
            _add_tree(archive, root / name, f"source/{name}")
        _add_tree(archive, pack.spec.dir, f"source/assignments/{pack_id}")
    return output


def _write(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o755 << 16  # executable, as Gradescope expects
    archive.writestr(info, text)


def _add_tree(archive: zipfile.ZipFile, path: Path, arcname: str) -> None:
    if path.is_file():
        archive.write(path, arcname)
        return
    for file in sorted(path.rglob("*")):
        if file.is_file() and "__pycache__" not in file.parts and not file.name.endswith(".pyc"):
            archive.write(file, f"{arcname}/{file.relative_to(path)}")
