"""A learner's K fold models as plain files, kept and loaded without pickle.

`fit_learners` keeps the fold models `oof_predict` fitted (no refit) in the
learner's committed set, ``OUT/learners/NAME/models/``:

- ``fold{k}.SUFFIX``: what fold k's model's ``to_files`` returned, one file
  per suffix (``safetensors`` arrays, ``vocabulary.json``, LightGBM's
  ``lightgbm.txt``, XGBoost's ``xgboost.ubj``);
- ``models.json``: the format, the learner, its parameters and the files.

Every format is data (arrays, JSON, booster text), so loading a model runs no
code from the file. The files are committed with the scores they made, so the
set's manifest catches a damaged one by name before it is read here.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..features.artifacts.damage import DamagedArtifact
from ..features.errors import ScreenstackError
from .registry import make_learner

MODELS_DIR = "models"
FORMAT = 1


def model_files(name: str, params: dict, models: list, text_columns: tuple[str, ...] = ()) -> dict[str, bytes]:
    """``models/...`` path -> contents for the fold models of learner NAME, fold k at position k.

    `text_columns`: the input file's columns the record texts came from (title
    first; empty if unknown), so `predict` reads new files the same way.

    Examples
    --------
    >>> files = model_files("tfidf-svm", learner.get_params(), fold_models)  # doctest: +SKIP
    """
    files = {}
    for k, model in enumerate(models):
        for suffix, data in sorted(model.to_files().items()):
            files[f"{MODELS_DIR}/fold{k}.{suffix}"] = data
    index = {"format": FORMAT, "learner": name, "params": params, "n_folds": len(models),
             "files": [Path(p).name for p in files], "text_columns": list(text_columns)}
    files[f"{MODELS_DIR}/models.json"] = (json.dumps(index, indent=2, sort_keys=True, default=str) + "\n").encode()
    return files


def read_index(folder: str | Path) -> dict | None:
    """``models.json`` of a learner folder (None: no fold models kept); unreadable: ValueError or OSError."""
    path = Path(folder) / MODELS_DIR / "models.json"
    return json.loads(path.read_bytes()) if path.is_file() else None


def load_fold_models(folder: str | Path, fix: str) -> list:
    """The fitted fold models kept in learner folder `folder`, fold k at position k.

    A file that does not parse raises `DamagedArtifact` naming it and `fix`;
    a folder without models raises a `ScreenstackError` saying so (with `fix`).
    """
    folder = Path(folder)
    models = folder / MODELS_DIR
    index_path = models / "models.json"
    if not index_path.is_file():
        raise ScreenstackError(f"{folder}: no fold models (fitted before screenstack kept them). {fix}")
    try:
        index = json.loads(index_path.read_bytes())
        n_folds, names, params, name = int(index["n_folds"]), list(index["files"]), dict(index["params"]), index["learner"]
        if index["format"] != FORMAT:
            raise ValueError(f"format {index['format']!r}, this screenstack reads {FORMAT}")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DamagedArtifact(index_path, f"not readable: {error}", fix) from None
    loaded = []
    for k in range(n_folds):
        prefix = f"fold{k}."
        files = {}
        for file in (n for n in names if n.startswith(prefix)):
            try:
                files[file.removeprefix(prefix)] = (models / file).read_bytes()
            except OSError as error:
                raise DamagedArtifact(models / file, f"not readable: {error.strerror or error}", fix) from None
        try:
            loaded.append(make_learner(name, **params).from_files(files))
        except Exception as error:  # any parse error of the arrays, JSON or booster text: the file is not what was written
            shown = " ".join(str(error).split())[:160] or type(error).__name__
            raise DamagedArtifact(models / f"{prefix}*", f"fold {k}'s model does not load: {shown}", fix) from None
    return loaded
