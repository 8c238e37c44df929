"""Learner outputs: the files `stack` reads, one folder per learner.

``OUT/learners/NAME/`` holds ``oof.parquet`` (``id``, ``fold``, ``label``,
``score`` for every training record, scored by the fold model that did not see
it), ``test.parquet`` (``id``, ``score``: the mean of the fold models) and
``meta.json`` (the learner's parameters, its inputs, the fold plan and package
versions), and ``models/`` (the K fold models that made the scores, as plain
files: `learners.persist`; absent in folders fitted before they were kept, and
for the fine-tuned encoder, whose fold weights are not kept). Any producer of scores, a CPU learner or the fine-tuned encoder,
writes this format, so `stack` blends them all alike. The three files are
committed as one set (`features.artifacts.runfolder`): a reader never sees the scores of
one fit beside the metadata of another, and a damaged file is caught by name.
"""
from __future__ import annotations

import importlib.metadata
import logging
import platform
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .atomic import read_json, write_json, write_parquet
from ..errors import ScreenstackError, go_on_with, quoted
from ..records.corpus import Corpus, fingerprint_of
from ..records.ids import id_key
from .folds import FoldPlan
from .damage import DamagedArtifact, StaleArtifact, read_checked
from .runfolder import RunFolder
from . import sets
from .sets import is_fine_tuned, run_refits, slug

log = logging.getLogger("screenstack")

