"""Options several subcommands share, and their conversion to configs."""
from __future__ import annotations

import argparse
import logging

from ..features.records.corpus import ColumnSpec, Corpus, load_corpus
from ..features.errors import ScreenstackError
from ..features.artifacts.folds import FoldConfig
from ..learners.config import LearnersConfig

log = logging.getLogger("screenstack")
# Options holding comma-separated names; a TOML --config file may give them as lists.
LIST_OPTIONS = {"learners", "pooling", "features", "text_cols"}


def add_corpus_options(parser: argparse.ArgumentParser, test_required: bool = False) -> None:
    group = parser.add_argument_group("input files")
    group.add_argument("--train", required=True, metavar="FILE", help="labelled records: CSV, TSV, XLSX or RIS")
    group.add_argument("--test", required=test_required, metavar="FILE", help="records to screen (no labels needed)")
    group.add_argument("--id-col", metavar="COL", help="id column (default: id or record_id, else row number)")
    group.add_argument("--text-cols", metavar="COLS", help="comma-separated text columns, title first (default: title,abstract)")
    group.add_argument("--label-col", metavar="COL", help="label column (default: judgement, label_included, included or label)")


def corpus_from_args(args: argparse.Namespace, cross_validated: bool = False) -> Corpus:
    """The corpus of ``--train``/``--test``; `cross_validated`: refuse, naming the file, too few included records for folds."""
    corpus = load_corpus(args.train, args.test, ColumnSpec.from_flags(args.id_col, args.text_cols, args.label_col))
    if cross_validated and (positives := int(corpus.train["label"].sum())) < 2:
        raise ScreenstackError(
            f"{args.train}: {positives} included (1) record among {len(corpus.train)}; cross-validation needs at least 2. "
            "Label more included records before training."
        )
    return corpus


def add_fold_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folds", type=int, default=5, metavar="K", help="stratified folds of the shared fold plan (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold plan and the learners (default 0)")


def fold_config(args: argparse.Namespace) -> FoldConfig:
    return FoldConfig(n_folds=args.folds, seed=args.seed)


def learners_config(args: argparse.Namespace, features: tuple[str, ...] = ()) -> LearnersConfig:
    return LearnersConfig(learners=split_list(args.learners), features=features)


def add_out_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="artifacts folder of this run")


def split_list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def show_configs(*configs) -> None:
    """Log, at debug level (`-v`), the validated configs a command runs with."""
    for config in configs:
        log.debug("config: %r", config)
