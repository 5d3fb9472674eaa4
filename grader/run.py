"""`Run`: one unit of a submission executing in a fresh sandboxed child (grader/sandbox.py),
answering the grader's probes. The child's replies are raw values; a run turns them into
status, errors, stdout and figures for the grader, which draws every conclusion itself."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from grader.load import SourceUnit
from grader.outcomes import Figure, StudentError, UnitRun
from grader.sandbox import SandboxLost, Session, StudentRaised

PROBE_TIMEOUT = 30.0


class Run:
    """One unit of the submission, executed once in a fresh child; probes run after it."""

    def __init__(self, unit: SourceUnit, session: Session | None, *, timeout: float,
                 not_started: SandboxLost | None = None):
        self.unit = unit
        self.session = session
        self.not_started = not_started
        self.timeout = timeout
        self.errors: list[StudentError] = []
        self.status = "not-run"
        self.seconds = 0.0
        self.skipped = 0
        self.definitions_only = False
        self.defined: list[str] = []
        self.banned_calls: list[dict] = []
        self._figures: list[dict] | None = None
        self._final_stdout: str | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def execute(self, *, as_main: bool, prelude: str | None, probes: str | None, banned: list[str],
                definitions_only: bool = False) -> None:
        started = time.perf_counter()
        self.definitions_only = definitions_only
        request = {"op": "exec", "source": self.unit.source, "filename": self.unit.filename,
                   "as_main": as_main, "module": Path(self.unit.filename).stem,
                   "cells": [list(c) for c in self.unit.cells] if self.unit.cells else None,
                   "prelude": prelude, "probes": probes, "banned": banned, "timeout": self.timeout,
                   "definitions_only": definitions_only}
        try:
            header, _ = self._request(request, timeout=self.timeout)
        except SandboxLost as lost:
            self.status = lost.status
            self.errors = [StudentError(lost.status.capitalize(), lost.reason)]
            return
        finally:
            self.seconds = time.perf_counter() - started
        self.errors = [self._student_error(e) for e in header.get("errors", []) if isinstance(e, dict)]
        self.skipped = int(header.get("skipped", 0) or 0)
        self.defined = [d for d in header.get("defined", []) if isinstance(d, str)]
        kinds = [e.get("kind") for e in header.get("errors", []) if isinstance(e, dict)]
        if header.get("timed_out"):
            self.status = "timeout"
        elif "exit" in kinds:
            self.status = "exit"
        elif "memory" in kinds:
            self.status = "memory"
        else:
            self.status = "error" if self.errors else "ok"

    def _request(self, header: dict, values: dict | None = None, *, timeout: float) -> tuple[dict, Any]:
        if self.session is None:
            raise self.not_started or SandboxLost("the code could not be run", "crashed")
        reply, out = self.session.request(header, values, timeout=timeout)
        calls = reply.get("banned_calls")
        if isinstance(calls, list):
            for call in calls:
                if isinstance(call, dict) and call not in self.banned_calls:
                    self.banned_calls.append(call)
        return reply, out

    def _student_error(self, raw: dict) -> StudentError:
        lineno = raw.get("lineno") if isinstance(raw.get("lineno"), int) else None
        return StudentError(str(raw.get("type", "Error"))[:100], str(raw.get("message", ""))[:1000],
                            lineno, self.unit.line(lineno), str(raw.get("traceback", ""))[-4000:],
                            self.unit.where(lineno))

    # -- probes ------------------------------------------------------------------------

    @property
    def error(self) -> StudentError | None:
        return self.errors[0] if self.errors else None

    @property
    def alive(self) -> bool:
        return self.session is not None and self.session.lost is None

    def probe(self, code: str, bind: dict | None = None, want: tuple | list = (), *,
              where: str = "probe", timeout: float | None = None) -> dict:
        """Run a trusted snippet in the child; returns the wanted names that exist.
        Raises StudentRaised if student code raised, SandboxLost if the child is gone."""
        header, values = self._request({"op": "probe", "code": code, "want": list(want), "where": where,
                                        "timeout": timeout or PROBE_TIMEOUT},
                                       bind or {}, timeout=timeout or PROBE_TIMEOUT)
        if not header.get("ok"):
            error = header.get("error") if isinstance(header.get("error"), dict) else {}
            if error.get("kind") == "timeout":
                raise StudentRaised(StudentError("Timeout", "the code did not finish within the time limit"))
            raise StudentRaised(self._student_error(error))
        return values if isinstance(values, dict) else {}

    @property
    def stdout(self) -> str:
        if self._final_stdout is not None:
            return self._final_stdout
        return self.session.stdout() if self.session else ""

    @property
    def figures(self) -> list[dict]:
        """Figures drawn so far: dicts with `png` (bytes or None) and `axes` (title,
        xlabel, ylabel, n_images, n_lines, texts per axes), `suptitle`."""
        if self._figures is None or self.alive:
            raw: list = []
            if self.alive:
                try:
                    header, _ = self._request({"op": "figures"}, timeout=20)
                    raw = header.get("figures") or []
                except SandboxLost:
                    raw = []
            self._figures = self._read_figures(raw)
        return self._figures

    def _read_figures(self, raw: list) -> list[dict]:
        figures = []
        for meta in raw if isinstance(raw, list) else []:
            if not isinstance(meta, dict):
                continue
            axes = [a for a in meta.get("axes", []) if isinstance(a, dict)] if isinstance(meta.get("axes"), list) else []
            png = self.session.figure_png(meta.get("file")) if self.session else None
            figures.append({"png": png, "axes": axes, "suptitle": str(meta.get("suptitle") or "")})
        return figures

    def close(self) -> UnitRun:
        if self.session is not None:
            was_alive = self.alive
            raw = self.session.close()
            if was_alive:
                self._figures = self._read_figures(raw)
            self._final_stdout = self.session.stdout()
            self.session.dispose()
        figures = tuple(Figure(f["png"], f.get("suptitle") or _fig_title(f), self.unit.name)
                        for f in (self._figures or []) if f.get("png"))
        notes = []
        if self.unit.neutralised:
            notes.append("not run (shell lines and magics): " + "; ".join(self.unit.neutralised[:10]))
        if self.skipped and self.definitions_only:
            notes.append(f"definitions only: {self.skipped} statement(s) (training, data loading, output) "
                         "were not run")
        elif self.skipped:
            notes.append(f"after the first error, {self.skipped} statement(s) were skipped "
                         "(definitions below it were still run)" if not self.unit.is_notebook
                         else f"{self.skipped} statement(s) in failing cells were skipped")
        return UnitRun(self.unit.name, self.unit.filename, self.status,  # type: ignore[arg-type]
                       self.error, self._final_stdout or "", figures, self.seconds, tuple(notes))


def _fig_title(fig: dict) -> str:
    titles = [a.get("title", "") for a in fig.get("axes", []) if a.get("title")]
    return "; ".join(titles[:3])
