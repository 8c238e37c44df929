"""`screenstack fit-learners`: OOF and test scores of every learner on the shared fold plan."""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from ..features.errors import ScreenstackError, quoted
from ._common import (LEARNER_NAMES, add_corpus_options, add_fold_options, add_out_option, corpus_from_args, fold_config,
                      learners_config, show_configs)

DEFAULT_LEARNERS = "tfidf-svm,tfidf-logreg"  # `learners.config.DEFAULT_TEXT_LEARNERS`, without loading scikit-learn for `--help`
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


def command(args: argparse.Namespace) -> int:
    from ..features.artifacts import sets
    from ..features.artifacts.runfolder import RunFolder
    from ..learners.default_features import refuse_no_feature_file, say_unused_feature_files, with_default_features
    from ..learners.fit import fit_learners  # local: keeps `screenstack --help` fast

    folds, learners = configs(args)
    refuse_no_feature_file(args.out, learners)  # said before the input files are read
    corpus = corpus_from_args(args, cross_validated=True)  # a missing input file is refused before anything is said
    learners = with_default_features(corpus, args.out, learners, folds)
    if args.features is None:  # named feature files a text learner leaves unread: `LearnersConfig` warns
        say_unused_feature_files(args.out, learners)
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
