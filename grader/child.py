"""The sandboxed side: runs ONE submission unit in a fresh, forked, confined process and
answers the grader's probe requests with plain observations.

Everything here runs next to hostile code. It holds no reference solution and no
expected value; it only executes what the grader sends (student source, trusted probe
snippets) and reports what it saw. The grader decides every verdict."""
from __future__ import annotations

import ast
import builtins
import io
import linecache
import os
import signal
import socket
import sys
import time
import traceback
import types
from typing import Any

from grader import protocol

# The shared child-side helpers (grader/std_probes.py), read when the worker starts, before
# any student code: every run gets them as the module `std`.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "std_probes.py"), encoding="utf-8") as _fh:
    _STD_SOURCE = _fh.read()

STUDENT_TAG = "<student>"


class GraderTimeout(BaseException):
    """Raised inside student code when its time is up. BaseException so that a plain
    `except Exception` in student code does not swallow it."""


class Child:
    def __init__(self, sock: socket.socket, job: dict):
        self.sock = sock
        self.job = job
        self.workdir = job["workdir"]
        self.student_files: set[str] = set()
        self.ns: dict[str, Any] = {}
        self.probes: types.ModuleType | None = None
        self.std: types.ModuleType | None = None
        self.banned_calls: list[dict] = []
        self.figures: list[dict] = []
        self._saved_figs: set[int] = set()
        self._nonce: str | None = None
        # Taken before any student code runs: the grader's snippets and its probes module
        # compute with these, whatever the student later does to builtins or sys.modules.
        self.builtins = dict(builtins.__dict__)
        self.np = sys.modules.get("numpy")
        self.torch = sys.modules.get("torch")

    # -- request loop ----------------------------------------------------------------

    def serve(self) -> None:
        while True:
            try:
                header, values = protocol.recv(self.sock, make_tensor=_make_tensor)
            except (protocol.PeerGone, OSError):
                return
            nonce = header.get("nonce")
            self._nonce = nonce if isinstance(nonce, str) else None
            op = header.get("op")
            if op == "finish":
                self._reply({"ok": True, "figures": self._collect_figures(close=True)})
                return
            handler = {"exec": self._exec, "probe": self._probe, "figures": self._figures}.get(op)
            if handler is None:
                self._reply({"ok": False, "error": {"type": "ProtocolError", "message": f"op {op!r}"}})
                continue
            handler(header, values or {})

    def _reply(self, header: dict, values: dict | None = None) -> None:
        header = dict(header, banned_calls=self.banned_calls[:50], nonce=self._nonce)
        try:
            protocol.send(self.sock, header, values)
        except (TypeError, ValueError) as exc:  # an unencodable value: say so instead of dying
            protocol.send(self.sock, {"ok": False, "banned_calls": self.banned_calls[:50], "nonce": self._nonce,
                                      "error": {"type": "EncodingError", "message": str(exc)}})

    # -- executing the student's unit ------------------------------------------------

    def _exec(self, req: dict, _values: dict) -> None:
        filename = req["filename"]
        self.student_files.add(filename)
        source = req["source"]
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        self.ns = {"__name__": "__main__" if req.get("as_main") else req.get("module", "submission"),
                   "__file__": os.path.join(self.workdir, filename), "__builtins__": __builtins__}
        self.std = _module_from_source("std", _STD_SOURCE, self.builtins)
        if req.get("probes"):
            self.probes = _module_from_source("probes", req["probes"], self.builtins, std=self.std)
        self._install_banned_hooks(req.get("banned", []))
        if req.get("prelude"):
            exec(compile(req["prelude"], "<grader prelude>", "exec"),
                 {"__builtins__": self.builtins, "ns": self.ns, "probes": self.probes, "child": self,
                  "np": self.np, "torch": self.torch, "std": self.std})
        started = time.perf_counter()
        errors, skipped, timed_out = self._run_statements(source, filename, req)
        self._reply({"ok": True, "errors": errors, "skipped": skipped, "timed_out": timed_out,
                     "seconds": time.perf_counter() - started,
                     "defined": sorted(k for k in self.ns if not k.startswith("__"))[:500]})

    def _run_statements(self, source: str, filename: str, req: dict) -> tuple[list, int, bool]:
        try:
            tree = ast.parse(source, filename)
        except SyntaxError as exc:
            return [_syntax_error(exc)], 0, False
        cells = req.get("cells")  # notebooks: [[first_line, last_line], ...] per code cell
        flags = _future_flags(tree)  # `from __future__ import annotations` must reach every statement
        errors: list[dict] = []
        skipped = 0
        failed_cell = None
        timed_out = False
        _arm_timer(float(req.get("timeout", 60)))
        try:
            for stmt in tree.body:
                cell = _cell_of(cells, stmt.lineno)
                if req.get("definitions_only") and not (_is_definition(stmt) or _is_constant(stmt)):
                    skipped += 1  # a notebook graded on its definitions: training cells are not run
                    continue
                if timed_out and not _is_definition(stmt):
                    skipped += 1  # after the time limit only definitions run (they are instant)
                    continue
                if errors and not timed_out and not req.get("definitions_only") \
                        and not _should_run_after_error(stmt, cells, cell, failed_cell):
                    skipped += 1
                    continue
                try:
                    code = compile(ast.Module([stmt], []), filename, "exec", flags=flags, dont_inherit=True)
                    exec(code, self.ns)
                except GraderTimeout:
                    if timed_out:
                        break  # a definition that loops (a class body): stop for good
                    timed_out = True
                    errors.append(self._error_info(None, filename, "timeout"))
                    _arm_timer(2.0)
                except BaseException as exc:  # SystemExit and KeyboardInterrupt are results too
                    failed_cell = cell
                    errors.append(self._error_info(exc, filename))
                    if len(errors) >= 20:
                        break
        finally:
            _disarm_timer()
        return errors, skipped, timed_out

    def _error_info(self, exc: BaseException | None, filename: str, kind: str = "error") -> dict:
        if exc is None:
            return {"type": "Timeout", "message": "time limit reached", "kind": kind,
                    "lineno": _last_student_line(sys.exc_info()[2], self.student_files)}
        tb = exc.__traceback__
        lineno = _last_student_line(tb, self.student_files)
        kind = "exit" if isinstance(exc, SystemExit) else "memory" if isinstance(exc, MemoryError) else kind
        text = "".join(traceback.format_exception(type(exc), exc, _student_tb(tb, self.student_files)))
        return {"type": type(exc).__name__, "message": _short(str(exc)), "kind": kind,
                "lineno": lineno, "traceback": text[-4000:]}

    # -- probes ----------------------------------------------------------------------

    def _probe(self, req: dict, bind: dict) -> None:
        if req.get("where") == "student":
            # in the student's own globals, with the grader's bindings and nothing else of the grader
            ns = self.ns
            ns.update(bind)
        else:
            # a copy of the student's globals where names the grader relies on mean what the
            # grader means: builtins, np, torch and the helpers, all taken before student code ran
            ns = {k: v for k, v in self.ns.items() if k.startswith("__") or k not in self.builtins}
            ns["__builtins__"] = self.builtins
            ns.update(probes=self.probes, child=self, np=self.np, torch=self.torch, std=self.std)
            ns.update(bind)
        _arm_timer(float(req.get("timeout", 30)))
        try:
            exec(compile(req["code"], "<grader probe>", "exec"), ns)
        except GraderTimeout:
            _disarm_timer()
            self._reply({"ok": False, "error": {"type": "Timeout", "message": "probe time limit reached",
                                                "kind": "timeout", "lineno": None}})
            return
        except BaseException as exc:
            _disarm_timer()
            self._reply({"ok": False, "error": self._error_info(exc, "<grader probe>")})
            return
        _disarm_timer()
        want = [w for w in req.get("want", []) if isinstance(w, str)]
        values = {w: ns[w] for w in want if w in ns}
        self._reply({"ok": True, "missing": [w for w in want if w not in ns]}, values)

    # -- figures ---------------------------------------------------------------------

    def _figures(self, _req: dict, _values: dict) -> None:
        self._reply({"ok": True, "figures": self._collect_figures(close=False)})

    def _collect_figures(self, *, close: bool) -> list[dict]:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            for num in list(plt.get_fignums()):
                self.save_figure(plt.figure(num))
            if close:
                plt.close("all")
        return self.figures

    def save_figure(self, fig) -> None:
        if id(fig) in self._saved_figs or len(self.figures) >= 30:
            return
        self._saved_figs.add(id(fig))
        path = os.path.join(self.job["figdir"], f"fig{len(self.figures):02d}.png")
        try:
            fig.savefig(path, dpi=72)
        except Exception as exc:
            self.figures.append({"file": None, "error": _short(str(exc)), "axes": []})
            return
        self.figures.append({"file": os.path.basename(path), "axes": _axes_info(fig),
                             "suptitle": _text_of(getattr(fig, "_suptitle", None))})

    # -- banned APIs at run time -------------------------------------------------------

    def _install_banned_hooks(self, banned: list[str]) -> None:
        for api in banned:
            target = _resolve(api)
            if isinstance(target, type):
                _wrap_init(target, api, self)
            elif isinstance(target, types.ModuleType):
                for name in dir(target):
                    obj = getattr(target, name, None)
                    if isinstance(obj, type) and getattr(obj, "__module__", "").startswith(api):
                        _wrap_init(obj, f"{api}.{name}", self)

    def record_banned(self, api: str) -> None:
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename not in self.student_files:
            frame = frame.f_back
        if frame is None:
            return  # the grader's own probe code, not the student's
        entry = {"api": api, "lineno": frame.f_lineno}
        if entry not in self.banned_calls:
            self.banned_calls.append(entry)


