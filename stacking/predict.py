"""`predict`: score new records (next month's search update) with a finished run's models.

Nothing is fitted again. For each learner the run's blend uses, its K fold models
(`learners.persist`) score the new records and their scores are averaged, in
fold order, exactly as `fit-learners` made the run's test scores; the saved
blender (``OUT/blend.json``), the calibration and the run's threshold then give
each record its score, probability and decision. Where the new records look
richer in included records than the run's records to screen did, the
threshold is lowered further, as `stack` lowers it for its own
(`stacking.decision.shift_weight` from the threshold before that correction; no
estimate from fewer than 50 records with title or abstract); it never flags
less than the run's threshold, since with a handful of included training
records the estimate is noisy (on README's reviewer's path, two samples of
one search with 1.6% and 2.0% included records were put at 2.7% and near 0%).
So the run's own test file gets back exactly the run's
``test_scores.csv`` and ``submission.csv``. The
records go through the fold models in chunks of 50,000, as in `fit-learners`,
so a large update holds one chunk's texts or vectors at a time.

A learner the blend gives weight 0 (the boosted trees the few-included rank
average leaves out) is neither loaded nor run: its column is a constant the
blender multiplies by 0 (`UNUSED_SCORE`), so the scores are those of scoring it,
and a run whose unused learner could not be scored (a fine-tuned encoder) predicts.

New records are read as the run read its records: the same text columns, and
vectors from the same encoder, layers, pooling, maximum length and precision
(`screenstack predict` extracts them with those settings into ``DIR/features``).
A setting given on the command line that differs from the run's is refused.
A record whose id is one of the run's training records is left out by
`stacking.new_records.load_new_records`, counted in the summary and said on the
console: its label is known, and the fold models that saw it would score it
in-sample. A search update that re-runs the last search holds all of them; a
file of nothing else is refused. One with the id but another title (an export
that numbers its records anew) is scored as new, with a warning.

A fine-tuned encoder learner cannot be applied: fine-tuning deletes each
fold's weights once the fold is scored, so a run whose blend uses one is refused
(as is a vector learner reading the fine-tuner's cross-fitted vectors).

Writes, as one committed set in DIR: ``ranked.csv`` (as `stack` writes it),
``scores.csv`` (``id,score``), ``submission.csv`` (``id,0|1``, no header),
``left_out.csv`` (the records left out as the run's training records: ``id``, ``run_id``, ``label``, ``title``),
``report.html`` (`page.prediction_page`: the warnings, the counts and "Screen these first") and
``summary.json`` (which run and stack, its threshold, the learners the blend
uses, and the figures of `stack`'s ``screening`` block under its names: counts,
expected included records in all, flagged and left below the threshold with the
95% interval `stack` gives, from the run's ``blend_oof.parquet``). Ids are read
from the run's id column (`new_records.run_id_column`). Predicting the
same file again into DIR replaces its predictions, saying so when the run was
stacked again in between (another blender or threshold).
"""
from __future__ import annotations

import logging
import warnings as pywarnings
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..features.artifacts import sets
from ..features.artifacts.atomic import read_json, write_json
from ..features.artifacts.folds import load_fold_plan
from ..features.artifacts.outputs import package_versions, read_learner_outputs, refit_fix
from ..features.artifacts.records import RECORDS_FILE, RECORDS_SET, records_to_screen, screening_records
from ..features.artifacts.runfolder import PREDICTIONS_SET, DamagedArtifact, RunFolder, locked, read_checked
from ..features.artifacts.store import VectorFiles, is_crossfit
from ..features.errors import ScreenstackError, quoted
from ..features.records.corpus import Corpus
from ..features.records.duplicates import record_keys
from ..features.records.datasets import sha256_file
from ..features.records.ids import id_key
from ..learners.oof import SCORE_CHUNK_ROWS, chunked_fold_mean_scores, text_chunks
from ..learners.persist import load_fold_models, read_index
from .blend import load_blend
from .calibrate import Calibration
from .new_records import LEFT_OUT_COLUMNS, column_roles, run_id_column
from .page import TOP, prediction_page
from .ranked import neutralise, refuse_edited, write_ranked
from .config import StackConfig
from .decision import UPDATE_RECALL_CHECK_WARNING, at_shift_clause, log_shift, lowered_by, said_threshold, screen, shift_weight
from .set_apart import (ABSTRACTS_UNLIKE_LABELLED_WARNING, MIN_SHIFT_RECORDS, TITLES_ONLY_WARNING, abstracts_unlike_labelled,
                        shift_records, titles_unlike_labelled, without_text)
from .stack import MAX_FLAGGED, _percent

log = logging.getLogger("screenstack")
# The extract settings a user may repeat on the command line, as named in the feature files' metadata.
ENCODER_SETTINGS = {"model": "--model", "layers": "--layers", "pooling": "--pooling", "max_length": "--max-length"}
# What `screenstack predict` needs from a feature file's metadata to make the same vectors for new records
# (`extract.stage.config_from_feature_meta` reads them, the model as `encoder_to_load` resolves it).
EXTRACT_SETTINGS = ("model", "layers", "pooling", "max_length", "dtype", "store_dtype")
# The committed set predict writes into its --out, and its files (which a run's files of the same names must not be).
PREDICT_SET = PREDICTIONS_SET
# Said by `read_run` and kept in each prediction's summary.json (the report of the run says the run's own).
NO_RECORDS = ("no records.parquet (fit-learners was killed before writing it, or the folder predates it), so records of "
              "this file that the run listed to screen are not recognised by their texts, nor told by their titles from "
              "other papers under those ids. Run the same fit-learners command in the run folder again (it reuses the "
              "learners already fitted) to write it.")
