"""`screenstack fit-learners`: OOF and test scores of every learner on the shared fold plan."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path

from ..features.artifacts.sets import run_again
from ..features.errors import ScreenstackError, quoted
from ._common import (LEARNER_NAMES, add_corpus_options, add_fold_options, add_out_option, corpus_from_args, fold_config,
                      learners_config, show_configs)

DEFAULT_LEARNERS = "tfidf-svm,tfidf-logreg"  # `learners.fit.DEFAULT_TEXT_LEARNERS`, without loading scikit-learn for `--help`
log = logging.getLogger("screenstack")

EXAMPLE = """examples:
  screenstack fit-learners --train data/cohen/train.csv --test data/cohen/test.csv --out artifacts/run1
  screenstack fit-learners --data data/asreview_export.ris --out artifacts/review   # labelled records train, the rest are scored
  screenstack fit-learners --train data/cohen/train.csv --test data/cohen/test.csv --out artifacts/run1 \\
      --learners logreg,lightgbm,xgboost,tfidf-svm     # vectors: the feature file `extract` wrote to artifacts/run1/features
  screenstack fit-learners --train data/cohen/train.csv --test data/cohen/test.csv --out artifacts/run1 \\
      --learners logreg --features artifacts/run1/features/minilm-*.parquet   # every file named, vectors side by side
  screenstack fit-learners --data data/review.csv --out artifacts/run2 --learners logreg \\
      --features "artifacts/runs 3,4/features/minilm-0123456789.parquet"   # a path holding a comma is one file

Without --features, the vector learners (logreg, lightgbm, xgboost) read the feature file in OUT/features
when there is exactly one; with several, name the one(s) to use with --features.
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "fit-learners", help="fit CPU learners with out-of-fold scores", description=__doc__, epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_corpus_options(parser)
    add_out_option(parser)
    add_fold_options(parser)
    parser.add_argument("--learners", default=DEFAULT_LEARNERS, metavar="NAMES",
                        help=f"comma-separated learners (default: {DEFAULT_LEARNERS}, the text learners; `screenstack run` fits all five; "
                             f"available: {', '.join(LEARNER_NAMES)})")
    # nargs="+": a shell glob matching several files gives several arguments, each a file.
    parser.add_argument("--features", metavar="FILE", nargs="+",
                        help="feature files for the vector learners, space- or comma-separated; their vectors are put side "
                             "by side (default: the one feature file in OUT/features of these records, a fine-tuning's vectors "
                             "aside, as run fits them)")
    parser.set_defaults(func=command)


def _features(args: argparse.Namespace) -> tuple[str, ...]:
    # A list from the command line, a comma-separated string from a --config file.
    value = args.features
    if value is None:
        return ()
    from ..features.checks import comma_items  # local: keeps `screenstack --help` fast

    found = []
    for item in value if isinstance(value, list) else [value]:
        # A file's own name may hold a comma ("run 3,4/f.parquet"): an item naming a file is that file, not a list.
        # `--features ""` names no file: refused as `--learners ""` is, not taken for the default
        if os.path.isfile(item):
            found.append(item)
            continue
        parts = comma_items(item, "--features", shown=item if item.strip() else repr(item))
        missing = [part for part in parts if not os.path.isfile(part)]
        if len(parts) > 1 and missing:  # said as typed, not by a fragment
            raise ScreenstackError(f"--features {quoted(item)}: no such feature file, read whole or split at its commas "
                                   f"({', '.join(map(quoted, missing))} not found). Check the path.")
        found += parts
    return tuple(found)


def configs(args: argparse.Namespace) -> tuple:
    """``(folds, learners)``, validated."""
    return fold_config(args), learners_config(args, _features(args))


def _feature_files(out: str | Path) -> list[str]:
    """The feature files in ``OUT/features`` (those `extract` wrote), sorted."""
    folder = Path(out) / "features"
    return sorted(str(p) for p in folder.glob("*.parquet") if not p.is_dir()) if folder.is_dir() else []


def _no_feature_file(out: str | Path, readers: list[str]) -> ScreenstackError:
    return ScreenstackError(f"learners {', '.join(readers)} read vectors, and {Path(out) / 'features'} holds no feature file: "
                            f"run `screenstack extract` with --out {quoted(out)} first, or pass --features FILE.parquet.")