LEARNERS_DIR = "learners"
PACKAGES = ("screenstack", "numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "torch", "transformers", "pyarrow")


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide the numbers, for artifact metadata."""
    from ... import __version__  # the code's own, not the install's metadata (stale in a checkout installed editable)

    versions = {"python": platform.python_version(), "screenstack": __version__}
    for name in PACKAGES[1:]:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def learner_dir(out: str | Path, name: str) -> Path:
    return RunFolder(out).learner(name)


def _set(name: str) -> str:
    return f"{LEARNERS_DIR}/{name}"


def refit_fix(out, name: str) -> str:
    if (again := run_refits(out, name.split(","))) is not None:
        return f"Rerun {again}: it refits {'the learners' if ',' in name else 'the learner'} with the run's options."
    if is_fine_tuned(name):
        others = [n for n in RunFolder(out).learner_names() if n != name and learner_dir(out, n).is_dir()]
        leave = f"; or leave it out: {sets.stack_command(Path(out), others)}" if others else ""
        return (f"Rerun `screenstack extract --finetune --out {quoted(out)}` (or `run --finetune`) with the run's options: it "
                f"fine-tunes the learner again{leave}.")
    return (f"Rerun `screenstack fit-learners --out {quoted(out)} --learners {name}` with the run's --data (or --train/--test) "
            "and, for a learner on vectors, its --features: it refits the learner.")


def _read_learner(out: str | Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """NAME's (oof frame, test frame, meta), checked against its manifest; damage raises `DamagedArtifact`."""
    run, fix = RunFolder(out), refit_fix(out, name)
    folder = run.learner(name)
    run.verify(_set(name), fix)
    meta = read_checked(folder / "meta.json", read_json, fix)
    oof = read_checked(folder / "oof.parquet", pd.read_parquet, fix)
    test = read_checked(folder / "test.parquet", pd.read_parquet, fix)
    for path, frame, columns in ((folder / "oof.parquet", oof, {"id", "fold", "label", "score"}), (folder / "test.parquet", test, {"id", "score"})):
        if not columns <= set(frame.columns):
            raise DamagedArtifact(path, f"columns {', '.join(frame.columns)}, expected {', '.join(sorted(columns))}", fix)
    if not isinstance(meta, dict):
        raise DamagedArtifact(folder / "meta.json", "not a JSON object", fix)
    return oof, test, meta


def differing_keys(old: dict, new: dict, ignore: tuple[str, ...] = ()) -> list[str]:
    """The keys, sorted, whose values differ between two metadata dicts (a missing key counts as None)."""
    return sorted(k for k in set(old) | set(new) if k not in ignore and old.get(k) != new.get(k))


# What a user changed to make a learner's metadata differ, in the words of the options that change it.
_SAID = {"file": "--model", "model": "--model", "layers": "--layers", "pooling": "--pooling", "max_length": "--max-length",
         "store_dtype": "--store-dtype", "dtype": "--dtype", "padding": "the text padding",
         "encoder_fingerprint": "the encoder (its weights, config or tokenizer)", "train_fingerprint": "the labelled records (--train, or --data's labelled ones)",
         "test_fingerprint": "the records to screen (--test, or --data's unlabelled ones, or the columns read: --text-cols)", "fold_plan": "the fold plan (--folds, --seed)", "input": "the learner's input",
         "feature_sha256": "the contents of the feature files outside OUT"}
_FINETUNE_FLAGS = {"precision": "--dtype"}  # a fine-tuning's settings are `extract --finetune`'s options of the same names
_FEATURE_KEYS = ("file", "model", "layers", "pooling", "max_length", "store_dtype", "dtype", "padding", "encoder_fingerprint")


def describe_differences(keys: list[str], old: dict, new: dict) -> list[str]:
    """`differing_keys`' keys as a user reads them: the option and both values where they are short
    ("--max-length (512 there, 32 now)"), else what changed ("the --test records")."""
    said = []

    def spelled(value):  # a list of layers or poolings as its flag takes it ("-1,-2", "cls,mean"), to be given again
        return ",".join(map(str, value)) if isinstance(value, list) and all(isinstance(v, (int, str)) for v in value) else value

    def values(key: str, was, now) -> str:
        was, now = spelled(was), spelled(now)
        short = all(len(str(v)) < 40 for v in (was, now))  # not a fingerprint, a list of them or a long path
        return f"{_SAID.get(key, key)} ({was} there, {now} now)" if short else _SAID.get(key, key)

    for key in keys:
        was, now = old.get(key), new.get(key)
        if key in ("features", "feature_meta"):  # both name the feature files: compared once, on their metadata
            was_files, now_files = old.get("feature_meta") or was or [], new.get("feature_meta") or now or []
            before = len(said)
            if len(was_files) != len(now_files):
                said.append(f"the feature files ({len(was_files)} there, {len(now_files)} now)")
            for a, b in zip(was_files, now_files):
                a, b = (v if isinstance(v, dict) else {"file": v} for v in (a, b))
                said += [values(k, a.get(k), b.get(k)) for k in _FEATURE_KEYS if k in a and k in b and a[k] != b[k]]
            if key == "features" and len(said) == before and isinstance(was, list) and isinstance(now, list):
                # the same encoder's vectors under another name (a file renamed): the files say which
                said.append(f"the feature files ({', '.join(map(quoted, was))} there, {', '.join(map(quoted, now))} now)")
        elif key == "feature_sha256" and "features" in keys:
            continue  # other files than those named there: their contents differ as a matter of course
        elif key == "finetune" and isinstance(was, dict) and isinstance(now, dict):  # its fields are extract's options
            said += [f"{_FINETUNE_FLAGS.get(k, '--' + k.replace('_', '-'))} ({was.get(k)} there, {now.get(k)} now)"
                     for k in differing_keys(was, now)]
        elif isinstance(was, dict) and isinstance(now, dict):  # a learner's params
            inner = differing_keys(was, now)
            said.append(f"{'parameters' if key == 'params' else key} " + ", ".join(
                f"{k} ({was.get(k)} there, {now.get(k)} now)" for k in inner))
        else:
            said.append(values(key, was, now))
    return list(dict.fromkeys(said)) or keys


def check_reusable(out: str | Path, name: str, meta: dict, plan: FoldPlan, also: tuple[Path, ...] = ()) -> bool:
    """True if NAME's outputs in OUT were made with exactly this metadata and fold plan (`reusable_learners`)."""
    return reusable_learners(out, {name: meta}, plan, also)[name]


def reusable_learners(out: str | Path, metas: dict[str, dict], plan: FoldPlan, also: tuple[Path, ...] = ()) -> dict[str, bool]:
    """For each learner (name -> the metadata its outputs would carry), whether its outputs in OUT were made with
    exactly that metadata and this fold plan, checked for all before any is fitted.

    `also`: folders of the same outputs (a fine-tuning's state) that a refusal names to delete with them.

    Outputs made otherwise are refused, never silently replaced, in one line naming every such learner: one at a
    time, the learners before the first refused were fitted anyway and the fix took a run per learner. Package
    versions are not compared: an upgrade alone does not force a refit. Damaged outputs (a file missing, truncated
    or changed) are refitted, with a warning.
    """
    reusable, refused = {}, {}
    for name, meta in metas.items():
        compared = _compared(out, name, meta, plan)
        if compared is not None and compared[2]:
            refused[name] = compared
        reusable[name] = compared is not None and name not in refused
    if refused:
        said = list(dict.fromkeys(item for old, new, keys in refused.values() for item in describe_differences(keys, old, new)))
        ways = {_features_way(out, keys, old, new) for old, new, keys in refused.values()}
        # One way on where every refused learner has the same; where they differ, none rather than one that fits some.
        way = ways.pop() if len(ways) == 1 else ""
        raise _other_configuration(list(refused), said, next(iter(refused.values()))[0], out,
                                   [p for p in also if p.exists()], way=way)
    return reusable


def _compared(out: str | Path, name: str, meta: dict, plan: FoldPlan) -> tuple[dict, dict, list[str]] | None:
    """``(old, new, differing keys)`` of NAME's outputs in OUT against `meta` and `plan`; None where there are none to
    reuse: absent, or damaged (warned; refitted)."""
    path = learner_dir(out, name) / "meta.json"
    if not path.is_file() and not RunFolder(out).manifest_path(_set(name)).is_file():
        return None
    try:
        _, _, old = _read_learner(out, name)
    except DamagedArtifact as error:
        state = "stale" if isinstance(error, StaleArtifact) else "damaged" if Path(error.path).exists() else "missing"
        if state == "missing" and not learner_dir(out, name).exists():  # the folder deleted, as a refusal says to do:
            log.info("%s: deleted; refitting %s.", learner_dir(out, name), name)  # not news (helper-176)
            return None
        # A feature file's record damaged: refitting reads the vectors as they are and leaves the record so; `extract`
        # writes both again (and removes the learners fitted on the old file).
        again = (" The feature file's record stays damaged until `screenstack extract`, with the options that made it, "
                 "writes both again." if Path(error.path).name.startswith(slug("features/")) else "")
        warnings.warn(f"{error.path}: {state}; refitting {name}.{again}", stacklevel=4)
        return None
    # Run folders made before paths were stored relative to OUT hold absolute feature paths.
    if old.get("features"):
        old = {**old, "features": [RunFolder(out).relative(p) if Path(p).is_absolute() else p for p in old["features"]]}
    new = {**meta, "name": name, "fold_plan": plan.meta}
    if "feature_sha256" not in old:  # outputs of 0.3.10 and before, which kept no hash: reused as then
        new.pop("feature_sha256", None)
    return old, new, differing_keys(old, new, ignore=("versions",))


def _features_way(out: str | Path, keys: list[str], old: dict, new: dict) -> str | None:
    """Where only the feature files differ, the way on `check_reusable` offers (fit-learners', which takes no extraction
    options): the files the outputs were fitted on, as --features, where they are all still there as they were; else
    none (''). None where other things differ: `go_on_with` the differences. `logreg`'s ``blocks`` follow from the
    files' widths, so a difference there is theirs too."""
    of_files = {"features", "feature_meta", "feature_sha256"}
    if differing_keys(old.get("params") or {}, new.get("params") or {}) == ["blocks"]:
        of_files.add("params")
    if not set(keys) <= of_files:
        return None  # other differences: said as options, where they are options
    def located(paths):
        return [Path(out) / p if not Path(p).is_absolute() else Path(p) for p in paths or []]

    files, now = located(old.get("features")), located(new.get("features"))
    rewritten = "feature_sha256" in keys and old.get("features") == new.get("features")  # the same file outside OUT, changed
    if keys == ["features"] and len(files) == len(now) == 1 and not files[0].exists():
        # The one file renamed (its metadata unchanged: the same extraction): its old name is the way back.
        return f", rename {quoted(now[0])} back to {quoted(files[0])} to go on with it"
    if not files or not all(f.is_file() for f in files) or rewritten:
        return ""  # no way on to offer: they are gone, or hold other vectors now
    # Space-separated, each quoted: a file's name may hold a comma, which a comma-joined list would split.
    return f", give --features {' '.join(quoted(f) for f in files)} to go on with it"


def _intact_metas(out: str | Path, names):
    """(name, meta) of each of `names` with outputs in OUT that read whole; damaged ones are left to be refitted."""
    for name in names:
        if not (learner_dir(out, name) / "meta.json").is_file():
            continue
        try:
            _, _, meta = _read_learner(out, name)
        except DamagedArtifact:
            continue
        yield name, meta


def refuse_other_outputs(out: str | Path, known: dict[str, dict], records: pd.DataFrame, view: Callable[[dict], dict] = dict,
                         also: list[Path] = (), with_learner: dict[str, Path] | None = None) -> None:
    """Refuse, in one line naming every one, the learners (name -> `known`) whose outputs in OUT have metadata
    whose `view` differs from `known` (keys of the metadata `check_reusable` compares, or views of them): what
    `check_reusable` would refuse one learner at a time, found before `run` spends its extraction. Damaged
    outputs pass: fit-learners refits them. `also`: more folders the same refusal names to delete (other learners'
    outputs for other records to screen, `other_test_folders`), so that one step clears the way; `with_learner`: a
    folder to delete with a learner where that learner is refused (a fine-tuned learner's state); `records`: the
    records to screen (a corpus's test split), to say where they are only reordered."""
    refused, said, made, models = [], [], {}, []
    for name, old in _intact_metas(out, known):
        wanted = known[name]
        seen = view(old)
        keys = differing_keys({key: seen.get(key) for key in wanted}, wanted)
        if keys:
            refused.append(name)
            said += describe_differences(keys, {key: seen.get(key) for key in wanted}, wanted)
            made = made or old
            models += [m for m in old.get("feature_meta") or [] if isinstance(m, dict)]
            also = [*also, *([with_learner[name]] if name in (with_learner or {}) else [])]
    if refused:
        note = _test_records_differ([learner_dir(out, name) for name in refused], records)
        said = [f"{item}, here {note}" if note and item == _SAID["test_fingerprint"] else item for item in dict.fromkeys(said)]
        raise _other_configuration(refused, said, made, out, list(dict.fromkeys(p for p in also if p.exists())),
                                   options=[_model_as_given(item, models) for item in said])


def _model_as_given(said: str, feature_metas: list[dict]) -> str:
    """`said` with a feature file's model name ("--model (bert0 there, ...)", the file's name, which `--model bert0` may
    not load) replaced by the --model that made the file: its folder's path, or the hub name as given."""
    for meta in feature_metas:
        path, given = meta.get("model_path"), meta.get("model")
        name = Path(str(given or "")).name.lower()
        if not said.startswith(f"--model ({name} there,") or not given:
            continue
        # A folder given as a path (not a hub name, whose files are in the hub's cache, nor a bare name like minilm,
        # whose folder is named otherwise), or by its bare name from its parent (`--model tinybert`).
        folder = bool(path) and ("/" in str(given) or "\\" in str(given) or Path(path).name == str(given)) and not any(
            part.startswith("models--") for part in Path(path).parts)
        if folder and not Path(path).is_dir():  # renamed or deleted since: a way on that does not load is none
            return f"--model's folder there, {quoted(path)}, no longer there"
        return said.replace(f"({name} there,", f"({quoted(path) if folder else given} there,", 1)
    if said.startswith("--model (") and feature_metas:  # a file named otherwise than its model (a copy outside OUT)
        return "the feature files' names"  # no --model makes them again: no way on
    return said


def refuse_other_test(out: str | Path, corpus: Corpus) -> None:
    """Refuse to add outputs for `corpus`'s records to screen to an OUT whose learners scored other ones: `stack` would
    blend two files' scores, and `records.parquet` would describe only one of them. Damaged outputs pass: they are
    refitted."""
    folders = other_test_folders(out, corpus.fingerprint("test"))
    if folders:
        one = len(folders) == 1
        # predict refuses a run with a fine-tuned learner (its fold weights are not kept), so it is no way on there.
        finetuned = any(map(is_fine_tuned, RunFolder(out).learner_names()))
        states = any(folder.parent.name == FINETUNE_STATE_DIR for folder in folders)
        differ = _test_records_differ(folders, corpus.test)
        way = ("" if finetuned else f" (`screenstack predict --run {quoted(out)} --data FILE --out NEW` scores new records "
               "with a finished run's models.)")
        raise ScreenstackError(
            f"{', '.join(map(str, folders))}: scored other records to screen (--test, or --data's unlabelled ones, or the "
            f"columns read: --text-cols) than "
            f"these{f' ({differ})' if differ else ''}{', or hold the state of a fine-tuning that did' if states else ''}, "
            f"and a run folder holds the scores of one file's records to screen. Use a new --out folder for these "
            f"records, or delete {'that folder' if one else 'those folders'} to score these records here.{way}")


def _test_records_differ(folders: list[Path], records: pd.DataFrame) -> str:
    """How the records to screen (`records`, a corpus's test split) differ from those the first learner of `folders`
    scored, as the training file's refusal says it (`folds._records_differ`): records added or gone (how many, the
    first), the same ids spelt otherwise, or the same ids in another row order, with or without other texts (the
    learner's fingerprint of the records put back in its order); empty where only their texts differ or it cannot
    tell."""
    scored = next((folder for folder in folders if (folder / "test.parquet").is_file()), None)
    if scored is None:
        return ""
    try:
        before = pd.read_parquet(scored / "test.parquet", columns=["id"])["id"].to_numpy(dtype=str)
        fingerprint = read_json(scored / "meta.json").get("test_fingerprint")
    except (OSError, ValueError, KeyError, AttributeError):
        return ""
    now = records["id"].to_numpy(dtype=str)
    was_keys, now_keys = pd.Index(map(id_key, before)), pd.Index(map(id_key, now))
    added, gone = now_keys.difference(was_keys, sort=False), was_keys.difference(now_keys, sort=False)
    if len(added) or len(gone):
        parts = [f"{len(added)} record(s) not scored before (first: id {str(now[now_keys.get_loc(added[0])])!r})"] if len(added) else []
        parts += [f"{len(gone)} scored before no longer there (first: id {str(before[was_keys.get_loc(gone[0])])!r})"] if len(gone) else []
        return " and ".join(parts)
    if not np.array_equal(before, now) and np.array_equal(was_keys, now_keys):
        first = int(np.flatnonzero(before != now)[0])
        return f"the same ids spelt otherwise (first: {str(now[first])!r}, scored as {str(before[first])!r})"
    if np.array_equal(before, now) or not np.array_equal(np.sort(before), np.sort(now)):
        return ""
    position = pd.Series(np.arange(len(now)), index=now)
    if fingerprint_of(records.iloc[position[before].to_numpy()]) != fingerprint:
        return "the same ids in another row order, some of them with other texts"
    return "the same ids in another row order, and the scores follow the file's rows"


FINETUNE_STATE_DIR = "finetune"  # OUT/finetune/NAME: a fine-tuned learner's fold models' state (`extract.finetune`)


def finetune_state(out: str | Path, name: str) -> Path:
    """OUT/finetune/NAME, where fine-tuned learner NAME keeps its fold models' state."""
    return Path(out) / FINETUNE_STATE_DIR / name


def other_test_folders(out: str | Path, test_fingerprint: str, keep: tuple[str, ...] = ()) -> list[Path]:
    """The folders in OUT made for other records to screen than `test_fingerprint`'s: learners' outputs (but `keep`'s;
    damaged ones are refitted) and, beside a fine-tuned learner's, its fine-tuning state, which `extract.finetune`
    would refuse next."""
    others = [name for name in RunFolder(out).learner_names() if name not in keep]
    other = [name for name, old in _intact_metas(out, others) if old.get("test_fingerprint") not in (None, test_fingerprint)]
    return [folder for name in other for folder in (learner_dir(out, name), finetune_state(out, name)) if folder.is_dir()]


def _other_configuration(names: list[str], said: list[str], old: dict, out: str | Path, also: list[Path] = (),
                         options: list[str] | None = None, way: str | None = None) -> ScreenstackError:
    """The refusal of outputs made otherwise; `options`: `said` as the options that would make them again (default
    `said`); `way`: the way on to offer instead of those options' (`go_on_with`), '' for none."""
    made_by, current = (old.get("versions") or {}).get("screenstack"), package_versions().get("screenstack")
    # A learner's defaults may change between versions (0.3.2: the TF-IDF learners' class weights).
    by = f"; made by screenstack {made_by}, whose defaults may differ from {current}'s" if made_by and made_by != current else ""
    folders = ", ".join(str(learner_dir(out, name)) for name in names)
    what = (f"holds {names[0]!r} outputs" if len(names) == 1 else f"hold the outputs of {', '.join(names)}")
    delete = (f"{'that folder' if len(names) == 1 else 'those folders'}" if not also
              else f"{'it' if len(names) == 1 else 'them'} and {', '.join(map(str, also))}")
    return ScreenstackError(f"{folders}: {what} of another configuration (differs in: {'; '.join(said)}{by}). Use a new "
                            f"--out folder{go_on_with(options or said) if way is None else way}, or delete {delete} to refit {'it' if len(names) == 1 else 'them'}.")


def write_learner_output(out: str | Path, name: str, plan: FoldPlan, oof: np.ndarray, test_ids, test: np.ndarray, meta: dict,
                         models: dict[str, bytes] | None = None) -> Path:
    """Write one learner's OOF and test scores and its metadata, committed as one set.

    `models`: path inside the learner's folder -> contents, the fold models
    that made the scores (``models/...``, `learners.persist`), in the same set.
    """
    run = RunFolder(out)
    rel = run.learner(name).relative_to(run.out)
    # Made from the plan and the feature files inside OUT (a path outside OUT is stored absolute).
    inputs = ("folds", *(p for p in meta.get("features", []) if not Path(p).is_absolute()))
    with run.commit(_set(name), inputs=inputs) as staging:
        folder = staging / rel
        write_parquet(folder / "oof.parquet", pd.DataFrame({"id": plan.ids.astype(str), "fold": plan.folds, "label": plan.labels, "score": oof}))
        write_parquet(folder / "test.parquet", pd.DataFrame({"id": np.asarray(test_ids).astype(str), "score": test}))
        write_json(folder / "meta.json", {**meta, "name": name, "fold_plan": plan.meta, "versions": package_versions()})
        for rel_path, data in (models or {}).items():
            (folder / rel_path).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel_path).write_bytes(data)
    return run.learner(name)


