"""`screenstack run`: extract (if a vector learner asks for it), fit the learners, stack, and write the report."""
from __future__ import annotations

import argparse
from pathlib import Path

import tomli_w

from ..features.atomic import atomic_path
from ..learners import LEARNERS
from ._common import add_corpus_options, add_fold_options, add_out_option, corpus_from_args, fold_config, split_list
from .extract import add_extract_options, add_finetune_options, extract_config, finetune_config
from .stack import add_stack_options, stack_config

DEFAULT_LEARNERS = "logreg,lightgbm,xgboost,tfidf-svm,tfidf-logreg"
EXAMPLE = f"""examples:
  screenstack run --train data/cohen/train.csv --test data/cohen/test.csv --model minilm --out artifacts/run1
  screenstack run --train data/train.csv --test data/test.csv --learners tfidf-svm,tfidf-logreg --out artifacts/tfidf
  screenstack run --config artifacts/run1/config.toml          # the same run again (reuses finished artifacts)

Vector learners (logreg, lightgbm, xgboost) read the vectors `extract` makes with --model; with only
text learners (tfidf-*) nothing is extracted. Default learners: {DEFAULT_LEARNERS}.
Writes OUT/submission.csv, OUT/test_scores.csv, OUT/summary.json, OUT/report.html and OUT/config.toml.
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("run", help="extract + fit-learners + stack + report, in one go",
                                   description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_corpus_options(parser, test_required=True)
    add_out_option(parser)
    add_fold_options(parser)
    parser.add_argument("--learners", default=DEFAULT_LEARNERS, metavar="NAMES",
                        help=f"comma-separated learners (available: {', '.join(sorted(LEARNERS))})")
    add_extract_options(parser)
    add_finetune_options(parser)
    add_stack_options(parser)
    parser.set_defaults(func=command)


def _write_config(args: argparse.Namespace) -> None:
    """OUT/config.toml: every option this run used, so `run --config` repeats it."""
    skip = {"func", "command", "config", "quiet"}
    values = {k: v for k, v in sorted(vars(args).items()) if k not in skip and v is not None}
    path = Path(args.out) / "config.toml"
    with atomic_path(path) as tmp:
        tmp.write_text(tomli_w.dumps(values))


def command(args: argparse.Namespace) -> int:
    from ..extract.stage import extract_features
    from ..learners.fit import fit_learners
    from ..stacking.report import write_report
    from ..stacking.stack import stack

    corpus = corpus_from_args(args)
    folds = fold_config(args)
    learners = split_list(args.learners)
    features = []
    if args.finetune:
        from ..extract.finetune import finetune

        _, finetuned = finetune(corpus, args.out, finetune_config(args), folds=folds, progress=not args.quiet,
                                confirm=True if args.yes else None)
        features.append(str(finetuned))
    elif any(LEARNERS[name].input == "vectors" for name in learners if name in LEARNERS):
        features.append(str(extract_features(corpus, args.out, extract_config(args), progress=not args.quiet)))
    fit_learners(corpus, args.out, learners, tuple(features), folds=folds, progress=not args.quiet)
    _write_config(args)
    stack(args.out, stack_config(args))
    print(write_report(args.out))
    return 0
