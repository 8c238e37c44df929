"""How much of `stack` went to drawing the bootstrap's resamples again and again?

The threshold rule averages F-beta over 200 bootstrap resamples of the OOF
records (`stacking.threshold.choose_threshold`), and a stack chooses about 50
thresholds: each learner's and blend's per-fold thresholds for its honest OOF
F-beta, on the same fold plan, so on a handful of record counts. Through 0.3.57
each choice drew its 200 x n multinomial counts anew; now each (count, seed)
is drawn once (`bootstrap_counts`). This stacks the learner outputs of
`bench/speed.py`'s competition-sized run (27,000 training, 41,000 test
records, five learners) both ways, alternately in one process, each from a
copy of the run without its stack, and checks that both write the same bytes.

    python bench/speed.py --stages fit-learners   # once, for the learner outputs (about 10 minutes on 2 cores)
    python bench/stack_draws.py                   # about 4 minutes
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import ROOT, drop_stack, machine, peak_mib  # noqa: E402  (bench/ is not a package)

STACK_FILES = ("submission.csv", "test_scores.csv", "ranked.csv", "summary.json", "calibration.json", "blend.json",
               "blend_oof.parquet")


def stack_once(run: Path, work: Path, drawn_each_time: bool) -> tuple[float, dict[str, bytes]]:
    """Seconds to stack a copy of `run` (its stack removed), and the stack's files."""
    from screenstack.stacking import threshold
    from screenstack.stacking.stack import StackConfig, stack

    copy = work / "run"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(run, copy)
    drop_stack(copy)
    cached = threshold.bootstrap_counts
    cached.cache_clear()
    if drawn_each_time:  # every threshold draws its resamples anew, as before 0.3.58
        threshold.bootstrap_counts = cached.__wrapped__
    try:
        start = time.perf_counter()
        stack(copy, StackConfig())
        seconds = time.perf_counter() - start
    finally:
        threshold.bootstrap_counts = cached
    return seconds, {name: (copy / name).read_bytes() for name in STACK_FILES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default=str(ROOT / "artifacts" / "bench_speed" / "run"),
                        help="a run folder with learner outputs (default: bench/speed.py's)")
    parser.add_argument("--rounds", type=int, default=2, help="stacks each way, alternately (default 2)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    run = Path(args.run)
    if not (run / "learners").is_dir():
        sys.exit(f"{run}: no learner outputs; run `python bench/speed.py --stages fit-learners` first (or name one with --run)")
    times: dict[bool, list[float]] = {True: [], False: []}
    outputs = []
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.rounds):
            for each in (True, False):
                seconds, files = stack_once(run, Path(work), each)
                times[each].append(seconds)
                outputs.append(files)
                print(f"{'drawn for every threshold' if each else 'drawn once per count':26} {seconds:6.1f} s", flush=True)
    same = all(files == outputs[0] for files in outputs)
    before, after = min(times[True]), min(times[False])
    print(f"machine: {machine()}; peak {peak_mib():.0f} MiB")
    print(f"stack: {after:.1f} s against {before:.1f} s ({after / before:.2f}x, best of {args.rounds}); "
          f"the stack's files {'the same bytes' if same else 'DIFFER'}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