# -- helpers ---------------------------------------------------------------------------


def _make_tensor(array, requires_grad: bool):
    import torch

    tensor = torch.from_numpy(array.copy())
    return tensor.requires_grad_(True) if requires_grad else tensor


def _module_from_source(name: str, source: str, builtins_copy: dict, **extra: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__["__builtins__"] = builtins_copy
    module.__dict__.update(extra)
    exec(compile(source, f"<grader {name}>", "exec"), module.__dict__)
    return module


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    obj = sys.modules.get(parts[0])
    if obj is None:
        try:
            obj = __import__(parts[0])
        except ImportError:
            return None
    for part in parts[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _wrap_init(cls: type, api: str, child: Child) -> None:
    original = cls.__init__
    if getattr(original, "_rnngrade_wrapped", False):
        return

    def __init__(self, *args, **kwargs):
        child.record_banned(api)
        return original(self, *args, **kwargs)

    __init__._rnngrade_wrapped = True
    try:
        cls.__init__ = __init__
    except TypeError:  # builtin classes cannot be patched; the AST check still applies
        pass


def _cell_of(cells: list | None, lineno: int) -> int | None:
    if not cells:
        return None
    for index, (first, last) in enumerate(cells):
        if first <= lineno <= last:
            return index
    return None


def _is_definition(stmt: ast.stmt) -> bool:
    return isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))


