"""A finished run as `predict` applies it: `read_run` reads and checks its blender, calibration, threshold, fold
models and records from the run folder, before any new record is read; refusals name the file and the fix."""
from __future__ import annotations

import tomllib
import warnings as pywarnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..features.artifacts import sets
from ..features.artifacts.atomic import read_json
from ..features.artifacts.folds import load_fold_plan
from ..features.artifacts.outputs import package_versions, read_learner_outputs, refit_fix
from ..features.artifacts.records import RECORDS_FILE, RECORDS_SET, records_to_screen
from ..features.artifacts.damage import DamagedArtifact, read_checked
from ..features.artifacts.runfolder import RunFolder
from ..features.artifacts.store import is_crossfit
from ..features.errors import ScreenstackError, quoted
from ..features.records.duplicates import record_keys
from ..features.records.ids import id_key
from ..learners.persist import load_fold_models, read_index
from .blend import load_blend
from .calibrate import Calibration
from .config import StackConfig, stack_command
from .decision import shift_weight
from .new_records import run_id_column

# What `screenstack predict` needs from a feature file's metadata to make the same vectors for new records
# (`extract.stage.config_from_feature_meta` reads them, the model as `encoder_to_load` resolves it).
EXTRACT_SETTINGS = ("model", "layers", "pooling", "max_length", "dtype", "store_dtype")


def no_records(out: Path, names: list[str]) -> str:
    """Said by `read_run` where the run keeps no text hashes of its records to screen, and kept in each prediction's
    summary.json (the report of the run says the run's own), with the way to write them that keeps the run's stack:
    its own `run --config`, which remakes the stack as it was; else fit-learners, which removes the stack made from
    the old records.parquet, and the stack's own command after it (helper-147: "run the same fit-learners command"
    alone removed a 0.3.25 run's stack, report and config.toml)."""
    why = ("its records.parquet predates 0.3.39, which keeps each record's text hash" if (out / RECORDS_FILE).is_file()
           else "no records.parquet (fit-learners was killed before writing it, or the folder predates it)")
    again = sets.run_again(out)
    way = (f"To write it (reusing the learners fitted) and make the stack again: {again}" if again else
           f"The same `screenstack fit-learners` command with --out {quoted(out)} writes it (reusing the learners fitted), "
           f"then {stack_command(out, names)} makes the stack again, which a new records.parquet removes")
    return (f"{why}, so records of this file that the run listed to screen are not recognised by their texts, nor told "
            f"by their titles from other papers under those ids. {way}.")


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
    made_by: str | None = None               # the screenstack that made that stack, where another than this one
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
    if saved.get("threshold_rule") == "smoothed":  # a rule of 0.3.10 and before
        raise ScreenstackError(f"{path}: stacked with --threshold-rule smoothed, which screenstack no longer has since 0.3.11 "
                               f"(not the default, and it ignored --recall-prior). {restack}")
    try:
        config = StackConfig.saved(saved)
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
    Read under ``RunFolder(out).reading(...)`` (as `screenstack predict` does), so that no command writes OUT meanwhile.

    Examples
    --------
    >>> run = read_run("artifacts/run1")  # doctest: +SKIP
    """
    out = Path(out)
    run = RunFolder(out)
    if not out.is_dir():
        what = "is a file, not a run folder" if out.exists() else "no such run folder"
        raise ScreenstackError(f"--run {out}: {what}. Give the --out of a finished `screenstack run` (or stack).")
    run.refuse_unfinished("--run", "predict")  # first: a set half moved in has files no manifest lists yet (`check_kind`)
    run.check_kind("--run")
    _refuse_other_folder(run)
    restack = f"Run {sets.stack_command(out)}, then predict again."
    run.verify("stack", restack, ignore=("ranked.csv",))  # the reviewer's to edit or move out: predict does not read it
    blend_path = out / "blend.json"
    if not blend_path.is_file():
        if not run.summary.is_file():  # never stacked: perhaps never fitted either
            raise ScreenstackError(f"{blend_path}: missing ({out} has no stack: never stacked, or one removed with the "
                                   f"outputs it was made from). {run.stack_first()} Then predict again.")
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
    for name in used:  # before any warning's way on: a run predict refuses has none (helper-176: two, then the refusal)
        _refuse_finetuned(out, name, outputs[name][2])
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
        fitted.said.append(f"{out}: {no_records(out, names)}")
        pywarnings.warn(fitted.said[-1], stacklevel=2)  # now, before any scoring; and in the summary, as `stack` keeps it
    made_by, current = (summary.get("versions") or {}).get("screenstack"), package_versions().get("screenstack")
    if made_by != current:  # helper-147: a 0.3.10 stack's blend and threshold were applied without a word
        fitted.made_by = made_by or "before 0.2"
        fitted.said.append(f"{out}: its stack was made by screenstack {fitted.made_by}, whose blend and threshold "
                           f"are applied as they were made; {stack_command(out, names)} makes it with {current}'s.")
        pywarnings.warn(fitted.said[-1], stacklevel=2)
    for name in used:
        _, _, meta = outputs[name]
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
