"""Grading a batch on a Dask cluster (`rnngrade grade PACK PATH... --cluster tcp://HOST:PORT`).

Dask (`distributed`) is the scheduler: we write none of our own. The launching machine
discovers the submissions, sends each one to the scheduler as one task (the student's file
bytes plus the grading parameters), and gathers the results; every Dask worker grades with
its own warm WorkerPool at the same sandbox level as the launcher (never weaker), then
returns the SubmissionResult as plain data (str/float/bytes in dicts and lists), rebuilt
and type-checked here. Nothing the student's process produced travels except the values
the grader parsed from it.

Before the batch every worker is vetted with `client.run`: a worker whose grader code or
pack differs from the launcher's, that lacks the pack's data or cannot confine at the
launcher's sandbox level is refused by name, and the batch runs only on the others. A
worker that dies mid-batch loses nothing: the scheduler reruns its tasks elsewhere.
"""
from __future__ import annotations

import atexit
import dataclasses
import hashlib
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from grader.discover import Submission
from grader.outcomes import Check, Figure, ItemScore, StudentError, SubmissionResult, UnitRun

log = logging.getLogger("rnngrade")

CONNECT_TIMEOUT = float(os.environ.get("RNNGRADE_CLUSTER_CONNECT_TIMEOUT", "10"))
WORKER_WAIT = float(os.environ.get("RNNGRADE_CLUSTER_WAIT", "60"))
NO_WORKER_GRACE = float(os.environ.get("RNNGRADE_CLUSTER_NO_WORKER_GRACE", "120"))
RETRIES = 2  # a task that raised (not a lost worker: the scheduler reruns those by itself)


class ClusterError(Exception):
    """The cluster cannot grade this batch (one line: unreachable, no usable worker, ...)."""


# -- what identifies a grader install -------------------------------------------------------


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("rnngrade")
    except Exception:
        return "unknown"