def _is_constant(stmt: ast.stmt) -> bool:
    """Assignments that compute nothing: `PAD = 0`, `SOS, EOS = 1, 2`, `CELLS = {"rnn": RNNCell}`,
    `device = torch.device("cpu")` (names, attributes, literals and containers; the only call
    allowed is torch.device, which classes often use)."""
    if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or stmt.value is None:
        return False
    for node in ast.walk(stmt.value):
        if isinstance(node, ast.Call):
            func = node.func
            if not (isinstance(func, ast.Attribute) and func.attr == "device"):
                return False
        elif isinstance(node, (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp,
                               ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
    return True


def _future_flags(tree: ast.Module) -> int:
    import __future__

    flags = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            for alias in node.names:
                feature = getattr(__future__, alias.name, None)
                flags |= getattr(feature, "compiler_flag", 0)
    return flags


def _should_run_after_error(stmt: ast.stmt, cells, cell, failed_cell) -> bool:
    """After an exception, code that ran before still counts. Notebooks go on with the
    next cell (as Jupyter with allow_errors); scripts run only the definitions that
    follow (def, class, import), so functions below a stray demo line are still graded."""
    if cells is not None:
        return cell != failed_cell
    return _is_definition(stmt)


def _syntax_error(exc: SyntaxError) -> dict:
    return {"type": "SyntaxError", "message": _short(exc.msg or str(exc)), "kind": "error",
            "lineno": exc.lineno, "traceback": "".join(traceback.format_exception_only(type(exc), exc))}


def _student_tb(tb, student_files: set[str]):
    """Drop the grader's own frames from the top of a traceback."""
    while tb is not None and tb.tb_frame.f_code.co_filename not in student_files \
            and tb.tb_frame.f_code.co_filename != "<grader probe>":
        tb = tb.tb_next
    return tb


def _last_student_line(tb, student_files: set[str]) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in student_files:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def _text_of(artist) -> str:
    try:
        return artist.get_text() if artist is not None else ""
    except Exception:
        return ""


def _axes_info(fig) -> list[dict]:
    info = []
    for ax in fig.get_axes()[:100]:
        try:
            info.append({"title": " ".join(filter(None, (ax.get_title(loc) for loc in ("left", "center", "right")))),
                         "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
                         "n_images": len(ax.images), "n_lines": len(ax.lines),
                         "texts": [t.get_text() for t in ax.texts][:20]})
        except Exception:
            continue
    return info


def _on_timer(_signum, _frame):
    raise GraderTimeout()


def _arm_timer(seconds: float) -> None:
    signal.signal(signal.SIGALRM, _on_timer)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))


def _disarm_timer() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


# -- process setup ---------------------------------------------------------------------


def _patch_matplotlib(child: Child) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except Exception:
        return

    def show(*_args, **_kwargs):
        # Like a notebook's inline backend: each show() renders the open figures and closes them.
        for num in list(plt.get_fignums()):
            child.save_figure(plt.figure(num))
        plt.close("all")

    plt.show = show


def _redirect_output(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", buffering=0), write_through=True, errors="replace")
    sys.stderr = sys.stdout


def main(sock: socket.socket, job: dict) -> None:
    """Entry point in the forked child, after the zygote applied rlimits and the user."""
    os.chdir(job["workdir"])
    _redirect_output(job["stdout"])
    child = Child(sock, job)
    _patch_matplotlib(child)
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:
        pass
    from grader import audit

    audit.install(writable=[job["workdir"], job["figdir"], "/tmp", os.environ.get("TMPDIR", "/tmp")],
                  forbid_fork=job.get("forbid_fork", False), hidden=job.get("hidden", []))
    # as `python main.py` would: the run folder first on sys.path, so that a helper module
    # submitted beside the main file (`import helpers`) imports
    sys.path.insert(0, job["workdir"])
    child.serve()