PREDICT_FILES = ("ranked.csv", "scores.csv", "submission.csv", "summary.json", "left_out.csv", "report.html")
# The column given the blender for a learner of weight 0. Every blender multiplies a finite function of each column by
# its weight (the ECDF's rank for rank-average and caruana, the logit for logistic; 0.5's logit is exactly 0), so a
# finite constant adds exactly +0.0 to every score, as the learner's own scores would (NaN would not: NaN * 0 is NaN).
UNUSED_SCORE = 0.5


@dataclass
class FittedRun:
    """What `predict` applies, read and checked from a run folder by `read_run`."""

    out: Path
    learners: list[str]                      # the blend's columns, in order (`used`: those of nonzero weight)
    threshold: float
    blender: object                          # fitted, from blend.json
    calibration: Calibration
    train_ids: frozenset                     # ids of the run's training records
    test_ids: frozenset = frozenset()        # ids of the run's records to screen (its ranked.csv)
    stack_version: str | None = None         # of the stack set the blender and threshold come from
    models: dict[str, list] = field(default_factory=dict)         # used learner -> fitted fold models, fold k at k
    inputs: dict[str, str] = field(default_factory=dict)          # learner -> "text" or "vectors"
    features: dict[str, list[str]] = field(default_factory=dict)  # vector learner -> its feature files, in column order
    feature_meta: dict[str, dict] = field(default_factory=dict)   # feature file -> how it was extracted
    text_columns: tuple[str, ...] = ()       # () when the run did not record them
    id_column: str | None = None             # the input column of the run's ids (None: none, or not known)
    row_number_ids: bool = False             # the run's records had no id column: its ids are row numbers
    oof_labels: np.ndarray | None = None     # the blend's honest OOF labels and scores (blend_oof.parquet) and
    oof_scores: np.ndarray | None = None     # the stack's seed, for expected_count's intervals as `stack` gives it
    oof_folds: np.ndarray | None = None      # and their folds, for the honest floor at the label shift's weight
    config: StackConfig = field(default_factory=StackConfig)  # the stack's: its seed, and the label-shift correction
    threshold_before: float = 0.0            # the stack's threshold before its label-shift correction (`read_run` sets it)
    flags_everything: bool = False           # the stack's honest floor flags every record: no correction either
    ranks_at_chance: bool = False            # ... because its blend ranks the labelled records at chance: no estimate either
    honest_recall: tuple[float, float] | None = None  # the stack's honest recall interval, which `recall_check` asks of new records
    train_keys: pd.DataFrame | None = None   # the training records' id, label, title_key, text_key by `id_key` (fold plan; None before 0.3.9)
    test_titles: dict | None = None          # the run's records to screen: `id_key` -> title_key (records.parquet; None: not kept)
    to_screen: pd.DataFrame | None = None    # ... their id and text key (`records_to_screen`; None: not kept, or before 0.3.39)
    said: list[str] = field(default_factory=list)  # warnings `read_run` gave, kept in each prediction's summary.json

    def threshold_for(self, scores: np.ndarray, has_text: np.ndarray | None = None) -> tuple[float, dict]:
        """The threshold for records scored `scores`, and the label-shift estimate made on them (empty: none made):
        `stack`'s threshold before its correction, corrected for these records as `stack` corrected for its own,
        where that is lower than the run's threshold; else the run's."""
        blend = {"threshold": self.threshold_before, "honest_floor": self.flags_everything, "ranks_at_chance": self.ranks_at_chance}
        shift = shift_weight(self.oof_labels, self.oof_scores, scores, self.calibration, blend, self.config, has_text,
                             self.oof_folds)
        if float(blend["threshold"]) >= self.threshold:
            shift["lowered"] = False  # the run's own threshold, no higher, is kept: the estimate changed nothing here
        return min(float(blend["threshold"]), self.threshold), shift

    @property
    def used(self) -> list[str]:
        """The learners the blend uses (weight not 0), in column order; only these are loaded and scored."""
        return used_learners(self.learners, self.blender)


def _run_records(out: Path) -> tuple[dict | None, pd.DataFrame | None]:
    """`FittedRun.test_titles` and `FittedRun.to_screen`, from the run's records.parquet (None: it has none), its id,
    title and text key columns alone: `run_id_column` has checked the file against its manifest just before."""
    if not RunFolder(out).manifest_path(RECORDS_SET).is_file():
        return None, None
    kept = pq.ParquetFile(out / RECORDS_FILE).schema_arrow.names
    records = pd.read_parquet(out / RECORDS_FILE, columns=[c for c in ("id", "title", "text_key") if c in kept])
    keys = record_keys(pd.DataFrame({"title": records["title"].astype(str), "abstract": ""}))["title_key"].to_numpy(dtype=np.uint64)
    return dict(zip(records["id"].astype(str).map(id_key), keys)), records_to_screen(records)