def _hash_tree(digest, root: Path, base: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(".pyc"):
            digest.update(path.relative_to(base).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")


_FINGERPRINTS: dict[str, tuple[str, str | None]] = {}


def fingerprint(pack_id: str) -> tuple[str, str | None]:
    """(hash of the grader's code, hash of the pack and its reference; None without the pack)."""
    if pack_id not in _FINGERPRINTS:
        from grader.packs import PackError, load_pack

        grader_dir = Path(__file__).resolve().parent
        code = hashlib.sha256()
        _hash_tree(code, grader_dir, grader_dir)
        try:
            pack = load_pack(pack_id)
        except PackError:
            pack_hash = None
        else:
            digest = hashlib.sha256()
            _hash_tree(digest, pack.spec.dir, pack.spec.dir)
            if pack.spec.reference:
                ref = pack.reference_path
                if ref.is_file():
                    digest.update(ref.read_bytes())
            pack_hash = digest.hexdigest()[:12]
        _FINGERPRINTS[pack_id] = (code.hexdigest()[:12], pack_hash)
    return _FINGERPRINTS[pack_id]


# -- the worker side (runs inside each `dask worker` process) ------------------------------

_LOCK = threading.Lock()
_POOLS: dict[tuple, Any] = {}
_MEMOS: dict[tuple, Any] = {}
_PACKS: dict[str, Any] = {}
_BWRAP: dict[str, bool] = {}


def worker_info(pack_id: str, data_dir: str | None, level: str) -> dict:
    """What the launcher needs to accept or refuse this worker (plain data)."""
    info: dict[str, Any] = {"host": socket.gethostname(), "version": _version(), "problems": []}
    code, pack_hash = fingerprint(pack_id)
    info.update(code=code, pack=pack_hash)
    if pack_hash is None:
        return info
    from grader import sandbox
    from grader.packs import load_pack, requirement_problems

    info["problems"] += requirement_problems(load_pack(pack_id).spec, _worker_data_dir(data_dir))
    try:
        sandbox._check_level(level)
        if level == "bubblewrap":
            if "ok" not in _BWRAP:
                _BWRAP["ok"] = sandbox._bwrap_works()
            if not _BWRAP["ok"]:
                raise sandbox.SandboxUnavailable("bubblewrap cannot create user namespaces here")
    except sandbox.SandboxUnavailable as exc:
        info["problems"].append(f"cannot confine student code at the launcher's level {level}: {exc}")
    return info


def _worker_data_dir(value: str | None) -> Path | None:
    """--data-dir as given on the launcher (a folder on the workers), else the worker's own
    RNNGRADE_DATA / cache, as a local run on that machine would use."""
    try:
        from grader.data import resolve_data_dir
    except ImportError:
        return Path(value) if value else None
    return resolve_data_dir(value)


def _worker_threads() -> int:
    try:
        from distributed import get_worker

        worker = get_worker()
        return int(getattr(worker, "nthreads", None) or worker.state.nthreads)
    except Exception:
        return os.cpu_count() or 1


def _close_pools() -> None:
    for pool in list(_POOLS.values()):
        try:
            pool.close()
        except Exception:
            pass


atexit.register(_close_pools)


def grade_remote(task: dict) -> dict:
    """One submission, graded in this Dask worker's own warm pool; the result as plain data."""
    from grader.context import Memo
    from grader.grade import grade_submission
    from grader.packs import load_pack
    from grader.sandbox import WorkerPool

    code, pack_hash = fingerprint(task["pack"])
    if (code, pack_hash) != tuple(task["fingerprint"]):  # a worker that joined after the check
        raise ClusterError(f"worker {socket.gethostname()} has other rnngrade code or another pack "
                           f"{task['pack']} ({code}/{pack_hash}, launcher {task['fingerprint']})")
    with _LOCK:
        pack = _PACKS.get(task["pack"])
        if pack is None:
            pack = _PACKS[task["pack"]] = load_pack(task["pack"])
        key = (tuple(pack.spec.warm), task["level"])
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = WorkerPool(imports=tuple(pack.spec.warm), size=_worker_threads(),
                                            level=task["level"])
        memo_key = (task["pack"], task["seed"], task["mode"], task["data_dir"])
        memo = _MEMOS.get(memo_key)
        if memo is None:
            memo = _MEMOS[memo_key] = Memo()
    folder = Path(tempfile.mkdtemp(prefix="rnngrade-cluster-"))
    try:
        base = folder / "submission"
        files = []
        for rel, data in task["files"]:
            path = (base / rel).resolve()
            if not path.is_relative_to(base.resolve()):
                raise ValueError(f"unsafe file name {rel!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files.append(path)
        submission = Submission(task["student"], tuple(files), task["origin"],
                                submitters=tuple(tuple(s) for s in task["submitters"]))
        worker = pool.acquire()
        try:
            result = grade_submission(pack, submission, worker=worker, seed=task["seed"], mode=task["mode"],
                                      data_dir=_worker_data_dir(task["data_dir"]),
                                      timeout=task["timeout"], memo=memo,
                                      manual_scores={task["student"]: task["manual"]},
                                      public_only=task["public_only"])
        finally:
            pool.release(worker)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    plain = result_to_plain(result)
    plain["worker_host"] = socket.gethostname()
    return plain


# -- results as plain data -------------------------------------------------------------------

_PLAIN = (str, int, float, bool, bytes, type(None))


def _check_plain(value: Any, where: str = "result") -> None:
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: key {k!r} is not a string")
            _check_plain(v, f"{where}.{k}")
        return
    raise TypeError(f"{where} is a {type(value).__name__}, not plain data")


def result_to_plain(result: SubmissionResult) -> dict:
    plain = dataclasses.asdict(result)
    _check_plain(plain)
    return plain


def _tuple(value) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return tuple(value)


def _build(cls, data: dict, **nested):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise TypeError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    return cls(**{**data, **nested})


def result_from_plain(plain: dict) -> SubmissionResult:
    """The grader's SubmissionResult again, from plain data only (checked on the way)."""
    _check_plain(plain)
    data = {k: v for k, v in plain.items() if k != "worker_host"}
    items = tuple(_build(ItemScore, i, checks=tuple(_build(Check, c) for c in _tuple(i["checks"])))
                  for i in _tuple(data["items"]))
    runs = tuple(_build(UnitRun, r, error=_build(StudentError, r["error"]) if r["error"] else None,
                        figures=tuple(_build(Figure, f) for f in _tuple(r["figures"])),
                        notes=_tuple(r["notes"]))
                 for r in _tuple(data["runs"]))
    return _build(SubmissionResult, data, items=items, runs=runs, notes=_tuple(data["notes"]),
                  submitters=tuple(_tuple(s) for s in _tuple(data["submitters"])))


# -- the launcher side ------------------------------------------------------------------------


def _file_payload(submission: Submission) -> list[tuple[str, bytes]]:
    """The submission's files at their paths relative to their common folder."""
    paths = [Path(p).resolve() for p in submission.files]
    if not paths:
        return []
    common = Path(os.path.commonpath([str(p.parent) for p in paths]))
    return [(p.relative_to(common).as_posix(), p.read_bytes()) for p in paths]


def _connect(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--cluster needs Dask: install the cluster extra "
                           "(pip install -e \".[cluster]\")") from None
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.comm.core")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.CRITICAL)
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({reason[:160]}); "
                           "is `dask scheduler` running there and the port open?") from None
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)


def vet_workers(client, pack_id: str, data_dir: Path | None, level: str) -> tuple[list[str], list[str]]:
    """(addresses of the workers that may grade this batch, one line per refused worker)."""
    mine = fingerprint(pack_id)
    infos = client.run(worker_info, pack_id, str(data_dir) if data_dir else None, level, on_error="return")
    good, refused = [], []
    for address, info in sorted(infos.items()):
        if isinstance(info, BaseException):
            refused.append(f"worker {address} refused: it could not report its rnngrade install "
                           f"({type(info).__name__}: {info}); is rnngrade installed there?")
            continue
        name = f"worker {address} ({info.get('host')})"
        if info.get("code") != mine[0]:
            refused.append(f"{name} refused: it runs other rnngrade code (version {info.get('version')}, "
                           f"code {info.get('code')}; this machine: version {_version()}, code {mine[0]}); "
                           "install the same rnngrade on every worker")
        elif info.get("pack") is None:
            refused.append(f"{name} refused: it has no pack {pack_id}")
        elif info.get("pack") != mine[1]:
            refused.append(f"{name} refused: its pack {pack_id} differs from this machine's "
                           f"({info.get('pack')} vs {mine[1]})")
        elif info.get("problems"):
            refused.append(f"{name} refused: " + "; ".join(info["problems"]))
        else:
            good.append(address)
    return good, refused


def grade_on_cluster(address: str, pack, submissions: list[Submission], *, seed: int, mode: str,
                     data_dir: Path | None, timeout: float | None, manual_scores: dict,
                     public_only: bool, progress: Callable | None = None,
                     warn: Callable[[str], None] | None = None
                     ) -> tuple[list[SubmissionResult], list[tuple[str, str]]]:
    """Grade `submissions` on the Dask scheduler at `address`: (results, (origin, reason) failures).
    Raises ClusterError when the batch cannot run there at all."""
    from grader.sandbox import confinement_level

    warn = warn or (lambda line: log.warning("%s", line))
    level = confinement_level()
    client = _connect(address)
    futures: dict = {}
    try:
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT)
        except (TimeoutError, OSError):
            raise ClusterError(f"the Dask scheduler at {address} has no workers (waited {WORKER_WAIT:g} s); "
                               f"start `dask worker {address}` on machines with rnngrade and the pack's data")
        good, refused = vet_workers(client, pack.spec.id, data_dir, level)
        for line in refused:
            warn(line)
        if not good:
            raise ClusterError(f"no worker of the Dask scheduler at {address} can grade {pack.spec.id} "
                               f"({len(refused)} refused, see above)")
        mine = fingerprint(pack.spec.id)
        token = f"{os.getpid()}-{time.time_ns()}"
        failures: list[tuple[str, str]] = []
        for sub in submissions:
            try:
                files = _file_payload(sub)
            except OSError as exc:
                failures.append((sub.origin or sub.student, f"{sub.student}: could not be read: {exc}"))
                continue
            task = {"pack": pack.spec.id, "student": sub.student, "origin": sub.origin,
                    "submitters": [list(s) for s in sub.submitters], "files": files, "seed": seed,
                    "mode": mode, "data_dir": str(data_dir) if data_dir else None, "timeout": timeout,
                    "manual": dict(manual_scores.get(sub.student, {})), "public_only": public_only,
                    "level": level, "fingerprint": list(mine)}
            future = client.submit(grade_remote, task, key=f"rnngrade-{sub.student}-{token}", pure=False,
                                   retries=RETRIES, workers=good, allow_other_workers=False)
            futures[future] = sub
        results = _gather(client, futures, good, failures, progress)
        return results, failures
    finally:
        if futures:
            try:
                client.cancel(list(futures))
            except Exception:
                pass
        try:
            client.close(timeout=10)
        except Exception:
            pass