def read_learner_outputs(out: str | Path, names: tuple[str, ...] = ()) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, dict]]:
    """Finished learners in OUT (`names`, or all): name -> (oof frame, test frame, meta), sorted by name.

    Each is checked against its manifest: a damaged file is refused by name.
    """
    run = RunFolder(out)
    present = run.learner_names()
    if not present:
        raise ScreenstackError(f"{run.learners_dir}: no learner outputs. Run `screenstack fit-learners --out {quoted(out)}` with the run's "
                               "--data (or --train/--test) first.")
    outputs, damaged = {}, {}
    for name in present:
        if not names or name in names:
            try:
                outputs[name] = _read_learner(out, name)
            except DamagedArtifact as error:
                damaged[name] = error
    deleted = [name for name in damaged if not run.learner(name).exists() and not is_fine_tuned(name)]
    if deleted and len(deleted) == len(damaged):  # folders removed by hand (as a refusal may say to do): not damage
        # Every one, `names` or not: the blend offered instead named another deleted one, whose refusal then named this.
        deleted = [name for name in present if not run.learner(name).exists() and not is_fine_tuned(name)]
        kept = [name for name in present if name not in deleted]
        raise ScreenstackError(f"{', '.join(str(run.learner(name)) for name in deleted)}: deleted, but {out} still lists "
                               f"{'it' if len(deleted) == 1 else 'them'} among its learners. "
                               f"{sets.deleted_learners_fix(Path(out), deleted, kept)}")
    kept = [name for name in present if name not in damaged]
    # A refit needs the run's input files as they were (`sets.run_refits`): where one changed, the others blend without it.
    others = (f" Without such a copy, blend the others: {sets.stack_command(Path(out), kept)}."
              if damaged and kept and sets.changed_inputs(Path(out)) else "")
    if len({str(error.path) for error in damaged.values()}) == 1:  # one learner's file, or one file they all read (a
        error = next(iter(damaged.values()))                    # damaged folds manifest): named once, with its own fix
        raise DamagedArtifact(error.path, error.reason, error.fix + others) if others else error
    if damaged:  # every one in one line, and one command for those fit-learners refits: not one learner a run
        refit = [name for name in damaged if not is_fine_tuned(name)]
        fixes = [refit_fix(out, ",".join(refit))] if refit else []
        fixes += [refit_fix(out, name) for name in damaged if is_fine_tuned(name)][:1]  # one fix fine-tunes them all
        fixes += [others.strip()] if others else []
        # each file once: learners reading one damaged file (the features manifest of logreg and lightgbm) named it twice
        raise DamagedArtifact(", ".join(dict.fromkeys(str(error.path) for error in damaged.values())),
                              "; ".join(dict.fromkeys(error.reason for error in damaged.values())), " ".join(fixes))
    return outputs