def used_learners(names: list[str], blender) -> list[str]:
    """`names` less the columns `blender` weighs 0 (rank-average keeps those with too few included records as such)."""
    return [name for name, weight in zip(names, blender.weights_) if weight != 0]


def _stack_config(summary: dict, path: Path, restack: str) -> tuple[StackConfig, float]:
    """The stack's options and its threshold before the label-shift correction, from its summary.json."""
    saved, decision = summary.get("config"), summary.get("decision", {})
    shift = decision.get("shift", {}) if isinstance(decision, dict) else None
    if not isinstance(saved, dict) or not isinstance(shift, dict):
        raise DamagedArtifact(path, "its config or decision is not a JSON object", restack)
    known = set(StackConfig.__dataclass_fields__)
    if saved.get("threshold_rule") == "smoothed":  # a rule of 0.3.10 and before
        raise ScreenstackError(f"{path}: stacked with --threshold-rule smoothed, which screenstack no longer has since 0.3.11 "
                               f"(not the default, and it ignored --recall-prior). {restack}")
    try:
        config = StackConfig(**{k: tuple(v) if k == "learners" else v for k, v in saved.items() if k in known})
    except (ScreenstackError, TypeError, ValueError) as error:
        raise DamagedArtifact(path, f"its config: {str(error).rstrip('.')}", restack) from None
    if shift.get("lowered") and "threshold_before" not in shift:
        raise ScreenstackError(f"{path}: made by a screenstack that did not keep the threshold before its label-shift "
                               f"correction, which predict starts from. {restack}")
    before = shift.get("threshold_before", summary["threshold"])
    if isinstance(before, bool) or not isinstance(before, (int, float)) or not np.isfinite(before):
        raise DamagedArtifact(path, f"decision.shift.threshold_before is {before!r}, not a number", restack)
    return config, float(before)


def _honest_recall(summary: dict) -> tuple[float, float] | None:
    """The stack's honest recall interval from its summary.json (None: a summary from before it, or not numbers)."""
    honest = summary.get("honest")
    interval = honest.get("recall_interval") if isinstance(honest, dict) else None
    if (isinstance(interval, list) and len(interval) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in interval)):
        return float(interval[0]), float(interval[1])
    return None


def _refit_models_fix(out: Path, name: str) -> str:
    """The way on for a learner without its fold models (fitted before they were kept): its outputs alone would be
    reused by fit-learners as they are, so the folder goes first."""
    return (f"Refit it: delete {out / 'learners' / name} and rerun `screenstack fit-learners --out {quoted(out)} --learners {name}` "
            f"with the run's --data or --train/--test (and --features), then `screenstack stack --out {quoted(out)}`.")


def read_run(out: str | Path) -> FittedRun:
    """Everything `predict` needs from run folder OUT, checked before any work; refusals name the file and the fix.

    Examples
    --------
    >>> run = read_run("artifacts/run1")  # doctest: +SKIP
    """
    out = Path(out)
    run = RunFolder(out)
    if not out.is_dir():
        what = "is a file, not a run folder" if out.exists() else "no such run folder"
        raise ScreenstackError(f"--run {out}: {what}. Give the --out of a finished `screenstack run` (or stack).")
    run.check_kind("--run")
    _refuse_other_folder(run)
    run.refuse_if_writing("--run", "predict")
    restack = f"Run {sets.stack_command(out)}, then predict again."
    run.verify("stack", restack, ignore=("ranked.csv",))  # the reviewer's to edit or move out: predict does not read it
    blend_path = out / "blend.json"
    if not blend_path.is_file():
        if not run.summary.is_file():  # never stacked: perhaps never fitted either
            raise ScreenstackError(f"{blend_path}: missing ({out} was never stacked). {run.stack_first()} Then predict again.")
        raise ScreenstackError(f"{blend_path}: missing (stacked before screenstack kept the blender). {restack}")
    try:
        state = read_checked(blend_path, read_json, restack)
        blender = load_blend(state)
        names = [str(n) for n in state["learners"]]
    except (ValueError, KeyError, TypeError) as error:
        raise DamagedArtifact(blend_path, str(error), restack) from None
    summary = read_checked(out / "summary.json", read_json, restack)
    if not isinstance(summary, dict) or not isinstance(summary.get("threshold"), (int, float)):
        raise DamagedArtifact(out / "summary.json", "no threshold", restack)
    calibration = Calibration.load(out / "calibration.json")
    config, threshold_before = _stack_config(summary, out / "summary.json", restack)
    oof = read_checked(run.blend_oof, pd.read_parquet, restack)
    oof_labels, oof_scores, oof_folds = _oof_records(oof, run.blend_oof, restack)
    used = used_learners(names, blender)
    outputs = read_learner_outputs(out, tuple(used))
    missing = [name for name in used if name not in outputs]
    if missing:  # a folder deleted from a run copied without its manifests (which would name it as damaged)
        raise ScreenstackError(f"{run.learner(missing[0])}: missing, but {blend_path} blends {missing[0]!r}. "
                               + refit_fix(out, missing[0]))
    fitted = FittedRun(out, names, float(summary["threshold"]), blender, calibration, stack_version=run.version("stack"),
                       train_ids=frozenset(outputs[used[0]][0]["id"].astype(str)),  # every learner's OOF rows are the fold plan's
                       test_ids=frozenset(outputs[used[0]][1]["id"].astype(str)),
                       oof_labels=oof_labels, oof_scores=oof_scores, oof_folds=oof_folds,
                       config=config, threshold_before=threshold_before,
                       flags_everything=bool((summary.get("decision") or {}).get("flags_everything", False)),
                       ranks_at_chance=bool((summary.get("decision") or {}).get("ranks_at_chance", False)),
                       honest_recall=_honest_recall(summary))
    fitted.id_column, fitted.row_number_ids = run_id_column(out, recipe_value(out, "id_col"))  # records.parquet checked here
    plan = load_fold_plan(out)
    if plan.keys is not None:
        ids = pd.Index(plan.ids.astype(str)).map(id_key)  # indexed as update ids are looked up (`id_key`), once
        fitted.train_keys = plan.keys.assign(id=plan.ids.astype(str), label=plan.labels).set_index(ids)
    fitted.test_titles, fitted.to_screen = _run_records(out)
    if fitted.to_screen is None and fitted.test_ids:  # as the run's stack said: its records to screen are not known here
        fitted.said.append(f"{out}: {NO_RECORDS}")
        pywarnings.warn(fitted.said[-1], stacklevel=2)  # now, before any scoring; and in the summary, as `stack` keeps it
    for name in used:
        _, _, meta = outputs[name]
        _refuse_finetuned(out, name, meta)
        fitted.models[name] = load_fold_models(run.learner(name), _refit_models_fix(out, name))
        fitted.inputs[name] = meta.get("input", "text")
        fitted.text_columns = tuple(read_index(run.learner(name)).get("text_columns") or fitted.text_columns)
        if fitted.inputs[name] == "vectors":
            fitted.features[name] = list(meta["features"])
            fitted.feature_meta.update(zip(meta["features"], meta["feature_meta"]))
    for rel, meta in fitted.feature_meta.items():
        missing = [key for key in EXTRACT_SETTINGS if key not in meta]
        if missing:
            raise ScreenstackError(f"{rel}: its metadata lacks {', '.join(missing)} (not made by `screenstack extract`), so predict "
                                   "cannot make the same vectors for new records. Fit the run's vector learners on "
                                   "`screenstack extract` vectors, or predict with a run of text learners.")
    return fitted