def _gather(client, futures: dict, good: list[str], failures: list, progress) -> list[SubmissionResult]:
    from distributed import as_completed

    results: list[SubmissionResult] = []
    total, done = len(futures), 0
    completed = as_completed(list(futures), loop=client.loop)
    idle_since, alone_since = time.monotonic(), None
    while not completed.is_empty():
        finished = completed.next_batch(block=False)
        for future in finished:
            sub = futures[future]
            try:
                result = result_from_plain(future.result())
            except Exception as exc:
                failures.append((sub.origin or sub.student, _failure_line(sub, exc)))
                continue
            results.append(result)
            done += 1
            if progress:
                progress(done, total, result)
        if finished:
            idle_since, alone_since = time.monotonic(), None
            continue
        time.sleep(0.2)
        if time.monotonic() - idle_since < 5:
            continue
        idle_since = time.monotonic()
        live = set(client.scheduler_info().get("workers", {}))
        if live & set(good):
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since > NO_WORKER_GRACE:
            for future in futures:
                if future.status in ("pending", "lost"):
                    sub = futures[future]
                    failures.append((sub.origin or sub.student,
                                     f"{sub.student}: could not be graded: every Dask worker that passed "
                                     f"the check left the cluster (waited {NO_WORKER_GRACE:g} s for one)"))
            break
    return results


def _failure_line(sub: Submission, exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return (f"{sub.student}: could not be graded: the Dask workers grading it died repeatedly "
                f"({exc}); grade it locally to see why")
    if isinstance(exc, TimeoutError):
        return f"{sub.student}: could not be graded: the cluster did not answer ({exc})"
    return f"{sub.student}: internal error on the cluster: {name}: {str(exc)[:300]}"
