"""The pipeline reads one way (issue 12, point 5): who imports whom, and what the engine does
not know. Each assertion fails when the shortcut it guards against comes back."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _loaded_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if m.startswith('grader.')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True)
    return set(out.stdout.split())


def test_discovery_does_not_import_loading():
    assert "grader.load" not in _loaded_after("grader.discover")


def test_the_sinks_share_views_not_the_terminal():
    for sink in ("grader.report", "grader.results_json", "grader.gradebook"):
        assert "grader.terminal" not in _loaded_after(sink), sink


def test_the_engine_knows_no_data_set_by_name():
    """A pack declares the data it needs; grader/data.py alone knows the files."""
    for name in ("packs.py", "grade.py", "context.py", "run.py", "load.py"):
        assert "mnist" not in (ROOT / "grader" / name).read_text().lower(), name


def test_one_banned_api_matcher():
    for name in ("grade.py", "context.py", "run.py", "score.py"):
        text = (ROOT / "grader" / name).read_text()
        assert ".apis" not in text and ".prefixes" not in text, name
