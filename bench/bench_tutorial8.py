"""tutorial8 benchmarks.

    python bench/bench_tutorial8.py                 grading time per example submission
    python bench/bench_tutorial8.py --jobs 2        the same, two submissions at a time
    python bench/bench_tutorial8.py --spread 8      what the reference reaches under 8 seeds with
                                                    the rubric's training budgets (the numbers
                                                    behind the thresholds in rubric.toml)

Timings depend on the machine's load: the example submissions that train all three models
(reference, reference-notebook) dominate; the others train one model or none.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PACK = "tutorial8"


def grading_times(jobs: int, seed: int) -> None:
    from grader.grade import grade_batch

    folder = ROOT / "submissions" / PACK
    started = time.perf_counter()
    batch = grade_batch(pack_id=PACK, paths=sorted(p for p in folder.iterdir() if p.is_dir()), jobs=jobs,
                        seed=seed)
    wall = time.perf_counter() - started
    print(f"{'submission':24s} {'score':>7s} {'grading s':>10s} {'student s':>10s}")
    for result in batch.results:
        print(f"{result.student:24s} {result.auto_score:7.0f} {result.seconds:10.1f} {result.student_seconds:10.1f}")
    total = sum(r.seconds for r in batch.results)
    print(f"{len(batch.results)} submissions, sum of per-submission times {total:.1f} s, "
          f"wall {wall:.1f} s with --jobs {jobs}")


def spread(n_seeds: int) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT / "reference"))
    import tutorial8 as ref

    tol = tomllib.loads((ROOT / "assignments" / PACK / "rubric.toml").read_text())["tolerances"]
    seeds = range(10, 10 + n_seeds)

    def run(label: str, fn) -> None:
        values, seconds = [], []
        for seed in seeds:
            torch.manual_seed(seed)
            np.random.seed(seed)
            started = time.perf_counter()
            values.append(fn())
            seconds.append(time.perf_counter() - started)
        print(f"{label}: min {min(values):.3f}  median {statistics.median(values):.3f}  max {max(values):.3f}"
              f"  ({', '.join(f'{v:.3f}' for v in values)}); {statistics.mean(seconds):.1f} s per run")

    t = tol["sequence-rnn"]
    x, y = ref.make_sequences(8, 100, 0.1, 10)

    def seq() -> float:
        model = ref.SequenceRNN(3, 5, 2)
        ref.train_sequence_rnn(model, x, y, t["n_iters"], t["lr"])
        with torch.no_grad():
            return float(((model(x) - y) ** 2).mean())

    run(f"sequence-rnn final MSE after {t['n_iters']} iterations (threshold {t['max_mse']})", seq)

    t2 = tol["lstm-mapping"]
    xm = torch.tensor(ref.MAPPING_X, dtype=torch.float32).unsqueeze(-1)
    ym = torch.tensor(ref.MAPPING_Y, dtype=torch.float32)

    def lstm() -> float:
        model = ref.MappingLSTM(10)
        ref.train_mapping_lstm(model, t2["n_iters"], t2["lr"])
        with torch.no_grad():
            return float(((model(xm) - ym) ** 2).mean())

    run(f"lstm-mapping MSE after {t2['n_iters']} iterations (threshold {t2['max_mse']})", lstm)

    t3 = tol["gru-sentiment"]
    vocab_size, table = ref.vocabulary(ref.data)
    xg, tg = ref.preprocess(ref.data, table), torch.tensor(ref.targets)

    def gru() -> float:
        model = ref.SentimentGRU(vocab_size, 10, 0.7)
        ref.train_sentiment(model, xg, tg, t3["n_epochs"], t3["lr"])
        model.eval()
        with torch.no_grad():
            return float((model(xg, drop_rate=0).argmax(1) == tg).float().mean())

    run(f"gru-sentiment accuracy after {t3['n_epochs']} epochs (threshold {t3['min_accuracy']})", gru)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--spread", type=int, metavar="N", help="train the reference under N seeds instead")
    args = parser.parse_args()
    if args.spread:
        spread(args.spread)
    else:
        grading_times(args.jobs, args.seed)


if __name__ == "__main__":
    main()
