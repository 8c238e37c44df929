"""Options several subcommands share, and their conversion to configs."""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..features.errors import ScreenstackError

if TYPE_CHECKING:  # imported where used: they load pandas and scikit-learn, which `--help` does not need
    from ..features.artifacts.folds import FoldConfig
    from ..features.records.corpus import Corpus
    from ..learners.config import LearnersConfig

log = logging.getLogger("screenstack")
# Options holding comma-separated names; a TOML --config file may give them as lists.
LIST_OPTIONS = {"learners", "pooling", "features", "text_cols"}
# The names in `learners.LEARNERS`, for `--help`: importing that registry loads scikit-learn, LightGBM and
# XGBoost (tests/test_cli_startup.py checks the two agree).
LEARNER_NAMES = ("lightgbm", "logreg", "tfidf-logreg", "tfidf-svm", "xgboost")


def add_corpus_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("input files (--train, with --test for records to screen; or one --data file)")
    group.add_argument("--train", metavar="FILE", help="labelled records, every label 0 or 1: CSV, TSV, XLSX or RIS")
    group.add_argument("--test", metavar="FILE", help="records to screen (no labels needed), with --train: CSV, TSV, XLSX, RIS or PubMed's MEDLINE (.nbib)")
    group.add_argument("--data", metavar="FILE", help="instead of --train/--test, one partly screened file: labelled records "
                                                      "train, those not screened yet (label empty, -1 or ASReview_not_seen) are scored")
    group.add_argument("--id-col", metavar="COL", help="id column (default: id, record_id or key, UT first in a Web of Science export, else row numbers). "
                                                       "With --train/--test it is used in each file that has it, the other "
                                                       "keeping its id, record_id or key column; a test file needs ids when "
                                                       "the training file has them")
    group.add_argument("--text-cols", metavar="COLS", help="comma-separated text columns, title first (default: title,abstract)")
    group.add_argument("--label-col", metavar="COL", help="label column (default: judgement, label_included, included, label, label_abstract_screening or asreview_label)")


def corpus_from_args(args: argparse.Namespace, cross_validated: bool = False) -> Corpus:
    """The corpus of ``--data``, or of ``--train``/``--test``, with the warnings reading it gave (`Corpus.said`).

    `cross_validated`: refuse, naming the file, too few included records for
    folds. ``--train`` needs ``--test`` in every stage, as in `run` (without it
    `stack` would write an empty submission); ``--data`` may hold no record to
    screen (said: the models are fitted for `predict`, nothing is ranked).
    """
    from dataclasses import replace

    from ..features.errors import kept_warnings

    with kept_warnings() as said:
        corpus = _read_corpus(args, cross_validated)
    return replace(corpus, said=absolute_paths(said, (args.data, args.train, args.test)))


def absolute_paths(said: list[str], paths) -> tuple[str, ...]:
    """The warnings `said`, each input path in them written absolute (`os.path.abspath`, as config.toml writes it): the
    summary and report are read from anywhere, and a run repeated from another folder says the same (and rewrites
    nothing). A path is replaced as typed or as the loaders print it (``./a.csv`` as ``a.csv``); one without a folder
    or an extension (a file named ``title``) only where a message starts with it."""
    import re

    said = list(said)
    for path in {str(p) for p in paths if p is not None and not Path(p).is_absolute()}:
        absolute = os.path.abspath(path)
        for given in sorted({path, str(Path(path))}, key=len, reverse=True):
            if "/" in given or "." in given:  # the path itself, not a longer one holding it
                whole = re.compile(rf"(?<![\w./~-]){re.escape(given)}(?![\w/-]|\.\w)")
            else:
                whole = re.compile(rf"^{re.escape(given)}(?=: )")
            said = [whole.sub(lambda _: absolute, message) for message in said]
    return tuple(said)