def features_in_out(out: str | Path, readers: list[str], corpus) -> str:
    """The feature file in ``OUT/features`` for the vector learners `readers`: the one frozen encoder's file of `corpus`'s
    records. A file of other records (an earlier --test's, which `run` leaves beside the new one), a fine-tuning's
    cross-fitted vectors (`run --finetune` fits the vector learners on the frozen encoder's: its docstring says why) and
    a file that does not open are left unread and named; none or several such files are refused."""
    from ..features.artifacts.store import feature_file_kind

    folder = Path(out) / "features"
    found = _feature_files(out)
    if not found:
        raise _no_feature_file(out, readers)
    kinds = {f: feature_file_kind(f, corpus) for f in found}
    if len(found) == 1 and kinds[found[0]] in ("frozen", "other records"):
        log.info("fit-learners: vectors for %s from %s (the one feature file in %s)", ", ".join(readers), found[0], folder)
        return found[0]  # of other records: reading it names the records that differ, with the fix
    # A lone file that does not open is refused below as no file of these records: the way on is `extract`, not
    # --features, which was not given.
    frozen = [f for f, kind in kinds.items() if kind == "frozen"]
    fine_tuned = [f for f, kind in kinds.items() if kind == "fine-tuned"]
    names = ", ".join(readers)
    if len(frozen) > 1:
        raise ScreenstackError(f"learners {names} read vectors, and {folder} holds {len(frozen)} feature files of these "
                               f"records ({', '.join(map(quoted, frozen))}): choose with --features FILE (several: their vectors "
                               "side by side).")
    if not frozen:
        there = "; ".join(f"{quoted(f)}: {kind}" for f, kind in kinds.items())
        why = ("holds only a fine-tuning's cross-fitted vectors of these records, on which no learner is honest out of "
               "fold; the vector learners fit on the frozen encoder's" if fine_tuned else
               "holds no feature file extracted from these records")
        remake = run_again(out)  # `run`'s config.toml: its model and extraction options, which extract needs again
        again = (f"{remake} extracts them again with the run's settings" if remake
                 else f"run `screenstack extract` with these input files, the --model and extraction options wanted and --out "
                      f"{quoted(out)} first")
        raise ScreenstackError(f"learners {names} read vectors, and {folder} {why} ({there}): {again}.")
    said = {"fine-tuned": "a fine-tuning's vectors"}
    unread = "; ".join(f"{quoted(f)}, {said.get(kind, kind)}" for f, kind in kinds.items() if f != frozen[0])
    log.info("fit-learners: vectors for %s from %s (unread: %s)", names, quoted(frozen[0]), unread)
    return frozen[0]


def command(args: argparse.Namespace) -> int:
    from ..features.artifacts import sets
    from ..features.artifacts.runfolder import RunFolder
    from ..learners.fit import fit_learners  # local: keeps `screenstack --help` fast
    from ..learners.registry import LEARNERS

    folds, learners = configs(args)
    readers = ([name for name in learners.learners if LEARNERS[name].input == "vectors"]
               if learners.needs_vectors and not learners.features else [])
    if readers and not _feature_files(args.out):
        raise _no_feature_file(args.out, readers)  # said before the input files are read
    corpus = corpus_from_args(args, cross_validated=True)  # a missing input file is refused before anything is said
    if readers:
        from ..features.artifacts.folds import refuse_other_plan
        from ..features.artifacts.outputs import refuse_other_test

        # What `fit_learners` refuses first, said before a choice among feature files whose fix would only lead to it.
        refuse_other_plan(corpus, args.out, folds, say=False)
        refuse_other_test(args.out, corpus.fingerprint("test"), records=corpus.test)
        learners = dataclasses.replace(learners, features=(features_in_out(args.out, readers, corpus),))
    if not learners.needs_vectors and args.features is None and (found := _feature_files(args.out)):
        # `extract` just wrote vectors, and the default text learners would leave them unread: say so, not silently.
        log.info("fit-learners: %s in %s/features not used: the learners fitted (%s) read the text; add logreg, lightgbm "
                 "or xgboost to --learners to fit on the vectors", ", ".join(found), args.out, ",".join(learners.learners))
    show_configs(folds, learners)
    before = set(RunFolder(args.out).learners_not_stacked())
    fit_learners(corpus, args.out, learners.learners, learners.features, folds=folds, progress=not args.quiet)
    # A stack made before these learners is consistent but leaves them out: `stack`, `report` and `predict` would use it.
    if added := [n for n in RunFolder(args.out).learners_not_stacked() if n not in before]:
        every = RunFolder(args.out).learner_names()  # the stack's own options, with these learners too
        log.info("fit-learners: the stack in %s (ranked.csv, summary.json) does not blend these outputs of %s; run "
                 "%s to blend them (until then report and predict use the earlier blend)",
                 args.out, ", ".join(added), sets.stack_command(Path(args.out), every))
    elif RunFolder(args.out).stack_warnings_stale():
        log.info("fit-learners: the input files gave other warnings than when the stack in %s was made (a row moved?); run "
                 "%s to have them in its summary and report", args.out, sets.stack_command(Path(args.out)))
    return 0
