"""What `predict` checks before any new record is read or encoded: the options given against the run's settings,
the --out folder its predictions would replace, and the encoder it loads against the one that made the run's
vectors."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..features.artifacts import sets
from ..features.artifacts.atomic import read_json
from ..features.artifacts.runfolder import PREDICTIONS_SET, RunFolder
from ..features.errors import ScreenstackError, quoted
from ..features.artifacts.atomic import sha256_file
from .new_records import same_roles
from .ranked import refuse_edited

if TYPE_CHECKING:
    from .fitted_run import FittedRun

log = logging.getLogger("screenstack")
# The extract settings a user may repeat on the command line, as named in the feature files' metadata.
ENCODER_SETTINGS = {"model": "--model", "layers": "--layers", "pooling": "--pooling", "max_length": "--max-length"}
# The files of the committed set predict writes into its --out (`PREDICTIONS_SET`), which a run's files of the same names
# must not be.
PREDICT_FILES = ("ranked.csv", "scores.csv", "submission.csv", "summary.json", "left_out.csv", "report.html")


def check_settings(run: FittedRun, given: dict, out: str | Path, data: str | Path | None = None) -> None:
    """Refuse a setting given on the command line (not None) that differs from the run's, and an `out` predictions
    would overwrite (`check_out`: the run, another run, predictions of another run or `data`, a ranked.csv the
    reviewer changed).

    `given` holds ``model``, ``layers`` (tuple of ints), ``pooling`` (tuple),
    ``max_length`` and ``text_cols`` (tuple), each None when not given.
    """
    check_out(run, out, data)
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
    if cols is not None and run.text_columns and not same_roles(cols, run.text_columns):
        raise ScreenstackError(f"--text-cols {','.join(cols)}: the run's texts came from columns {','.join(run.text_columns)}; "
                               f"its models read only {'those' if len(run.text_columns) > 1 else 'that'}. Give this file's "
                               f"column{'s' if len(run.text_columns) > 1 else ''} holding what {'they' if len(run.text_columns) > 1 else 'it'} "
                               f"held{', in that order' if len(run.text_columns) > 1 else ''} (a title's or abstract's name only where "
                               "the run's says the same, any other name as given), or leave --text-cols out (the run's are looked for).")


def check_out(run: FittedRun, out: str | Path, data: str | Path | None = None) -> dict | None:
    """Refuse an `out` whose files predictions would overwrite: the run, another run, others' files, other predictions,
    a ranked.csv the reviewer edited.

    Predictions of the same run and the same `data` (same bytes) may be made again in place: their summary is
    returned (None when `out` holds no readable predictions).
    """
    if Path(out).resolve() == run.out.resolve():
        raise ScreenstackError(f"--out {out}: is the run folder itself; predictions go to a folder of their own, "
                               f"e.g. --out {quoted(run.out.parent / 'update1')}.")
    if run.out.resolve() in Path(out).resolve().parents:  # among the run's own files (under learners/, a learner to stack)
        raise ScreenstackError(f"--out {out}: is inside the run folder {run.out}; predictions go to a folder of their own "
                               f"beside it, e.g. --out {quoted(run.out.parent / 'update1')}.")
    out, fix = Path(out), f"Give an --out of its own, e.g. --out {quoted(Path(out).parent / 'update2')}"
    if out.exists() and not out.is_dir():  # known now, not after the update is read and encoded
        raise ScreenstackError(f"--out {out}: is a file, not a folder; predictions go to a folder of their own. {fix}.")
    refuse_edited(out, PREDICTIONS_SET, "predict")  # the reviewer's edits are never replaced, and before any vectors are made
    if sets.staged(out, PREDICTIONS_SET) is not None:
        return None  # a commit killed while moving its files in: OUT's lock finishes it, and this is asked again under it
    folder = RunFolder(out)
    if folder.version(PREDICTIONS_SET) is None:
        taken = [name for name in PREDICT_FILES if (out / name).exists()]
        if taken and PREDICTIONS_SET in sets.damaged(out):  # its files are the predictions' own: written again, but for
            if edits := [name for name in taken if name in sets.EDITED_IN_PLACE]:  # one whose edits cannot be told
                raise sets.edited_unknown(out, PREDICTIONS_SET, *(out / name for name in edits))
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
    same_data = data is None or (before.get("data_sha256") == sha256_or_none(data) if "data_sha256" in before
                                 else before.get("data") == str(data))
    if not (same_run and same_data):
        changed = same_run and data is not None and before.get("data") == str(Path(data).resolve())
        # The same file edited since (helper-164: an abstract fixed) is said as such, not as another file.
        what = (f"the predictions for {before.get('data')!r} as it was then (it has changed since)" if changed else
                f"the predictions for {before.get('data')!r} of run {before.get('run')}")
        raise ScreenstackError(f"--out {out}: already holds {what}, and predict would replace them. {fix}, or delete {quoted(str(out))} "
                               f"to replace them{sets.before_deleting(Path(out))}.")
    return before


def sha256_or_none(path: str | Path) -> str | None:
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


def encoder_named(meta: dict) -> str:
    """A run's encoder as a message names it: the absolute path of the folder it was given, where it was given one
    (gone or not: ``./tiny`` as recorded reads as another folder from elsewhere), else its name."""
    return _given_folder(meta) or str(meta["model"])


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


def check_encoder(run: FittedRun, name: str, metas: list[dict]) -> None:
    """Refuse vectors of another encoder than the run's: same name, other weights or tokenizer (a local folder changed)."""
    for rel, meta in zip(run.features[name], metas):
        refuse_other_encoder(run, rel, meta)