def _oof_records(oof: pd.DataFrame, path: Path, fix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The blend's honest OOF labels, scores and folds from `path` (``blend_oof.parquet``), checked as `stack` writes
    them: labels 0 and 1, both present; scores from 0 to 1; whole fold numbers from 0 in two folds or more."""
    lacking = [column for column in ("fold", "label", "score") if column not in oof.columns]
    if lacking or not len(oof):
        raise DamagedArtifact(path, f"it has no {', '.join(lacking)} column" if lacking else "it holds no records", fix)
    try:
        labels, scores, folds = (oof[column].to_numpy(dtype=float) for column in ("label", "score", "fold"))
    except (TypeError, ValueError):
        raise DamagedArtifact(path, "its label, score or fold column holds something other than numbers", fix) from None
    if not np.isin(labels, (0, 1)).all() or len(np.unique(labels)) < 2:
        raise DamagedArtifact(path, "its label column does not hold both 0 and 1, and nothing else", fix)
    if not (np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()):
        raise DamagedArtifact(path, "its score column holds values outside 0-1, or missing ones", fix)
    if not (np.isfinite(folds).all() and (folds == np.round(folds)).all() and (folds >= 0).all()) or len(np.unique(folds)) < 2:
        raise DamagedArtifact(path, "its fold column does not hold whole fold numbers of two folds or more", fix)
    return labels.astype(int), scores, folds.astype(int)


def _refuse_other_folder(run: RunFolder) -> None:
    """Refuse a --run that is no run folder (a data folder, an empty one) before naming a run's missing files:
    `screenstack stack` there, which those messages suggest, would be refused too."""
    try:
        run.check_ours(create=False)  # the run folder markers: refuses a non-empty folder without them
        if any(run.out.iterdir()):
            return
        what = "is empty"
    except ScreenstackError:
        what = "holds files, but no run's (no .manifests, learners/ or fold plan)"
    except OSError:
        return  # unreadable: reading the run's files says why
    raise ScreenstackError(f"--run {run.out}: not a run folder: it {what}. Give the --out of a finished "
                           "`screenstack run` (e.g. --run artifacts/run1).")


def recipe_value(out: Path, key: str) -> str | None:
    """A string option of `run`'s, from the recipe it keeps in ``OUT/config.toml`` (``id_col``, ``cache_dir``; None:
    not given, or no such file: a run made stage by stage)."""
    try:
        value = tomllib.loads((Path(out) / "config.toml").read_text(encoding="utf-8")).get(key)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, str) else None


def _refuse_finetuned(out: Path, name: str, meta: dict) -> None:
    finetuned = is_crossfit(meta)  # the fine-tuned learner's own outputs are marked as its vectors are
    crossfit_vectors = any(is_crossfit(m) for m in meta.get("feature_meta", []))
    if finetuned or crossfit_vectors:
        what = "is a fine-tuned encoder" if finetuned else "reads the fine-tuned encoder's cross-fitted vectors"
        raise ScreenstackError(
            f"{out / 'learners' / name}: {what}, whose fold weights are not kept (fine-tuning deletes them once each fold "
            f"is scored), so new records cannot be scored with it. Stack a copy of the run without it (`screenstack stack "
            f"--out COPY --learners ...`) and predict from that; scoring with it would need the K fine-tuned checkpoints.")


def check_settings(run: FittedRun, given: dict, out: str | Path, data: str | Path | None = None) -> None:
    """Refuse a setting given on the command line (not None) that differs from the run's, and an `out` predictions
    would overwrite (`_check_out`: the run, another run, predictions of another run or `data`, a ranked.csv the
    reviewer changed).

    `given` holds ``model``, ``layers`` (tuple of ints), ``pooling`` (tuple),
    ``max_length`` and ``text_cols`` (tuple), each None when not given.
    """
    _check_out(run, out, data)
    unused = [flag for key, flag in ENCODER_SETTINGS.items() if given.get(key) is not None]
    if unused and not run.feature_meta:
        # Not refused: a monthly script that names the run's model must not fail the month the blend leaves vectors out.
        log.info("predict: %s not used: the run's blend uses no vector learners (%s), so predict makes no vectors",
                 ", ".join(unused), ", ".join(run.used))
    for rel, meta in run.feature_meta.items():
        for key, flag in ENCODER_SETTINGS.items():
            want, value = meta.get(key), given.get(key)
            if value is None or want is None:
                continue
            same = list(value) == list(want) if isinstance(want, list) else value == want
            if key == "model" and not same and meta.get("encoder_fingerprint"):
                # The run's encoder by another name or in another place (a folder moved, a copy, a short name): its
                # weights are compared with the run's fingerprint once loaded, before any text is encoded.
                continue
            if key == "model" and not same and Path(value).is_dir():  # the run's folder, however it is spelled now
                same = Path(value).resolve() == Path(encoder_source(meta)).resolve()
            if not same:
                shown = ",".join(map(str, want)) if isinstance(want, list) else want
                raise ScreenstackError(f"{flag} {_shown(value)}: the run's vectors ({rel}) were made with {flag} {shown}; "
                                       f"its models read only those. Leave {flag} out (the run's setting is used) or give {shown}.")
    cols = given.get("text_cols")
    if cols is not None and run.text_columns and column_roles(cols) != column_roles(run.text_columns):
        raise ScreenstackError(f"--text-cols {','.join(cols)}: the run's texts came from columns {','.join(run.text_columns)}; "
                               f"its models read only those. Leave --text-cols out or give {','.join(run.text_columns)}.")


def _check_out(run: FittedRun, out: str | Path, data: str | Path | None = None) -> dict | None:
    """Refuse an `out` whose files predictions would overwrite: the run, another run, others' files, other predictions,
    a ranked.csv the reviewer edited.

    Predictions of the same run and the same `data` (same bytes) may be made again in place: their summary is
    returned (None when `out` holds no readable predictions).
    """
    if Path(out).resolve() == run.out.resolve():
        raise ScreenstackError(f"--out {out}: is the run folder itself; predictions go to a folder of their own, "
                               f"e.g. --out {run.out.parent / 'update1'}.")
    if run.out.resolve() in Path(out).resolve().parents:  # among the run's own files (under learners/, a learner to stack)
        raise ScreenstackError(f"--out {out}: is inside the run folder {run.out}; predictions go to a folder of their own "
                               f"beside it, e.g. --out {run.out.parent / 'update1'}.")
    out, fix = Path(out), f"Give an --out of its own, e.g. --out {Path(out).parent / 'update2'}"
    if out.exists() and not out.is_dir():  # known now, not after the update is read and encoded
        raise ScreenstackError(f"--out {out}: is a file, not a folder; predictions go to a folder of their own. {fix}.")
    refuse_edited(out, PREDICT_SET, "predict")  # the reviewer's edits are never replaced, and before any vectors are made
    if sets.staged(out, PREDICT_SET) is not None:
        return None  # a commit killed while moving its files in: OUT's lock finishes it, and this is asked again under it
    folder = RunFolder(out)
    if folder.version(PREDICT_SET) is None:
        taken = [name for name in PREDICT_FILES if (out / name).exists()]
        if taken and PREDICT_SET in sets.damaged(out):  # its files are the predictions' own: written again, but for
            if edits := [name for name in taken if name in sets.EDITED_IN_PLACE]:  # one whose edits cannot be told
                raise sets.edited_unknown(out, PREDICT_SET, *(out / name for name in edits))
            return
        if taken:
            raise ScreenstackError(f"--out {out}: already holds {', '.join(taken)} that are not predictions (another run's?), "
                                   f"and predict would overwrite them. {fix}.")
        return
    try:
        before = read_json(out / "summary.json")
    except (OSError, ValueError):
        return  # a damaged set of predictions: replacing it loses nothing
    if not isinstance(before, dict):
        return
    same_run = before.get("run") == str(run.out.resolve())
    same_data = data is None or (before.get("data_sha256") == _sha256_or_none(data) if "data_sha256" in before
                                 else before.get("data") == str(data))
    if not (same_run and same_data):
        raise ScreenstackError(f"--out {out}: already holds the predictions for {before.get('data')!r} of run "
                               f"{before.get('run')}, and predict would replace them. {fix}, or delete {out} to replace them{sets.before_deleting(Path(out))}.")
    return before


def _lacking_text(run: FittedRun, corpus: Corpus) -> str:
    """Why `corpus`'s records cannot be scored as the run's were, in words (empty: they can): a text column the run
    read is missing from the file, or every record's abstract is empty."""
    if not run.text_columns or not len(corpus.test):
        return ""
    if 0 < len(corpus.text_columns) < len(run.text_columns):
        have = column_roles(corpus.text_columns)
        missing = [c for c, role in zip(run.text_columns, column_roles(run.text_columns)) if role not in have]
        return f"its records lack the run's column(s) {', '.join(missing or run.text_columns[-1:])}"
    if len(run.text_columns) > 1 and not corpus.test["abstract"].astype(str).str.strip().any():
        return f"its {', '.join(corpus.text_columns[1:])} column{'s are' if len(corpus.text_columns) > 2 else ' is'} empty in every record"
    return ""


