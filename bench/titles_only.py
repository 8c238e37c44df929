"""Where `stacking.set_apart.titles_unlike_labelled` fires: never on the protocol's halves, always where it should.

The rule flags the records to screen that have a title but no abstract when
such records are far commoner among them than among the labelled records
(the learners never learned to rank a title alone). It must not fire where
the labelled records hold them in the same share: every half of
bench/protocol.py (the shared datasets hold 0.2-20% such records), whose
results it would otherwise change. This script reads every half through the
command line's loader (no fitting: seconds) and prints the shares, the z and
whether the rule fires, then the same with the test half's abstracts blanked
(an export without abstracts: it must fire on every half). It also counts
the halves on which `stacking.set_apart.included_without_abstracts` would
warn (included training records far more often without an abstract than
the excluded ones; 0.3.23): a warning only, it changes no decision.

With ``--fit SEEDS``, it also fits the TF-IDF learners (the protocol's
``screenstack-tfidf``; no encoder, so minutes; ``--vectors CACHE``: the
default learners, minilm vectors cached in CACHE) on those seeds' full halves,
blanks the test half's abstracts, and scores the test half with the rule and
without it (the stack before 0.3.22, the same learner outputs), beside
flagging everything: F7 and recall, paired.

    python bench/titles_only.py                 # 5 seeds x 6 datasets, 2 draws per few-included level (about 2 minutes)
    python bench/titles_only.py --fit 0,1,2     # and the F7 it gains on 18 halves without test abstracts
    python bench/titles_only.py --seeds 0 --draws 1 --fit 0,1,2 --vectors artifacts/.cache   # the default learners
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from protocol import LEVELS, TEXT, fit_screenstack, half_key, halves, make_half  # noqa: E402  (bench/ is not a package)
from quality import DATASETS, drop_stack  # noqa: E402

from screenstack.features.artifacts.records import screening_records  # noqa: E402
from screenstack.features.records.corpus import load_corpus  # noqa: E402
from screenstack.stacking.set_apart import UNLIKE_Z, included_without_abstracts, titles_unlike_labelled  # noqa: E402


def finding(folder: Path, blank_test_abstracts: bool) -> dict:
    if blank_test_abstracts:
        test = pd.read_csv(folder / "test.csv", dtype=str, keep_default_na=False)
        test["abstract"] = ""
        test.to_csv(folder / "test.csv", index=False)
    corpus = load_corpus(folder / "train.csv", folder / "test.csv")
    result = titles_unlike_labelled(screening_records(corpus), corpus.split_keys("train"))
    included = included_without_abstracts(corpus.split_keys("train"), corpus.train["label"].to_numpy())
    return {"labelled_share": result.labelled_share, "share": result.share, "fires": bool(result.found.any()),
            "found": int(result.found.sum()), "included_warning": bool(included)}


def scored(folder: Path, y_test: np.ndarray, cache: Path | None = None) -> list[dict]:
    """The TF-IDF learners (with `cache`: the default learners, minilm vectors cached there) on `folder`'s half, its
    test abstracts blanked, stacked with the rule and without it."""
    import screenstack.stacking.stack as stage
    from screenstack.learners.fit import fit_learners
    from screenstack.stacking.metrics import fbeta

    if cache is not None:
        fit_screenstack(folder, cache)
    else:
        corpus = load_corpus(folder / "train.csv", folder / "test.csv")
        fit_learners(corpus, folder / "run", TEXT, progress=False)
    learners = () if cache is not None else TEXT
    rows = []
    for system, rule in (("with the rule", titles_unlike_labelled), ("without it", lambda *args: None)):
        drop_stack(folder / "run")  # the two stacks differ only in the rule: each is made, not reused
        stage.titles_unlike_labelled = rule
        try:
            stage.stack(folder / "run", stage.StackConfig(learners=learners))
        finally:
            stage.titles_unlike_labelled = titles_unlike_labelled
        decisions = pd.read_csv(folder / "run" / "submission.csv", header=None)[1].to_numpy()
        rows.append({"system": system, "fbeta": fbeta(y_test, decisions, 7.0), "recall": float(decisions @ y_test / y_test.sum()),
                     "flagged_share": float(decisions.mean())})
    everything = np.ones(len(y_test), dtype=int)
    rows.append({"system": "flag-all", "fbeta": fbeta(y_test, everything, 7.0), "recall": 1.0, "flagged_share": 1.0})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--draws", type=int, default=2)
    parser.add_argument("--fit", default="", help="seeds whose full halves are fitted and scored without test abstracts")
    parser.add_argument("--vectors", default="", metavar="CACHE", help="with --fit: the default learners (minilm vectors, "
                        "cached in CACHE) instead of the TF-IDF learners alone")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the loader's notes on each half (copies, ids) are not the question here
    logging.getLogger("screenstack").setLevel(logging.ERROR)
    todo = halves(sorted(DATASETS.glob("*.csv")), [int(s) for s in args.seeds.split(",")], LEVELS, args.draws)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for half in todo:
            for blank in (False, True):
                folder = Path(tmp) / half_key(half)
                make_half(half, folder)
                rows.append({"half": half_key(half), "dataset": half["dataset"], "variant": half["variant"],
                             "test_abstracts": "blanked" if blank else "as given", **finding(folder, blank)})
    frame = pd.DataFrame(rows)
    print(f"python bench/titles_only.py {' '.join(sys.argv[1:])}".strip())
    print(f"{frame['half'].nunique()} halves; the rule: share among the records to screen > 2 x the labelled share and "
          f"one-sided z > {UNLIKE_Z}")
    table = frame.groupby(["test_abstracts", "dataset"]).agg(
        halves=("half", "size"), fires=("fires", "sum"), labelled_share=("labelled_share", "mean"),
        screen_share_min=("share", "min"), screen_share_max=("share", "max"))
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    as_given = frame[frame["test_abstracts"] == "as given"]
    print(f"as given: fires on {int(as_given['fires'].sum())} of {len(as_given)} halves; "
          f"blanked: on {int(frame.loc[frame['test_abstracts'] == 'blanked', 'fires'].sum())} of {len(as_given)}")
    print(f"the warning on included training records without abstracts (`included_without_abstracts`): on "
          f"{int(as_given['included_warning'].sum())} of {len(as_given)} halves")
    if args.fit:
        fitted = []
        with tempfile.TemporaryDirectory() as tmp:
            for half in halves(sorted(DATASETS.glob("*.csv")), [int(s) for s in args.fit.split(",")], (), 0):
                if half["variant"] != "full":
                    continue
                folder = Path(tmp) / half_key(half)
                y_test = make_half(half, folder)
                finding(folder, blank_test_abstracts=True)
                cache = Path(args.vectors).resolve() / half["dataset"] if args.vectors else None
                fitted += [{"half": half_key(half), **row} for row in scored(folder, y_test, cache)]
        frame = pd.DataFrame(fitted)
        wide = frame.pivot(index="half", columns="system", values="fbeta")
        print(frame.groupby("system")[["fbeta", "recall", "flagged_share"]].mean().to_string(float_format=lambda v: f"{v:.3f}"))
        for peer in ("without it", "flag-all"):
            diff = wide["with the rule"] - wide[peer]
            print(f"F7 with the rule - {peer}: {diff.mean():+.4f} (s.e. {diff.std(ddof=1) / np.sqrt(len(diff)):.4f}, "
                  f"{len(diff)} halves; worst {diff.min():+.3f})")
        below = (wide["without it"] < wide["flag-all"] - 0.05).sum(), (wide["with the rule"] < wide["flag-all"] - 0.05).sum()
        print(f"halves more than 0.05 below flag-all: without the rule {below[0]}, with it {below[1]}")
    sys.exit(1 if as_given["fires"].any() else 0)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
