"""`screenstack fit-learners`: OOF and test scores of every learner on the shared fold plan."""
from __future__ import annotations

import argparse

from ._common import (LEARNER_NAMES, add_corpus_options, add_fold_options, add_out_option, corpus_from_args, fold_config,
                      learners_config, show_configs, split_list)

DEFAULT_LEARNERS = "tfidf-svm,tfidf-logreg"  # `learners.fit.DEFAULT_TEXT_LEARNERS`, without loading scikit-learn for `--help`

EXAMPLE = """example:
  screenstack fit-learners --train data/cohen/train.csv --test data/cohen/test.csv --out artifacts/run1
  screenstack fit-learners --data data/asreview_export.ris --out artifacts/review   # labelled records train, the rest are scored
  screenstack fit-learners --train data/train.csv --test data/test.csv --out artifacts/run1 \\
      --features artifacts/run1/features/minilm-*.parquet --learners logreg,lightgbm,xgboost,tfidf-svm
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
                        help=f"comma-separated learners (available: {', '.join(LEARNER_NAMES)})")
    parser.add_argument("--features", metavar="FILES", help="comma-separated feature files for the vector learners")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..learners.fit import fit_learners  # local: keeps `screenstack --help` fast

    folds, learners = fold_config(args), learners_config(args, split_list(args.features))
    show_configs(folds, learners)
    fit_learners(corpus_from_args(args, cross_validated=True), args.out, learners.learners, learners.features, folds=folds, progress=not args.quiet)
    return 0
