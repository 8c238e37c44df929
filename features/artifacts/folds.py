"""The one fold plan every learner and the fine-tuner share.

The plan maps each training record id to a validation fold and is written once
to ``OUT/folds.parquet``. Learners never build their own splitter, so every
out-of-fold (OOF) score in a run comes from the same partition, which is what
makes stacking on OOF scores honest.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .atomic import read_json, read_parquet_meta, write_parquet
from ..records.corpus import Corpus
from ..records.ids import id_key
from ..checks import check_int, check_seed
from ..errors import ScreenstackError, go_on_with
from . import sets
from .damage import DamagedArtifact, read_checked
from .runfolder import RunFolder

FOLDS_FILE = "folds.parquet"
KEY_COLUMNS = ["title_key", "text_key"]  # of each training record (`record_keys`), for `predict`
log = logging.getLogger("screenstack")


@dataclass(frozen=True)
class FoldConfig:
    """How the fold plan is drawn: stratified K-fold with a seed."""

    n_folds: int = 5
    seed: int = 0

    def __post_init__(self):
        check_int("folds", self.n_folds)
        if self.n_folds < 2:
            raise ScreenstackError(f"--folds {self.n_folds}: need at least 2 folds (5 is usual).")
        check_seed(self.seed)


@dataclass(frozen=True)
class FoldPlan:
    """Training ids, their labels and validation folds, plus what produced them, and the hashes of the records'
    texts (`Corpus.split_keys`: ``title_key``, ``text_key``; None in plans before 0.3.9)."""

    ids: np.ndarray
    labels: np.ndarray
    folds: np.ndarray
    meta: dict
    keys: pd.DataFrame | None = None

    @property
    def n_folds(self) -> int:
        return int(self.meta["n_folds"])

    def splits(self):
        """Yield ``(k, train_index, valid_index)`` for each fold, indices into ``ids``."""
        for k in range(self.n_folds):
            yield k, np.flatnonzero(self.folds != k), np.flatnonzero(self.folds == k)


def draw_folds(labels: np.ndarray, config: FoldConfig = FoldConfig()) -> np.ndarray:
    """Each training record's validation fold (0 ... K-1) for training `labels`: stratified K-fold with the seed,
    K the configured folds or the count of included (or excluded) records where that is smaller (every fold needs
    one of each to validate on)."""
    positives = int(np.sum(labels))
    negatives = len(labels) - positives
    for count, what in ((positives, "included"), (negatives, "excluded")):
        if count < 2:
            raise ScreenstackError(
                f"training data has {count} {what} record(s); cross-validation needs at least 2. "
                f"Label more {what} records before training."
            )
    folds = np.empty(len(labels), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=min(config.n_folds, positives, negatives), shuffle=True, random_state=config.seed)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        folds[valid] = k
    return folds


def copy_groups(keys: pd.DataFrame) -> np.ndarray:
    """Each record's copy key for the fold plan (`record_keys`' columns): its title and abstract, or its title alone
    where it has no abstract (``--text-cols title``, or an export without them); 0 where it has no title.

    Learners read exactly these texts, so two records alike here are one input to them: in two folds, each one's
    OOF score would come from a model that learnt the other's label."""
    title, text = (keys[name].to_numpy(dtype=np.uint64) for name in KEY_COLUMNS)
    return np.where(text != 0, text, title)


def keep_copies_together(folds: np.ndarray, groups: np.ndarray, labels: np.ndarray, config: FoldConfig) -> np.ndarray:
    """`folds` with records of one copy key (`copy_groups`; 0: not compared) all in the fold of the first of them.

    A copy under another id in another fold leaked its label into the OOF score of its twin: the model scoring one
    had trained on the other (a fine-tuned encoder can all but memorise it). Where moving the copies would leave a
    fold without an included or an excluded record (two of five included records are one paper), the folds are
    drawn again over the papers, copies as one (stratified group K-fold), as many as there are included papers
    where that is fewer; only where even that fails do copies stay apart, with a warning.
    """
    compared = groups != 0
    if not compared.any() or not pd.Series(groups[compared]).duplicated().any():
        return folds
    moved = folds.copy()
    moved[compared] = pd.Series(folds[compared]).groupby(groups[compared], sort=False).transform("first").to_numpy()
    if _validates(moved, labels, int(folds.max()) + 1):
        return moved
    papers = pd.Series(np.where(compared, groups, 0)).astype(str).to_numpy(dtype=object)
    papers[~compared] = [f"record {i}" for i in np.flatnonzero(~compared)]
    codes = pd.factorize(papers)[0]
    counts = [len(np.unique(codes[labels == value])) for value in (1, 0)]
    n_folds = min(int(folds.max()) + 1, *counts)
    if n_folds >= 2:
        splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=config.seed)
        regrouped = np.empty(len(labels), dtype=np.int64)
        for k, (_, valid) in enumerate(splitter.split(np.zeros(len(labels)), labels, codes)):
            regrouped[valid] = k
        if _validates(regrouped, labels, n_folds):
            return regrouped
    warnings.warn("some training records repeat another's text under another id, and no plan keeping each record's "
                  "copies in one fold gives every fold an included and an excluded record: copies stay in different "
                  "folds, so their OOF scores may be optimistic. Remove the copies, or label more records.", stacklevel=3)
    return folds