def _threshold_origin(run: FittedRun, threshold: float, summary: dict) -> str:
    """Where the threshold applied comes from, for the console line: the run's, or lower for these records, by what."""
    if threshold == run.threshold and run.threshold < run.threshold_before:  # the run's records to screen looked richer
        return (f" of {run.out}, lowered there for its own records to screen by the label shift, which no update flags "
                f"fewer than (`screenstack stack --out {quoted(run.out)} --max-shift 1` keeps the labelled records' "
                f"{said_threshold(run.threshold_before)} for it and its updates)")
    if threshold == run.threshold:
        return f" of {run.out}"
    by = " and the ".join(lowered_by(summary)) or "label shift"
    return f": {run.out}'s {said_threshold(run.threshold)}, lowered for these records by the {by} (its line above)"


def _flags_most_warning(run: FittedRun, scores: np.ndarray, decisions: np.ndarray, threshold: float, shift: dict,
                        without: np.ndarray | None) -> str | None:
    """Where the threshold flags more than `MAX_FLAGGED` of the records, the warning that says why, in `stack`'s order
    for its records to screen: the run's honest floor, records without text, the update's label shift, the run's own
    label shift, the run's --beta, or labels too few for these records; None below that, and for fewer than
    `MIN_SHIFT_RECORDS` records with text where none of the reasons before the last holds (a handful of records
    flagged says nothing of the labels: 3 of 3 is chance at the run's share)."""
    share = float(decisions.mean()) if len(decisions) else 0.0
    if share <= MAX_FLAGGED:
        return None
    said = f"the threshold flags {_percent(share)} of these records"
    with_text = np.ones(len(scores), dtype=bool) if without is None else ~without

    def flags(at: float) -> float:  # the share a threshold would flag, records without text flagged whatever it is
        return float(np.mean((scores >= at) | ~with_text))

    if run.flags_everything:
        return (f"{said}: the run's blend does not beat flagging every record on its labelled records (its honest floor, "
                "said in its summary.json and report); label more records, add them to the run's labelled file and "
                "`screenstack run` again (a new --out) to flag fewer")
    flagged_with_text = decisions[with_text].mean() if with_text.any() else 0.0
    # "of those with text it flags 0%" where none has text read as if some had (a helper's update of blank records)
    with_text_clause = f" (of those with text it flags {_percent(flagged_with_text)})" if with_text.any() else " (none has text)"
    if not with_text[decisions == 1].all() and flagged_with_text <= MAX_FLAGGED:
        return (f"{said}: {np.mean(~with_text[decisions == 1]):.0%} of the flagged records have neither title nor abstract, "
                f"flagged since no model can rank them{with_text_clause}; give their titles and abstracts to have them "
                "ranked")
    if threshold < run.threshold and flags(run.threshold) <= MAX_FLAGGED:
        return (f"{said} because they look {shift['estimated_share'] / shift['train_share']:.1f} times as rich in included "
                f"records as the run's labelled ones (the label shift line, shift in summary.json); if they are not, "
                f"--max-shift 1 flags {_percent(flags(run.threshold))}")
    if run.threshold < run.threshold_before and flags(run.threshold_before) <= MAX_FLAGGED:
        return (f"{said} because the run's threshold was lowered for its own records to screen by the label shift; "
                f"`screenstack stack --out {quoted(run.out)} --max-shift 1` keeps its labelled records' threshold, which "
                f"flags {_percent(flags(run.threshold_before))} of these")
    if run.config.beta > StackConfig.beta:
        return (f"{said}: the run's --beta {run.config.beta:g} counts a missed included record {run.config.beta ** 2:g} "
                "times an extra read, so flagging nearly everything scores best; a smaller --beta flags fewer")
    if with_text.sum() < MIN_SHIFT_RECORDS:
        return None
    return (f"{said}: the run's labelled records cannot support a tighter threshold for them; label some of these "
            "records, add them to the run's labelled file and `screenstack run` again (a new --out) to flag fewer")


