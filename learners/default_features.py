"""The feature file `fit-learners` gives the vector learners where ``--features`` names none: the one frozen
encoder's file of these records in ``OUT/features`` (those `extract` wrote)."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from ..features.artifacts.folds import FoldConfig, refuse_other_plan
from ..features.artifacts.outputs import refuse_other_test
from ..features.artifacts.sets import run_again
from ..features.artifacts.store import feature_file_kind
from ..features.errors import ScreenstackError, quoted
from ..features.records.corpus import Corpus
from .config import LearnersConfig
from .registry import LEARNERS

log = logging.getLogger("screenstack")


def _default_feature_readers(learners: LearnersConfig) -> list[str]:
    """The vector learners of `learners` that read the feature file in ``OUT/features``: all of them where no
    feature file is named, else none."""
    if not learners.needs_vectors or learners.features:
        return []
    return [name for name in learners.learners if LEARNERS[name].input == "vectors"]


def _feature_files(out: str | Path) -> list[str]:
    """The feature files in ``OUT/features`` (those `extract` wrote), sorted."""
    folder = Path(out) / "features"
    return sorted(str(p) for p in folder.glob("*.parquet") if not p.is_dir()) if folder.is_dir() else []


def _no_feature_file(out: str | Path, readers: list[str]) -> ScreenstackError:
    return ScreenstackError(f"learners {', '.join(readers)} read vectors, and {Path(out) / 'features'} holds no feature file: "
                            f"run `screenstack extract` with --out {quoted(out)} first, or pass --features FILE.parquet.")


def refuse_no_feature_file(out: str | Path, learners: LearnersConfig) -> None:
    """Refuse vector learners with no feature file named and none in ``OUT/features``: said before the input files
    are read, which takes seconds for a million records."""
    readers = _default_feature_readers(learners)
    if readers and not _feature_files(out):
        raise _no_feature_file(out, readers)


def with_default_features(corpus: Corpus, out: str | Path, learners: LearnersConfig, folds: FoldConfig) -> LearnersConfig:
    """`learners` with the feature file `features_in_out` chooses, where its vector learners name none (else as given).

    Examples
    --------
    >>> with_default_features(corpus, "artifacts/run1", LearnersConfig(("logreg",)), FoldConfig()).features  # doctest: +SKIP
    ('artifacts/run1/features/minilm-0123456789.parquet',)
    """
    readers = _default_feature_readers(learners)
    if not readers:
        return learners
    # What `fit_learners` refuses first, said before a choice among feature files whose fix would only lead to it.
    refuse_other_plan(corpus, out, folds, say=False)
    refuse_other_test(out, corpus)
    return dataclasses.replace(learners, features=(features_in_out(out, readers, corpus),))


def features_in_out(out: str | Path, readers: list[str], corpus: Corpus) -> str:
    """The feature file in ``OUT/features`` for the vector learners `readers`: the one frozen encoder's file of `corpus`'s
    records. A file of other records (an earlier --test's, which `run` leaves beside the new one), a fine-tuning's
    cross-fitted vectors (`run --finetune` fits the vector learners on the frozen encoder's: its docstring says why) and
    a file that does not open are left unread and named; none or several such files are refused."""
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


def say_unused_feature_files(out: str | Path, learners: LearnersConfig) -> None:
    """Say the feature files in ``OUT/features`` that `learners` leave unread, reading only text: `extract` just wrote
    vectors, and the default text learners would leave them unread without a word."""
    if not learners.needs_vectors and (found := _feature_files(out)):
        log.info("fit-learners: %s in %s/features not used: the learners fitted (%s) read the text; add logreg, lightgbm "
                 "or xgboost to --learners to fit on the vectors", ", ".join(found), out, ",".join(learners.learners))