def _read_corpus(args: argparse.Namespace, cross_validated: bool) -> Corpus:
    from ..features.records.corpus import ColumnSpec, load_corpus, load_partly_screened  # local: keeps `screenstack --help` fast

    spec = ColumnSpec.from_flags(args.id_col, args.text_cols, args.label_col)
    if args.data is not None:
        if args.train is not None or args.test is not None:
            given = " and ".join(f"--{name}" for name in ("train", "test") if getattr(args, name) is not None)
            raise ScreenstackError(f"--data and {given} together: give one partly screened file as --data, "
                                   "or a labelled --train file (with --test), not both.")
        corpus, source = load_partly_screened(args.data, spec), args.data
        if corpus.test.empty:
            log.info("%s: every record is labelled: the models are fitted, but there is nothing to rank "
                     "(records not screened yet have an empty label, -1 or ASReview_not_seen).", args.data)
    elif args.train is None and args.test is not None:
        raise ScreenstackError("--train is missing: give the labelled records as --train FILE beside --test FILE, or one "
                               "partly screened file as --data FILE instead.")
    elif args.train is None:
        raise ScreenstackError("no input file: give --data FILE (a partly screened file), or --train FILE (labelled records) "
                               "with --test FILE (records to screen).")
    elif args.test is None:
        raise ScreenstackError("--test is missing: give the records to screen as --test FILE, or the whole partly screened "
                               "file as --data FILE instead of --train.")
    else:
        corpus, source = load_corpus(args.train, args.test, spec), args.train
    if cross_validated:  # before any encoding: the fold plan (`draw_folds`) needs both
        positives = int(corpus.train["label"].sum())
        for count, what, label in ((positives, "included", 1), (len(corpus.train) - positives, "excluded", 0)):
            if count < 2:
                raise ScreenstackError(
                    f"{source}: {count} of the {len(corpus.train)} labelled records {'is' if count == 1 else 'are'} {what} "
                    f"(label {label}); cross-validation needs at least 2. Label more {what} records before training."
                )
    return corpus


def model_as_recorded(model: str) -> str:
    """`--model` as configs record it: a local folder by its absolute path (a Hugging Face name as given), so that
    `run --config` repeats it from any folder and ``./models/bert`` and ``models/bert`` are one model."""
    return os.path.abspath(model) if os.path.isdir(model) else model


DEFAULT_FOLDS, DEFAULT_SEED = 5, 0


def add_fold_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, metavar="K",
                        help=f"stratified folds of the shared fold plan (default {DEFAULT_FOLDS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the fold plan and the learners (default {DEFAULT_SEED})")


def fold_config(args: argparse.Namespace) -> FoldConfig:
    from ..features.artifacts.folds import FoldConfig  # local: keeps `screenstack --help` fast

    return FoldConfig(n_folds=args.folds, seed=args.seed)


def learners_config(args: argparse.Namespace, features: tuple[str, ...] = ()) -> LearnersConfig:
    from ..learners.config import LearnersConfig  # local: keeps `screenstack --help` fast

    return LearnersConfig(learners=split_list(args.learners, "--learners"), features=features)


def add_out_option(parser: argparse.ArgumentParser, existing: bool = False) -> None:
    """``--out``, the run folder; `existing`: the command reads an existing one (`stack`, `report`)."""
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="the run folder (made by run, or by fit-learners)" if existing
                        else "artifacts folder of this run (new, empty or a previous run's)")
    parser.set_defaults(run_folder_out="existing" if existing else "new")  # checked by `cli` before any work (check_out)


def check_out(args: argparse.Namespace) -> None:
    """Refuse an --out that is another folder than a run folder, before inputs are read (`RunFolder.check_ours`)."""
    kind = getattr(args, "run_folder_out", None)
    if kind is not None and getattr(args, "out", None) is not None:
        from ..features.artifacts.runfolder import RunFolder  # local: keeps `screenstack --help` fast

        RunFolder(args.out).check_ours(create=kind == "new", example=getattr(args, "run_folder_example", "run1"))


def split_list(value: str | None, flag: str) -> tuple[str, ...]:
    """A comma-separated option's items (`comma_items`: an empty one is refused, naming `flag`)."""
    from ..features.checks import comma_items  # local: keeps `screenstack --help` fast

    return tuple(comma_items(value, flag)) if value else ()


def show_configs(*configs) -> None:
    """Log, at debug level (`-v`), the validated configs a command runs with."""
    for config in configs:
        log.debug("config: %r", config)
