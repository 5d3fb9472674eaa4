"""`rnngrade grade ... --cluster tcp://HOST:PORT` on a real Dask cluster: a scheduler and two
`dask worker` processes on 127.0.0.1 (separate processes, each grading in its own sandbox pool).

Proves: per-item scores equal a local run at the same seed and --out is written as locally;
a worker SIGKILLed mid-batch loses no student; an unreachable scheduler is one line and exit 1;
a worker without the pack is refused by name."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip(
    "distributed", reason="the cluster extra is not installed (pip install -e \".[cluster]\")")

from conftest import ROOT, SHARED_DATA, grade_examples  # noqa: E402

PACK = "lab7-inclass"
FOLDER = ROOT / "submissions" / PACK
SEED = 1234
# a mix: full marks, partial marks, a student raising, a student killing its own sandbox
CASES = ["reference", "wrong-sign", "bug-relu-list", "non-leaf", "hostile-exit", "optim"]
KILL_CASES = ["reference", "wrong-sign", "bug-relu-list", "non-leaf", "hostile-exit", "optim",
              "no-bias", "sigmoid", "zeros-init", "nn-rnn"]


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.update(extra)
    if SHARED_DATA.is_dir():
        env.setdefault("RNNGRADE_DATA", str(SHARED_DATA))
    return env


def _start(cmd: list[str], log: Path, **env) -> subprocess.Popen:
    # its own session: teardown ends the worker and the sandbox processes it started, and no other
    return subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=log.parent,
                            env=_env(**env), start_new_session=True)


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


def _dask(*args) -> list[str]:
    return [sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]]


def _worker(address: str, name: str, log: Path, **env) -> subprocess.Popen:
    # --no-nanny: a killed worker stays dead (a nanny would restart it at once)
    return _start(_dask("worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                        "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60"), log, **env)


def _client(address: str):
    return distributed.Client(address, timeout=30, set_as_default=False)


def _workers_by_name(client) -> dict[str, str]:
    return {w["name"]: addr for addr, w in client.scheduler_info()["workers"].items()}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    sched_file = tmp / "scheduler.json"
    procs = [_start(_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                          "--scheduler-file", str(sched_file)), tmp / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:"), address
        workers = {name: _worker(address, name, tmp / f"{name}.log") for name in ("w1", "w2")}
        procs += workers.values()
        with _client(address) as client:
            client.wait_for_workers(2, timeout=60)
        yield {"address": address, "workers": workers, "tmp": tmp}
    finally:
        for proc in reversed(procs):
            _stop(proc)


def rnngrade(*args, **env):
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env=_env(**env))


@pytest.fixture(scope="module")
def local():
    return grade_examples(PACK, KILL_CASES, seed=SEED)


def _local_items(result) -> dict[str, float]:
    return {i.id: i.points for i in result.items}


def _cluster_items(out: Path, student: str) -> dict[str, float]:
    data = json.loads((out / student / "results.json").read_text())
    return {t["extra_data"]["item"]: t["score"] for t in data["tests"]}


def test_cluster_scores_equal_a_local_run_at_the_same_seed(cluster, local, tmp_path):
    from grader.results_json import write_results_json

    out = tmp_path / "out"
    run = rnngrade("grade", PACK, *[FOLDER / c for c in CASES], "--cluster", cluster["address"],
                   "--seed", SEED, "--out", out)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "could not be graded" not in run.stderr and "refused" not in run.stderr, run.stderr[-3000:]
    assert f"{len(CASES)}/{len(CASES)}" in run.stderr  # the progress line counts as locally
    assert (out / "grades.csv").is_file() and (out / "index.html").is_file()
    for case in CASES:
        assert (out / case / "report.html").is_file()
        got, want = _cluster_items(out, case), _local_items(local[case])
        assert got == want, f"{case}: cluster {got} != local {want}"
        data = json.loads((out / case / "results.json").read_text())
        assert data["extra_data"]["seed"] == SEED
        assert data["extra_data"]["sandbox"] == local[case].sandbox  # the same confinement level
        # every check's text (expected / observed / hints) as a local run writes it
        write_results_json(local[case], tmp_path / f"{case}.json")
        assert data["tests"] == json.loads((tmp_path / f"{case}.json").read_text())["tests"], case
        assert [r["figures"] for r in data["extra_data"]["runs"]] == [len(r.figures) for r in local[case].runs]
    # and the golden scores of submissions/ (expected.json), not merely "the same as local"
    for case in CASES:
        expected = json.loads((FOLDER / case / "expected.json").read_text())["items"]
        got = _cluster_items(out, case)
        assert {k: got.get(k) for k in expected} == expected, case


def test_a_worker_killed_mid_batch_loses_no_student(cluster, local, monkeypatch):
    from grader import cluster as cluster_mod
    from grader.grade import grade_batch

    monkeypatch.setattr(cluster_mod, "NO_WORKER_GRACE", 30.0)  # a hang fails in 30 s, not 120

    address = cluster["address"]
    with _client(address) as client:
        names = _workers_by_name(client)
        assert {"w1", "w2"} <= set(names), names
        victim = cluster["workers"]["w1"]
        results: dict = {}
        def batch():
            try:
                results["batch"] = grade_batch(pack_id=PACK, paths=[FOLDER / c for c in KILL_CASES],
                                               seed=SEED, cluster=address)
            except BaseException as exc:  # reported by the assertions below
                results["error"] = exc

        thread = threading.Thread(target=batch)
        thread.start()
        deadline = time.monotonic() + 120
        killed_while = None
        while time.monotonic() < deadline and thread.is_alive():
            busy = client.processing().get(names["w1"], [])
            if any(str(k).startswith("rnngrade-") for k in busy):
                killed_while = busy
                os.killpg(victim.pid, signal.SIGKILL)  # the worker and its sandbox processes
                break
            time.sleep(0.1)
        thread.join(timeout=280)
    assert not thread.is_alive(), "the batch did not finish after a worker was killed"
    assert "error" not in results, results.get("error")
    assert killed_while, "worker w1 never got a submission before the batch ended"
    victim.wait(timeout=15)
    batch = results["batch"]
    assert batch.failures == []
    assert sorted(r.student for r in batch.results) == sorted(KILL_CASES)
    for result in batch.results:
        assert _local_items(result) == _local_items(local[result.student]), result.student
    # w1 is gone: the other tests must not count on it
    cluster["workers"].pop("w1")


def test_unreachable_scheduler_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = rnngrade("grade", PACK, FOLDER / "reference", "--cluster", f"tcp://127.0.0.1:{port}",
                   "--out", tmp_path / "out", RNNGRADE_CLUSTER_CONNECT_TIMEOUT="3")
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"rnngrade: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert not (tmp_path / "out").exists()


def test_workers_without_the_pack_other_code_or_weaker_sandbox_are_refused_by_name(cluster, tmp_path):
    import shutil

    from grader.cluster import vet_workers
    from grader.sandbox import confinement_level

    home = tmp_path / "home"
    (home / "assignments").mkdir(parents=True)  # a grader install whose assignments lack the pack:
    bare = tmp_path / "bare"  # the same package, installed without the shipped packs
    shutil.copytree(ROOT / "grader", bare / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    other = tmp_path / "other"  # another rnngrade: the same package, one line changed
    shutil.copytree(ROOT / "grader", other / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "grader" / "score.py", "a") as fh:
        fh.write("\n# a later release\n")
    strays = [_worker(cluster["address"], "no-pack", tmp_path / "no-pack.log", RNNGRADE_HOME=str(home),
                      PYTHONPATH=str(bare)),
              _worker(cluster["address"], "other-code", tmp_path / "other-code.log",
                      PYTHONPATH=str(other), RNNGRADE_HOME=str(ROOT))]
    level = confinement_level()
    if level == "bubblewrap":  # a machine without bwrap cannot confine at the launcher's level
        strays.append(_worker(cluster["address"], "no-bwrap", tmp_path / "no-bwrap.log", PATH=str(tmp_path)))
    try:
        with _client(cluster["address"]) as client:
            deadline = time.monotonic() + 60
            wanted = {"no-pack", "other-code"} | ({"no-bwrap"} if level == "bubblewrap" else set())
            while not wanted <= set(_workers_by_name(client)) and time.monotonic() < deadline:
                time.sleep(0.2)
            names = _workers_by_name(client)
            good, refused = vet_workers(client, PACK, None, level)
            # --data-dir names a folder on the workers: one without the pack's data is refused
            no_data = tmp_path / "no-data"
            no_data.mkdir()
            good_hw, refused_hw = vet_workers(client, "lab7-homework", no_data, level)
        assert names["no-pack"] not in good and names["other-code"] not in good
        assert any(names["no-pack"] in line and f"it has no pack {PACK}" in line for line in refused), refused
        assert any(names["other-code"] in line and "it runs other rnngrade code" in line for line in refused), refused
        if level == "bubblewrap":
            assert names["no-bwrap"] not in good
            assert any(names["no-bwrap"] in line and "cannot confine student code at the launcher's level "
                       "bubblewrap" in line for line in refused), refused
        assert good, "the ordinary workers were refused too"
        assert good_hw == [], refused_hw
        for address in good:  # the ordinary workers: refused for the data alone, by name
            assert any(address in line and "grader data missing" in line for line in refused_hw), refused_hw
    finally:
        for stray in strays:
            _stop(stray)


def test_results_travel_as_plain_data(local):
    from grader.cluster import _check_plain, result_from_plain, result_to_plain

    result = local["reference"]
    plain = result_to_plain(result)
    _check_plain(plain)
    assert result_from_plain(plain) == result
    with pytest.raises(TypeError):
        _check_plain({"items": [object()]})
    with pytest.raises(TypeError):
        result_from_plain({**plain, "evil": 1})