def _say_if_restacked(run: FittedRun, before: dict | None) -> None:
    """One info line when the predictions replaced came from an earlier stack of the run (another blender or threshold):
    the same file then gets other scores or decisions, which would otherwise go unnoticed."""
    if before is not None and before.get("run_stack_version", run.stack_version) != run.stack_version:
        earlier = before.get("run_threshold", before.get("threshold"))
        log.info("replacing predictions made with an earlier stack of %s (its threshold %s -> %s)", run.out,
                 said_threshold(earlier) if isinstance(earlier, (int, float)) else earlier, said_threshold(run.threshold))


def _sha256_or_none(path: str | Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None  # a missing --data is refused by name when it is read


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _given_folder(meta: dict) -> str | None:
    """The absolute path of the local encoder folder the run was given (``--model models/x``), whether or not it is
    still there; None for a hub name or a short name such as ``minilm`` (whose loaded path has another last name)."""
    model, path = str(meta["model"]), meta.get("model_path")
    return str(path) if path and Path(path).is_absolute() and Path(path).name == Path(model).name else None


def encoder_source(meta: dict) -> str:
    """The model to load for vectors like those of a run's feature file (its metadata `meta`): a local folder the
    run was given (``--model models/x``, from whatever folder it ran in) by the absolute path it loaded, where it
    still is; else the model as the run was given it (a hub name, a short name such as ``minilm``). Same last name,
    so the same vector cache folder (`extract.stage.short_name`)."""
    folder = _given_folder(meta)
    return folder if folder and Path(folder).is_dir() else str(meta["model"])


def _looks_like_gone(meta: dict) -> bool:
    """True where the run was given a local encoder folder that is no longer where it was (`encoder_to_load`)."""
    folder = _given_folder(meta)
    return folder is not None and not Path(folder).is_dir() and not Path(str(meta["model"])).is_dir()


def encoder_to_load(meta: dict, model: str | None) -> str:
    """The model `predict` loads for vectors like those of a run's feature file (metadata `meta`): `model` where given
    (`check_settings` let it through: the same encoder elsewhere, checked by fingerprint once loaded), else the run's
    (`encoder_source`). A run's local folder that is gone, with no `model` given, is refused here, naming the fix."""
    if model is not None:
        return model
    if _looks_like_gone(meta):
        raise ScreenstackError(f"the run's encoder folder {meta['model_path']} is gone (moved or deleted?), and its vector "
                               f"learners read only that encoder's vectors. Give its new place: --model NEW/PATH (the same "
                               f"weights; they are checked before any text is encoded).")
    return encoder_source(meta)


def refuse_other_encoder(run: FittedRun, rel: str, found: dict, given: str | None = None) -> None:
    """Refuse, once the model is loaded and before any text is encoded (`extract_features`' ``before_encoding``),
    an encoder other than the one that made the run's feature file `rel`: same name, other weights or tokenizer, or
    another model given as ``--model`` (`given`)."""
    want = run.feature_meta[rel].get("encoder_fingerprint")
    if want is not None and found.get("encoder_fingerprint") != want:
        model = run.feature_meta[rel].get("model")
        if given is not None:
            gone = _looks_like_gone(run.feature_meta[rel])
            fix = f"Its folder {_given_folder(run.feature_meta[rel])} is gone: give" if gone else "Leave --model out, or give"
            raise ScreenstackError(
                f"--model {given}: its weights, configuration, tokenizer or weight files differ from those of the run's "
                f"encoder ({model}), whose vectors ({rel}) the run's vector learners read. {fix} the run's encoder where it "
                f"is now, its files as they were.")
        raise ScreenstackError(
            f"encoder {model}: its weights, configuration or tokenizer differ from those the run's vectors ({rel}) were "
            f"made with, so the run's vector learners cannot read its vectors. Restore the run's encoder there "
            f"({encoder_source(run.feature_meta[rel])}).")


def _check_encoder(run: FittedRun, name: str, metas: list[dict]) -> None:
    """Refuse vectors of another encoder than the run's: same name, other weights or tokenizer (a local folder changed)."""
    for rel, meta in zip(run.features[name], metas):
        refuse_other_encoder(run, rel, meta)


@locked(predictions=True, writes=PREDICT_FILES)
def predict(run: FittedRun, corpus: Corpus, out: str | Path, vectors: dict[str, str | Path] | None = None, data: str = "",
            left_out: pd.DataFrame | None = None) -> dict:
    """Score `corpus`'s records with `run`'s models; write DIR's set; return the summary.

    `vectors`: run feature file (relative to the run's OUT) -> the new records'
    feature file, made with the same settings (needed when a vector learner is blended).
    `left_out`: the records of `data` `load_new_records` left out as the run's training records (``id``,
    ``run_id``, ``label``, ``title``), listed in ``left_out.csv`` so a reviewer can check them.

    Examples
    --------
    >>> run = read_run("artifacts/run1")  # doctest: +SKIP
    >>> corpus, left_out = load_new_records(run, "data/update.csv")  # doctest: +SKIP
    >>> predict(run, corpus, "artifacts/update1", data="data/update.csv", left_out=left_out)  # doctest: +SKIP
    """
    out = Path(out)
    _say_if_restacked(run, _check_out(run, out, data or None))
    left_out = pd.DataFrame(columns=LEFT_OUT_COLUMNS, dtype=str) if left_out is None else left_out
    records = corpus.test
    columns = []
    for name in run.learners:
        if name not in run.models:  # weight 0: not loaded, not scored (UNUSED_SCORE)
            columns.append(np.full(len(records), UNUSED_SCORE))
            continue
        if run.inputs[name] == "vectors":
            paths = [vectors[f] for f in run.features[name]]
            files = VectorFiles(paths, corpus)  # the corpus has test rows only
            _check_encoder(run, name, files.metas)
            chunks = files.test_chunks(SCORE_CHUNK_ROWS)
        else:
            chunks = text_chunks(records)
        # Chunk by chunk, as fit-learners made the run's test scores: one chunk's texts or vectors held at a time.
        columns.append(chunked_fold_mean_scores(run.models[name], chunks))
    Z = np.column_stack(columns)
    scores = run.blender.predict(Z)
    listed = screening_records(corpus, run.train_keys, run.to_screen)
    lacking = _lacking_text(run, corpus)
    if lacking and run.config.max_shift > 1:
        # Scored without a text the run read (an export without abstracts): every record scores as one with that
        # cell empty, unlike the run's records (a title alone scores higher, mostly), and the shift estimate reads
        # that as a richer file, not as the texts it is (17 times on a cohen_adhd update without abstracts, flagging
        # all of it).
        log.info("label shift: not estimated for %s: %s, so their scores are not comparable with the run's (as --max-shift "
                 "1)", data or "these records", lacking)
        run = replace(run, config=replace(run.config, max_shift=1.0))
    titles_only = titles_unlike_labelled(listed, run.train_keys)
    threshold, shift = run.threshold_for(scores, shift_records(listed, titles_only))
    if lacking:
        shift["not_estimated"] = lacking  # the reason given above, not the titles rule's own
    if threshold < run.threshold:
        log_shift(shift, float(np.mean(run.oof_scores >= threshold)), run.config.beta, "--max-shift 1: the run's threshold")
    # As `stack` decides on its records to screen: records without text flagged, the run's `screening` block under its
    # names, and the update's own probabilities checked against the run's honest recall.
    screened = screen(run.oof_labels, run.oof_scores, run.calibration, scores, threshold, shift,
                      None if run.honest_recall is None else run.honest_recall[0], run.config.seed, listed, titles_only)
    threshold, decisions, screening = screened.threshold, screened.decisions, screened.screening
    warnings = [TITLES_ONLY_WARNING.format(**screened.titles_only)] if screened.titles_only else []
    unlike = abstracts_unlike_labelled(listed, run.train_keys)  # the run's labelled records titles alone, these not
    warnings += [ABSTRACTS_UNLIKE_LABELLED_WARNING.format(**unlike)] if unlike else []
    if screened.recall_check.get("below_interval"):
        warnings.append(UPDATE_RECALL_CHECK_WARNING.format(expected=screened.recall_check["expected_recall"],
                                                           low=run.honest_recall[0], high=run.honest_recall[1]))
    most = _flags_most_warning(run, scores, decisions, threshold, shift, without_text(listed))
    warnings += [most] if most else []
    ids = records["id"].astype(str).to_numpy()
    summary = {
        "run": str(run.out.resolve()), "run_stack_version": run.stack_version,
        "data": str(Path(data).resolve()) if data else "",  # as `run` is: the same file from any folder, the same bytes
        "data_sha256": _sha256_or_none(data) if data else None,
        "threshold": threshold, "run_threshold": run.threshold, "max_shift": run.config.max_shift, "shift": shift,
        "recall_check": screened.recall_check,
        "warnings": run.said + warnings,  # `read_run`'s said then, before any scoring; the others below
        "blend": run.blender.name,
        "learners": run.used,  # rank-average keeps those with too few included records as columns of weight 0
        "left_out_screened": len(left_out), "flagged_without_text": screened.flagged_without_text,
        "titles_only": screened.titles_only, "abstracts_unlike_labelled": unlike, **screening,
        "input_warnings": list(corpus.said),  # given reading `data`: copies of screened records, reused ids
        "versions": package_versions(),
    }
    with RunFolder(out).commit(PREDICT_SET, inputs=tuple(f"features/{Path(p).name}" for p in (vectors or {}).values())) as staging:
        pd.DataFrame({"id": ids, "score": scores}).to_csv(staging / "scores.csv", index=False, float_format="%.8f")
        pd.DataFrame({"id": ids, "judgement": decisions}).to_csv(staging / "submission.csv", index=False, header=False)
        write_ranked(staging / "ranked.csv", ids, scores, decisions, screened.probabilities, listed)
        write_json(staging / "summary.json", summary)
        # As ranked.csv's cells: a leading =, +, -, @ quoted, so a spreadsheet shows an id or title instead of running it
        left_out.apply(lambda column: column if column.name == "label" else column.astype(str).map(neutralise)).to_csv(
            staging / "left_out.csv", index=False)
        top = pd.read_csv(staging / "ranked.csv", dtype=str, keep_default_na=False, nrows=TOP)
        (staging / "report.html").write_text(prediction_page(out, summary, top), encoding="utf-8")
    log.info("predict: %d of %d records flagged (threshold %s%s); expected relevant among them %.1f (95%% interval "
             "%.1f-%.1f), left below the threshold %.1f (%.1f-%.1f)%s; wrote %s", screening["n_flagged"], screening["n_records"],
             said_threshold(threshold), _threshold_origin(run, threshold, summary), screening["expected_flagged"],
             *screening["expected_flagged_interval"], screening["expected_below"], *screening["expected_below_interval"],
             at_shift_clause(screening), out / "ranked.csv")
    for warning in warnings:
        log.warning(warning)
    return summary