def _validates(folds: np.ndarray, labels: np.ndarray, n_folds: int) -> bool:
    """Every one of `n_folds` folds holds an included and an excluded record to validate on."""
    return all(0 < int(labels[folds == k].sum()) < int(np.sum(folds == k)) for k in range(n_folds))


def assign_folds(corpus: Corpus, config: FoldConfig = FoldConfig(), keys: pd.DataFrame | None = None) -> np.ndarray:
    """Each training record's fold as `make_fold_plan` draws it (`keys`: ``corpus.split_keys("train")``, if at
    hand), without its plan or its fewer-folds warning: for checks made before the plan is."""
    labels = corpus.train["label"].to_numpy(dtype=int)
    keys = corpus.split_keys("train") if keys is None else keys
    return keep_copies_together(draw_folds(labels, config), copy_groups(keys), labels, config)


def make_fold_plan(corpus: Corpus, config: FoldConfig = FoldConfig()) -> FoldPlan:
    """Draw a stratified K-fold plan over the corpus's training records (`draw_folds`), copies of one record (same
    title and abstract, or same title where there is no abstract: `copy_groups`) in one fold (`keep_copies_together`).

    With fewer included records than folds, as many folds as included records
    are used (every fold needs a positive to validate recall), with a warning.
    """
    train = corpus.train
    labels = train["label"].to_numpy(dtype=int)
    keys = corpus.split_keys("train")
    folds = assign_folds(corpus, config, keys)
    n_folds = int(folds.max()) + 1
    if n_folds < config.n_folds:
        positives = int(labels.sum())
        fewer = "included" if positives == n_folds else "excluded"
        counted = (f"only {n_folds} {fewer} records" if n_folds in (positives, len(labels) - positives) else
                   f"only {n_folds} included papers once copies under other ids count as one")
        warnings.warn(f"{counted}: using {n_folds} folds instead of {config.n_folds}.", stacklevel=2)
    meta = {**asdict(config), "n_folds": n_folds, "requested_folds": config.n_folds,
            "train_fingerprint": corpus.fingerprint("train"), "n_train": len(train),
            "text_columns": list(corpus.text_columns)}  # not compared: named when the fingerprint differs (`refuse_other_plan`)
    return FoldPlan(train["id"].to_numpy(dtype=object), labels, folds, meta, keys)


def save_fold_plan(plan: FoldPlan, out: str | Path) -> Path:
    run = RunFolder(out)
    with run.commit("folds") as staging:
        frame = pd.DataFrame({"id": plan.ids.astype(str), "label": plan.labels, "fold": plan.folds})
        if plan.keys is not None:
            frame[KEY_COLUMNS] = plan.keys[KEY_COLUMNS].to_numpy(dtype=np.uint64)
        write_parquet(staging / FOLDS_FILE, frame, plan.meta)
    return run.folds


