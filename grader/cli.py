"""The command line: a thin layer over grader.grade's keyword-only functions.

Exit codes: 0 when something was graded (whatever the scores), 1 when nothing could be
graded (wrong path, empty folder, every file unusable), 2 for a usage error or an
unknown pack."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from grader.packs import PackError, list_packs, load_pack, project_root


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnngrade", description="Auto-grader for RNN lab assignments.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="packs, their rubric totals and where each was found")

    pack = sub.add_parser("pack", help="write and check assignment packs (docs/PACKS.md)")
    pack_sub = pack.add_subparsers(dest="pack_command", required=True)
    pack_check = pack_sub.add_parser("check", help="validate a pack as the engine does when it loads it")
    pack_check.add_argument("pack")
    pack_new = pack_sub.add_parser("new", help="scaffold a working pack (rubric, checks, probes, handout, "
                                               "reference, examples, test)")
    pack_new.add_argument("name", help="the pack id: lower case letters, digits and dashes (e.g. lab9-gru)")
    pack_new.add_argument("--dir", type=Path, default=None,
                          help="folder that holds pack folders (default: $RNNGRADE_HOME/assignments, "
                               "else the current checkout's assignments/, else ./assignments)")

    grade = sub.add_parser("grade", help="grade submissions (TA)")
    grade.add_argument("pack")
    grade.add_argument("paths", nargs="+", type=Path)
    _common(grade)
    grade.add_argument("--out", type=Path, default=None, help="output folder (default ./grading/PACK)")
    grade.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1)
    grade.add_argument("--manual", type=Path, default=None, help="TA scores CSV: student + manual item ids")
    grade.add_argument("--cluster", metavar="tcp://HOST:PORT", default=None,
                       help="grade on this Dask scheduler's workers (needs the cluster extra)")
    grade.add_argument("--roster", type=Path, default=None,
                       help="CSV with columns student,name,email,sid: adds name, email and SID to grades.csv")
    grade.add_argument("--canvas", action="store_true",
                       help="also write canvas.csv, a Canvas gradebook import (one assignment column)")

    check = sub.add_parser("check", help="self-check one submission (public checks)")
    check.add_argument("pack")
    check.add_argument("files", nargs="+", type=Path)
    _common(check)

    demo = sub.add_parser("demo", help="grade the bundled example submissions of every pack")
    demo.add_argument("--out", type=Path, default=Path("grading/demo"))
    demo.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1)
    demo.add_argument("--pack", action="append", default=None, help="only these packs")
    _sandbox_option(demo)

    gs = sub.add_parser("gradescope", help="build a Gradescope autograder zip")
    gs.add_argument("pack")
    gs.add_argument("-o", "--output", type=Path, default=Path("autograder.zip"))
    gs.add_argument("--train", choices=["full", "budget"], default="full",
                    help="training mode on Gradescope (default full: the student's script as written)")
    gs.add_argument("--show-manual", action="store_true", default=None,
                    help="list manual items in Gradescope's results (no points, neutral status)")

    review = sub.add_parser("review", help="score manual items in a browser (TA): serves a graded --out folder")
    review.add_argument("out", type=Path, help="the output folder of `rnngrade grade`")
    review.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free)")

    data = sub.add_parser("data", help="provision data files (MNIST, Gutenberg texts, ...)")
    data.add_argument("action", choices=["fetch", "verify"])
    data.add_argument("--data-dir", default=None)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=_positive_seconds, default=None, help="seconds per submission run")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--train", choices=["full", "budget"], default=None,
                   help="full: the student's training as written; budget: capped, provisional")
    p.add_argument("--execute", dest="train", action="store_const", const="full",
                   help="notebook packs: run the whole notebook (training included), not only its definitions; "
                        "same as --train full")
    p.add_argument("--seed", type=int, default=None, help="input seed (default: fresh, recorded)")
    _sandbox_option(p)


def _sandbox_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", choices=["auto", "bubblewrap", "rlimits+nobody", "none"], default="auto",
                   help="confinement of student code (default: the strongest that works here; "
                        "none: UNCONFINED, for trusted code only, and every report says so)")


def _choose_sandbox(args) -> None:
    """--sandbox (or RNNGRADE_SANDBOX), checked before any student code is touched."""
    from grader import sandbox

    if getattr(args, "sandbox", "auto") != "auto":
        sandbox.set_level(args.sandbox)
    sandbox.confinement_level()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="rnngrade: %(message)s")
    args = _parser().parse_args(argv)
    from grader.cluster import ClusterError
    from grader.sandbox import SandboxUnavailable

    try:
        if args.command in ("grade", "check", "demo"):
            _choose_sandbox(args)
        return {"list": cmd_list, "pack": cmd_pack, "grade": cmd_grade, "check": cmd_check, "demo": cmd_demo,
                "gradescope": cmd_gradescope, "data": cmd_data, "review": cmd_review}[args.command](args)
    except (PackError, SandboxUnavailable) as exc:
        print(f"rnngrade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except ClusterError as exc:  # --cluster: unreachable scheduler, no usable worker
        print(f"rnngrade: {exc}", file=sys.stderr)
        return 1


def cmd_list(_args) -> int:
    from grader.packs import find_packs, shadowed_packs, source_problems

    found = find_packs()
    broken: list[str] = []
    for spec in list_packs(broken):
        auto = sum(i.points for i in spec.items if i.kind == "auto")
        source = found[spec.id][1].kind if spec.id in found else "?"
        print(f"{spec.id:<16} {spec.total:>5g} points ({auto:g} auto, {spec.total - auto:g} manual)  {spec.title}"
              f"  [{source}: {spec.dir}]")
    for line in broken:  # a pack that does not load or validate: one line, exit 2
        pack_id = line.split(":", 1)[0]
        where = f" [{found[pack_id][1].kind}: {found[pack_id][0]}]" if pack_id in found else ""
        print(f"rnngrade: broken pack {line}{where}", file=sys.stderr)
    for pack_id, directory, source in shadowed_packs():
        print(f"  (hidden: {pack_id} in {directory} [{source.kind}], found earlier elsewhere)")
    for line in source_problems():
        print(f"rnngrade: {line}", file=sys.stderr)
    return 2 if broken else 0


def cmd_pack(args) -> int:
    if args.pack_command == "check":
        return cmd_pack_check(args)
    return cmd_pack_new(args)


def cmd_pack_check(args) -> int:
    """The load-time validation alone: every problem on its own line, exit 2; else one ok line."""
    from grader.validate import pack_problems, summary

    pack = load_pack(args.pack, validate=False)  # the rubric's own problems: PackError, exit 2 in main()
    problems = pack_problems(pack)
    if problems:
        for line in problems:
            print(f"rnngrade: {args.pack}: {line}", file=sys.stderr)
        return 2
    print(summary(pack))
    return 0


def cmd_pack_new(args) -> int:
    from grader.scaffold import ScaffoldError, default_pack_dir, write_pack

    try:
        directory = write_pack(args.name, args.dir if args.dir is not None else default_pack_dir())
    except ScaffoldError as exc:
        print(f"rnngrade: {exc}", file=sys.stderr)
        return 2
    from grader.packs import pack_source

    found = pack_source(args.name)
    print(f"wrote {directory}")
    if found is not None and found.directory == directory.parent.resolve():
        print(f"  found by rnngrade ({found.kind}); next: rnngrade pack check {args.name}; "
              f"python -m pytest {directory / ('test_' + args.name.replace('-', '_') + '.py')}")
    else:
        print(f"  rnngrade does not look in {directory.parent}: set RNNGRADE_HOME={directory.parent.parent} "
              f"(the folder holding assignments/) or move it (docs/PACKS.md 'Where packs are found')")
    return 0


def _data_dir(value: str | None) -> Path | None:
    try:
        from grader.data import resolve_data_dir
    except ImportError:
        return Path(value) if value else None
    return resolve_data_dir(value)


def _progress(enabled: bool):
    if not enabled:
        return None
    started = time.perf_counter()

    def report(done: int, total: int, result) -> None:
        elapsed = time.perf_counter() - started
        eta = elapsed / done * (total - done)
        bar = "#" * int(20 * done / total)
        print(f"\r[{bar:<20}] {done}/{total} {result.student[:24]:<24} "
              f"{result.score:g}/{result.max_score:g}  ETA {eta:4.0f}s", end="" if done < total else "\n",
              file=sys.stderr, flush=True)

    return report


def cmd_grade(args) -> int:
    from grader import store, terminal
    from grader.grade import grade_batch
    from grader.outputs import stored_seed, write_outputs
    from grader.manual import ManualError

    load_pack(args.pack)  # unknown pack: exit 2 before anything else
    out = args.out or Path("grading") / args.pack
    from grader import gradebook

    roster = {}
    if args.roster is not None:  # checked before any student code runs
        try:
            roster = gradebook.read_roster(args.roster)
        except gradebook.RosterError as exc:
            print(f"rnngrade: {exc}", file=sys.stderr)
            return 2
    try:  # an output folder already graded: merge into it, with its seed unless --seed
        info = store.read_batch_info(out)
        if info is not None and info["pack"] != args.pack:
            print(f"rnngrade: {out} holds a graded batch of {info['pack']}, not {args.pack}: "
                  "choose another --out", file=sys.stderr)
            return 2
        seed = args.seed if args.seed is not None else stored_seed(out)
        known = store.stored_students(out) if info is not None else []
    except store.StoreError as exc:
        print(f"rnngrade: {exc}", file=sys.stderr)
        return 2
    if info is not None:
        print(f"rnngrade: merging into {out} ({len(known)} student(s) graded there, seed {seed})",
              file=sys.stderr)
    # --cluster: each worker finds its own data folder unless --data-dir names one (on the workers)
    data_dir = (Path(args.data_dir) if args.data_dir else None) if args.cluster else _data_dir(args.data_dir)
    try:
        batch = grade_batch(pack_id=args.pack, paths=args.paths, jobs=max(1, args.jobs), timeout=args.timeout,
                            data_dir=data_dir, manual=args.manual, mode=args.train or "budget",
                            seed=seed, progress=_progress(True), known_students=known,
                            cluster=args.cluster)
    except ManualError as exc:
        for line in exc.lines:
            print(f"rnngrade: {line}", file=sys.stderr)
        print(f"rnngrade: --manual {args.manual}: fix the lines above; nothing was graded", file=sys.stderr)
        return 2
    for path, reason in batch.failures:
        print(f"rnngrade: {reason}", file=sys.stderr)
    if batch.results:
        if roster:
            unlisted = gradebook.apply_roster(batch, roster)
            if unlisted:
                print(f"rnngrade: not on the roster {args.roster} (no name, email, SID): "
                      f"{', '.join(unlisted[:20])}{' ...' if len(unlisted) > 20 else ''}", file=sys.stderr)
        try:
            merged = write_outputs(batch, out)
        except (store.StoreError, ManualError) as exc:
            print(f"rnngrade: {exc}", file=sys.stderr)
            return 2
        graded = {r.student for r in batch.results}
        print(terminal.render_batch(type(batch)(batch.pack, batch.pack_title, failures=batch.failures,
                                                results=[r for r in merged.results if r.student in graded],
                                                seed=batch.seed)))
        if len(merged.results) > len(graded):
            print(f"{out}: {len(merged.results)} students in all ({len(merged.results) - len(graded)} kept "
                  "from earlier runs)")
        print(f"reports: {out / 'index.html'}  gradebook: {out / 'grades.csv'}  "
              f"similarity: {out / 'similarity.csv'}  review: rnngrade review {out}")
        if args.canvas:
            path, held = gradebook.write_canvas_csv(merged, out / "canvas.csv", roster)
            print(f"canvas: {path}" + (f" ({len(held)} left blank: manual items pending)" if held else ""))
    else:
        print("rnngrade: nothing could be graded", file=sys.stderr)
    return batch.return_code


def cmd_review(args) -> int:
    from grader import review

    if not 0 <= args.port <= 65535:
        print(f"rnngrade: --port {args.port}: a port is 0 to 65535", file=sys.stderr)
        return 2
    try:
        server = review.make_server(args.out, port=args.port)
    except review.ReviewError as exc:
        print(f"rnngrade: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"rnngrade: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}; "
              "choose another --port (0: any free one)", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(f"reviewing {args.out} at http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C is how a review ends: every save is already on disk
        print("review stopped; scores are in " + str(args.out / "manual.json"))
    finally:
        server.server_close()
    return 0


def cmd_check(args) -> int:
    from grader import terminal
    from grader.discover import Submission
    from grader.grade import grade_submission
    from grader.sandbox import Worker

    pack = load_pack(args.pack)
    files = _self_check_files(list(args.files), pack.spec)
    if isinstance(files, str):
        print(f"rnngrade: {files}", file=sys.stderr)
        return 1
    from grader.packs import requirement_problems

    problems = requirement_problems(pack.spec, _data_dir(args.data_dir), args.train or "budget")
    if problems:  # the grader's install, not the student's code
        for problem in problems:
            print(f"rnngrade: could not be graded: {problem}", file=sys.stderr)
        return 1
    from grader.grade import NotGraded

    worker = Worker(imports=pack.spec.warm)
    try:
        result = grade_submission(pack, Submission(files[0].stem, tuple(files)), worker=worker,
                                  seed=args.seed if args.seed is not None else int(time.time()),
                                  mode=args.train or "budget", data_dir=_data_dir(args.data_dir),
                                  timeout=args.timeout, public_only=True)
    except NotGraded as exc:
        print(f"rnngrade: could not be graded: {exc.reason}", file=sys.stderr)
        return 1
    finally:
        worker.close()
    print(terminal.render(result, color=sys.stdout.isatty()))
    return 1 if result.error else 0


def _self_check_files(paths: list[Path], spec) -> list[Path] | str:
    """The files of one student's self-check, or why there are none. A folder is one
    submission, as `grade` reads it; given files bring the answers (.md, .txt, .pdf) and the
    helper modules they import from their own folder, as the messages tell students to put them."""
    from grader.discover import discover, gradable_files
    from grader.units import imported_helpers

    if len(paths) == 1 and paths[0].is_dir():
        found, failures = discover(paths, spec)
        if len(found) != 1:
            why = failures[0][1] if failures else f"{paths[0]} holds {len(found)} submissions"
            return f"{why}: give one student's folder or files (rnngrade grade reads a class)"
        return list(found[0].files)
    for path in paths:
        if not path.is_file():
            return f"{path}: no such file" + (" (give a folder alone, or files)" if path.is_dir() else "")
    files = list(paths)
    folder = paths[0].resolve().parent
    given = {f.resolve() for f in files}
    siblings = [p for p in gradable_files(folder) if p.resolve() not in given]
    answers = [p for p in siblings if p.suffix.lower() in {".md", ".txt", ".pdf"}]
    helpers = imported_helpers(files + [p for p in siblings if p.suffix == ".py"]) - set(files)
    return files + answers + sorted(h for h in helpers if h.parent.resolve() == folder)


def cmd_demo(args) -> int:
    from grader import terminal
    from grader.grade import grade_batch
    from grader.outputs import write_outputs
    from grader.sandbox import WorkerPool

    root = project_root() / "submissions"

    def examples(spec) -> Path:  # submissions/<pack> (the shipped packs), else <pack>/examples
        return root / spec.id if (root / spec.id).is_dir() else spec.dir / "examples"

    packs = [s for s in list_packs() if examples(s).is_dir() and (not args.pack or s.id in args.pack)]
    if not packs:
        print("rnngrade: no example submissions found", file=sys.stderr)
        return 1
    mismatches = 0
    for spec in packs:
        pool = WorkerPool(imports=spec.warm, size=max(1, args.jobs))
        try:
            batch = grade_batch(pack_id=spec.id, paths=[examples(spec)], jobs=max(1, args.jobs), pool=pool,
                                data_dir=_data_dir(None), seed=1234, progress=_progress(True))
        finally:
            pool.close()
        write_outputs(batch, args.out / spec.id)
        print(f"\n== {spec.id}: {spec.title}")
        print(terminal.render_batch(batch))
        mismatches += _compare_expected(batch, examples(spec))
        print(f"reports: {args.out / spec.id / 'index.html'}")
    print(f"\ndemo: {'all example submissions got their expected scores' if not mismatches else f'{mismatches} example submission(s) differ from expected.json'}")
    return 0 if not mismatches else 1


def evidence_mismatches(expected: dict, result) -> dict:
    """Manual items' evidence in expected.json (optional keys): `level_caps` {item: cap or null},
    `failed` {item: [names of failed evidence checks]} (items not listed: none failed),
    `report_failed` [names of failed report checks]. Returns {what: (expected, got)}."""
    wrong = {}
    if "level_caps" in expected:
        got = {i.id: i.level_cap for i in result.items if i.kind == "manual"}
        if got != expected["level_caps"]:
            wrong["level caps"] = (expected["level_caps"], got)
    if "failed" in expected:
        got = {i.id: [c.name for c in i.checks if not c.passed] for i in result.items if i.kind == "manual"}
        got = {k: v for k, v in got.items() if v}
        if got != expected["failed"]:
            wrong["failed evidence"] = (expected["failed"], got)
    if "report_failed" in expected:
        got = [c.name for c in result.report_checks if not c.passed]
        if got != expected["report_failed"]:
            wrong["failed report checks"] = (expected["report_failed"], got)
    return wrong


def _compare_expected(batch, folder: Path) -> int:
    mismatches = 0
    for result in batch.results:
        expected_path = folder / result.student / "expected.json"
        if not expected_path.exists():
            continue
        expected = json.loads(expected_path.read_text())
        got = {i.id: i.points for i in result.items}
        wrong = {k: (v, got.get(k)) for k, v in expected.get("items", {}).items() if got.get(k) != v}
        if "total" in expected and abs(result.auto_score - expected["total"]) > 1e-6:
            wrong["auto total"] = (expected["total"], result.auto_score)
        for key, v in evidence_mismatches(expected, result).items():
            wrong[key] = v
        if wrong:
            mismatches += 1
            print(f"  ! {result.student}: expected/got {wrong}")
    return mismatches


def cmd_gradescope(args) -> int:
    from grader.gradescope import build_autograder

    path = build_autograder(pack_id=args.pack, output=args.output, train=args.train,
                            show_manual=args.show_manual)
    print(f"wrote {path}: upload it as the assignment's autograder on Gradescope "
          f"(setup.sh and run_autograder at its root)")
    return 0


def cmd_data(args) -> int:
    from grader import data

    directory = data.resolve_data_dir(args.data_dir)
    if args.action == "fetch":
        lines = data.fetch(directory)
        for line in lines:
            print(line)
    problems = 0
    for name, ok, message in data.verify(directory):
        problems += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {message}")
    return 1 if problems else 0