def load_fold_plan(out: str | Path) -> FoldPlan:
    """Read ``OUT/folds.parquet``; a missing plan is an error that says which command writes it."""
    run = RunFolder(out)
    path = run.folds
    fix = sets.written_by(run.out, "folds")
    if not path.is_file():
        if sets.committed(run.out, "folds") is not None or sets.run_again(run.out) is not None:  # a run's plan, deleted:
            raise ScreenstackError(f"{path}: missing (moved or deleted). {fix}")  # fit-learners alone lacks the run's inputs
        raise ScreenstackError(f"{path}: no fold plan. Run `screenstack fit-learners` (or `extract`) with this --out first.")
    run.verify("folds", fix)
    frame = read_checked(path, pd.read_parquet, fix)
    meta = read_checked(path, read_parquet_meta, fix)
    if not {"id", "label", "fold"} <= set(frame.columns) or "n_folds" not in meta:
        raise DamagedArtifact(path, "not a fold plan (columns or metadata missing)", fix)
    folds = frame["fold"].to_numpy(dtype=np.int64)
    assert set(np.unique(folds)) == set(range(int(meta["n_folds"]))), "validation folds must partition the training rows"
    keys = frame[KEY_COLUMNS].astype(np.uint64) if set(KEY_COLUMNS) <= set(frame.columns) else None
    return FoldPlan(frame["id"].to_numpy(dtype=object), frame["label"].to_numpy(dtype=int), folds, meta, keys)


def refuse_other_plan(corpus: Corpus, out: str | Path, config: FoldConfig | None = FoldConfig(),
                      say: bool = True) -> FoldPlan | None:
    """The plan in ``out`` (None if there is none), refused if drawn for other training data or with another
    fold count or seed: reusing it would silently mix two configurations in one folder. A plan nothing was
    fitted on (`_fitted_on`: a run that stopped before its first learner) mixes nothing: None, so it is drawn again
    (`say`: with an info line; False for a check before the stage that draws it, which says it). `config` None: the
    training records alone are compared (`extract`, whose frozen vectors take no fold options).

    `run` and `extract_features` call it before extracting, so a refused ``--out`` costs no encoding and gains no
    feature file.
    """
    if not RunFolder(out).folds.is_file():
        return None
    try:
        existing = load_fold_plan(out)
    except DamagedArtifact as error:  # drawn again: from the same records and options it is the same plan, and the
        # learners fitted on it stay; from others, the commit removes what was made from the old one
        if say:
            warnings.warn(f"{error.path}: {error.state}: drawing the fold plan again.", stacklevel=3)
        return None
    wanted = {"train_fingerprint": corpus.fingerprint("train")}
    if config is not None:
        wanted.update(requested_folds=config.n_folds, seed=config.seed)
    was_columns, now_columns = existing.meta.get("text_columns"), list(corpus.text_columns)
    # Plans before 0.3.5 do not hold their text columns; where both do and they differ, that option changed the texts.
    said = {"train_fingerprint": f"--text-cols ({','.join(was_columns)} there, {','.join(now_columns)} now)"
            if was_columns and now_columns and was_columns != now_columns else _records_differ(existing, corpus),
            "requested_folds": f"--folds ({existing.meta.get('requested_folds')} there, {wanted.get('requested_folds')} now)",
            "seed": f"--seed ({existing.meta.get('seed')} there, {wanted.get('seed')} now)"}
    differ = [said[key] for key, value in wanted.items() if existing.meta.get(key) != value]
    if differ and not _fitted_on(out):
        # A run that stopped before its first learner (Ctrl-C, a full disk) left only its plan: drawn
        # anew for these records, or the corrected command would be refused for a folder that holds nothing of value.
        if say:
            log.info("%s: its fold plan was drawn for other training records or options (%s) and nothing was fitted on it "
                     "(a run that stopped early): drawn again", out, "; ".join(differ))
        return None
    if said["train_fingerprint"] in differ and "texts" in said["train_fingerprint"]:
        differ[differ.index(said["train_fingerprint"])] += _another_version(out)
    if differ:
        raise ScreenstackError(f"{out}: holds artifacts of another configuration (differs in: {'; '.join(differ)}). "
                               f"Use a new --out folder{go_on_with(differ)}, or delete this one to start over"
                               f"{sets.before_deleting(Path(out))}.")
    return existing


def _fitted_on(out: str | Path) -> bool:
    """Whether anything in OUT was made from its fold plan: a committed set (a learner) that lists it as an input, or
    fine-tuning state (folds trained before a stop, resumed only on the same plan)."""
    out = Path(out)
    for path in (out / sets.MANIFESTS_DIR).glob("*.json"):
        try:
            found = read_json(path)
        except (OSError, ValueError):
            return True  # unreadable: assume it was, and let the refusal name the folder
        if not isinstance(found, dict) or "folds" in (found.get("inputs") or {}):
            return True
    finetune = out / "finetune"
    return finetune.is_dir() and any(finetune.iterdir())


def _records_differ(existing: FoldPlan, corpus: Corpus) -> str:
    """How the training records differ from those the plan was drawn for, from its ids and labels, for the refusal:
    every kind found (added, dropped, labelled otherwise), else reordered, ids spelt otherwise, or their texts (how
    many records' titles or abstracts changed, where the plan keeps their hashes)."""
    was_ids, now_ids = pd.Index(existing.ids.astype(str)), pd.Index(corpus.train["id"].to_numpy(dtype=str))
    was = pd.Series(existing.labels, index=was_ids.map(id_key))
    now = pd.Series(corpus.train["label"].to_numpy(dtype=int), index=now_ids.map(id_key))
    if was.index.has_duplicates or now.index.has_duplicates:  # a plan of an older version's id rule: no comparison
        return "the training records (their ids, labels or texts)"
    added, gone = now.index.difference(was.index, sort=False), was.index.difference(now.index, sort=False)
    common = now.index[now.index.isin(was.index)]
    relabelled = common[now[common].to_numpy() != was[common].to_numpy()]
    def now_id(key):  # as the file spells it
        return now_ids[now.index.get_loc(key)]

    parts = [f"{len(added)} record(s) not in the plan (first: id {now_id(added[0])!r})"] if len(added) else []
    parts += [f"{len(gone)} of the plan's no longer there (first: id {was_ids[was.index.get_loc(gone[0])]!r})"] if len(gone) else []
    parts += [f"{len(relabelled)} labelled otherwise (first: id {now_id(relabelled[0])!r})"] if len(relabelled) else []
    if parts:
        return "the training records: " + ", ".join(parts)
    if (now.index != was.index).any():
        changed = ""
        if existing.keys is not None:  # their texts compared record by record, each in the plan's place
            order = pd.Series(np.arange(len(now)), index=now.index)[was.index].to_numpy()
            now_keys = corpus.split_keys("train")[KEY_COLUMNS].to_numpy(dtype=np.uint64)[order]
            other = np.flatnonzero((existing.keys[KEY_COLUMNS].to_numpy(dtype=np.uint64) != now_keys).any(axis=1))
            changed = f", {len(other)} of them with other texts (first: id {now_ids[order[other[0]]]!r})" if len(other) else ""
        return ("the training records: the same ids and labels in another row order" + changed +
                " (the fold plan and the learners follow the file's rows)")
    if (now_ids != was_ids).any():
        first = int(np.flatnonzero(now_ids != was_ids)[0])
        return f"the training records: the same ids spelt otherwise (first: {now_ids[first]!r}, the plan's {was_ids[first]!r})"
    if existing.keys is not None:  # each record's texts, normalised as the copy check compares them
        now_keys = corpus.split_keys("train")[KEY_COLUMNS].to_numpy(dtype=np.uint64)
        changed = np.flatnonzero((existing.keys[KEY_COLUMNS].to_numpy(dtype=np.uint64) != now_keys).any(axis=1))
        if len(changed):
            return f"the training records' texts: {len(changed)} changed (first: id {now_ids[changed[0]]!r})"
    return "the training records' texts (the file or --text-cols)"


def _another_version(out: str | Path) -> str:
    """Where OUT's learners were fitted by another screenstack version: a note that it may read the same file's texts
    otherwise (0.3.23 reads "[No abstract available]" as no abstract), for a refusal naming changed texts; else ""."""
    from ... import __version__

    for path in sorted((Path(out) / "learners").glob("*/meta.json")):
        try:
            made_by = (read_json(path).get("versions") or {}).get("screenstack")
        except (OSError, ValueError, AttributeError):
            continue
        if made_by and made_by != __version__:
            return (f"; its learners were fitted by screenstack {made_by}, which may have read the same file's texts "
                    f"otherwise (data/README.md)")
    return ""


def ensure_fold_plan(corpus: Corpus, out: str | Path, config: FoldConfig = FoldConfig()) -> FoldPlan:
    """Return the plan in ``out`` (see `refuse_other_plan`), writing it first if there is none."""
    existing = refuse_other_plan(corpus, out, config)
    if existing is not None:
        return existing
    plan = make_fold_plan(corpus, config)
    save_fold_plan(plan, out)
    return plan
