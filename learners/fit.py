"""`fit-learners`: every requested learner, on the shared fold plan, to files."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from ..features.records.corpus import Corpus, texts
from ..features.artifacts.folds import FoldConfig, FoldPlan, assign_folds, make_fold_plan, refuse_other_plan, save_fold_plan
from ..features.artifacts.outputs import (finetune_state, learner_dir, other_test_folders, reusable_learners,
                                         refuse_other_outputs, refuse_other_test, write_learner_output)
from ..features.artifacts.records import write_screening_records
from ..features.artifacts.runfolder import RunFolder, locked
from ..features.artifacts.store import VectorFiles, is_crossfit
from ..features.errors import ScreenstackError
from ..features.artifacts.atomic import sha256_file
from .config import DEFAULT_TEXT_LEARNERS
from .oof import SCORE_CHUNK_ROWS, chunked_fold_mean_scores, on_one_blas_thread, oof_predict, text_chunks
from .persist import model_files
from .registry import learner_class, make_learner
from .text import token_counts

log = logging.getLogger("screenstack")


@locked()
@on_one_blas_thread
def fit_learners(
    corpus: Corpus,
    out: str | Path,
    learners: tuple[str, ...] = DEFAULT_TEXT_LEARNERS,
    features: tuple[str, ...] = (),
    params: dict[str, dict] | None = None,
    folds: FoldConfig = FoldConfig(),
    progress: bool = True,
    chunk_rows: int = SCORE_CHUNK_ROWS,
) -> list[Path]:
    """Fit each learner with `oof_predict` and write its outputs and fold models under ``OUT/learners/NAME``.

    The fold models score the test records `chunk_rows` at a time (texts from
    the corpus, vectors read from the feature files chunk by chunk).

    A learner whose outputs in OUT were made with the same inputs and parameters
    is reused, not refitted; damaged outputs are refitted with a warning. Feature
    files inside OUT are recorded by their path relative to OUT, so a moved run
    folder is still reused.

    Examples
    --------
    >>> fit_learners(load_corpus("train.csv", "test.csv"), "artifacts/run1", ("tfidf-svm",))  # doctest: +SKIP
    """
    params = params or {}
    classes = {name: learner_class(name) for name in learners}
    if any(cls.input == "vectors" for cls in classes.values()) and not features:
        names = ", ".join(n for n, c in classes.items() if c.input == "vectors")
        raise ScreenstackError(f"learners {names} read vectors: pass --features FILE.parquet (from `screenstack extract`).")
    inputs = {}
    # Other training records or folds than the plan's are said first: re-extracting for a feature file of other
    # records, which the vectors' check would say, only leads to the plan's refusal.
    existing = refuse_other_plan(corpus, out, folds)  # the stage that draws it: says a redraw
    if any(cls.input == "vectors" for cls in classes.values()):
        # Before the fold plan is written: a feature file of other data is refused with OUT as it was.
        inputs["vectors"] = VectorFiles(list(features), corpus)
        refuse_crossfit_vectors(inputs["vectors"])
        # Files inside OUT are checked against their manifests; one outside is tied to its learners by its bytes, so
        # vectors written again under the same name and metadata are not taken for those the learners were fitted on.
        inputs["feature_sha256"] = [None if not Path(RunFolder(out).relative(p)).is_absolute() else sha256_file(p)
                                    for p in features]
        # Read, and NaN or inf refused, before any learner is fitted: the training rows kept, the test rows a chunk at a time.
        inputs["train vectors"] = inputs["vectors"].train()
        for _ in inputs["vectors"].test_chunks(chunk_rows):
            pass
    plan = existing if existing is not None else make_fold_plan(corpus, folds)  # none (or damaged): drawn, saved below
    refuse_too_few_texts(corpus, learners, folds, params, plan)  # before the fold plan is written
    # Before anything is written: learners of another --test file would be blended with these, and every learner's
    # outputs made otherwise are named at once, not after fitting the ones before the first.
    refuse_other_test(out, corpus)
    prepared = _prepared(corpus, out, classes, inputs, features, params)
    reusable = reusable_learners(out, {name: meta for name, (_, meta) in prepared.items()}, plan)
    RunFolder(out).check_places(*(f"learners/{name}" for name in classes if not reusable[name]))
    if existing is None:
        save_fold_plan(plan, out)
    RunFolder(out).record_requested_learners(tuple(classes))  # `stack` refuses to blend a fit that stopped short of these
    assert (corpus.train["id"].to_numpy(dtype=str) == plan.ids.astype(str)).all(), "fold plan rows follow the corpus"
    written = []
    try:
        _fit_each(corpus, out, classes, inputs, plan, progress, chunk_rows, written, prepared, reusable)
    except BaseException:
        # Stopped short (Ctrl-C, a learner's error, a full disk): the learners already written still get the records
        # they scored, so `stack --learners` on them flags records without text and lists titles as a full fit does.
        if written:
            try:
                write_screening_records(out, corpus)
            except Exception:  # the error that stopped the fit is the one to show
                pass
        raise
    write_screening_records(out, corpus)  # last: a refusal before any learner leaves OUT as it was
    return written


def _fit_each(corpus: Corpus, out, classes: dict, inputs: dict, plan, progress: bool, chunk_rows: int, written: list,
              prepared: dict, reusable: dict) -> None:
    """`fit_learners`' loop: each learner fitted (or reused) in turn, its folder appended to `written` once there."""
    train, test, y = corpus.train, corpus.test, plan.labels
    to_fit_on_text = [name for name, cls in classes.items() if cls.input == "text" and not reusable[name]]
    for name, cls in classes.items():
        learner, meta = prepared[name]
        if reusable[name]:
            log.info("%s: outputs in %s match this configuration, reusing them", name, learner_dir(out, name))
            written.append(learner_dir(out, name))
            continue
        if cls.input == "vectors":
            X, test_chunks = inputs["train vectors"], inputs["vectors"].test_chunks(chunk_rows)
        else:
            if "token counts" not in inputs:  # the training texts tokenised once for every text learner and fold
                log.info("tokenising %d training texts once for %s", len(train), ", ".join(to_fit_on_text))
                inputs["token counts"] = token_counts(texts(train), [prepared[other][0] for other in to_fit_on_text])
            X = inputs["token counts"][learner.analyser_key()]
            if name == to_fit_on_text[-1]:
                del inputs["token counts"]  # not held through the learners after the last that reads it
            test_chunks = text_chunks(test, chunk_rows)
        oof, _, models = oof_predict(learner, X, y, plan, progress=progress, return_models=True)
        test_scores = chunked_fold_mean_scores(models, test_chunks)
        # The fold models that made these scores, kept in the same set (`screenstack predict` applies them).
        kept = model_files(name, meta["params"], models, corpus.text_columns)
        written.append(write_learner_output(out, name, plan, oof, test["id"], test_scores, meta, kept))


def _prepared(corpus: Corpus, out, classes: dict, inputs: dict, features: tuple[str, ...], params: dict) -> dict:
    """name -> (the learner, unfitted; the metadata its outputs carry, which `reusable_learners` compares)."""
    prepared = {}
    for name, cls in classes.items():
        learner = make_learner(name, **params.get(name, {}))
        feature_meta = []
        if cls.input == "vectors":
            files = inputs["vectors"]
            feature_meta = files.metas
            if "blocks" in learner.get_params() and "blocks" not in params.get(name, {}):  # logreg: its pooled blocks
                learner.set_params(blocks=block_widths(files.metas, files.widths))
        meta = {
            "learner": name,
            "params": learner.get_params(),
            "input": cls.input,
            "features": [RunFolder(out).relative(p) for p in features] if cls.input == "vectors" else [],
            "feature_meta": feature_meta,
            "train_fingerprint": corpus.fingerprint("train"),
            "test_fingerprint": corpus.fingerprint("test"),
        }
        if cls.input == "vectors" and any(inputs["feature_sha256"]):
            meta["feature_sha256"] = inputs["feature_sha256"]
        prepared[name] = learner, meta
    return prepared


def block_widths(metas: list[dict], widths: list[int]) -> list[int]:
    """The widths of the pooled blocks that make up a row of these feature files' vectors (`widths`: each file's), in
    column order: one block per layer and pooling, each the encoder's width (`extract`'s ``hidden_size``, else its
    ``blocks`` or layers x poolings counted); a file whose metadata says neither, or says what its width does not
    hold (a file made or cut by hand), is one block. `logreg` scales each to unit length (`learners.vectors.unit_blocks`)."""
    def count(value) -> int:
        return len(value) if isinstance(value, list) and value else 0

    blocks = []
    for meta, width in zip(metas, widths):
        hidden = meta.get("hidden_size")
        if not (isinstance(hidden, int) and not isinstance(hidden, bool) and hidden > 0 and width % hidden == 0):
            n = count(meta.get("blocks")) or count(meta.get("layers")) * count(meta.get("pooling"))
            hidden = width // n if n and width % n == 0 else width
        blocks += [hidden] * (width // hidden)
    return blocks


def without_blocks(params: dict | None) -> dict:
    """A learner's parameters less logreg's `blocks`, which follow from its feature files."""
    return {key: value for key, value in (params or {}).items() if key != "blocks"}


def default_params(name: str) -> dict:
    """Learner `name`'s parameters as this version makes it by default, as its meta.json holds them (`without_blocks`)."""
    return without_blocks(make_learner(name).get_params())


def refuse_too_few_texts(corpus: Corpus, learners: tuple[str, ...], folds: FoldConfig = FoldConfig(),
                         params: dict[str, dict] | None = None, plan: FoldPlan | None = None) -> None:
    """Refuse training texts a text learner's TF-IDF cannot learn from, before the fold plan is written and before
    `run` extracts: all alike or empty, or folds too small (from the count of records in the smallest fold's
    training part) in `plan`, else in the plan `folds` would draw (`assign_folds`)."""
    text_learners = [make_learner(name, **(params or {}).get(name, {})) for name in learners
                     if learner_class(name).input == "text"]
    if not text_learners:
        return
    train_texts = {t for t in texts(corpus.train) if t.strip()}
    where = f"{corpus.labelled_file}: " if corpus.labelled_file else ""  # a helper's 4-record file was not named
    if len(train_texts) < 2:
        what = "has the same title and abstract" if train_texts else "has neither title nor abstract"
        raise ScreenstackError(f"{where}every labelled training record {what}, so text learners "
                               f"({', '.join(learner.name for learner in text_learners)}) have nothing to learn from. "
                               "Check the training file's text columns (--text-cols).")
    if plan is None:
        with warnings.catch_warnings():  # said where the plan is made, not twice
            warnings.simplefilter("ignore")
            assigned = assign_folds(corpus, folds)
    else:
        assigned = plan.folds
    smallest = min(int(np.sum(assigned != k)) for k in range(int(assigned.max()) + 1))
    for learner in text_learners:
        if (too_few := learner.too_few_texts(smallest)) is not None:
            raise ScreenstackError(f"{where}{too_few}")


def refuse_crossfit_vectors(files: VectorFiles) -> None:
    """Refuse a fine-tuning's cross-fitted vectors (`extract --finetune`'s feature file) as a vector learner's input.

    Each record's vector comes from the fold model that never saw its label, but a learner's model for fold k is
    fitted on the other folds' vectors, made by encoders fine-tuned on fold k's labels: its OOF scores of fold k
    are not honest (a helper flipped one fold-0 label and moved every fold-0 OOF score of logreg on them, where
    logreg on frozen vectors moved none). They also ranked below the frozen encoder's vectors (bench/README.md,
    "Fine-tuning on the protocol"), so `run --finetune` never fitted learners on them from 0.3.24."""
    tuned = [str(path) for path, meta in zip(files.paths, files.metas) if is_crossfit(meta)]
    if tuned:
        raise ScreenstackError(
            f"--features {', '.join(tuned)}: a fine-tuning's cross-fitted vectors (`extract --finetune`); a learner fitted "
            "on them is not honest out of fold (its model for each fold learns from vectors of encoders fine-tuned on "
            "that fold's labels). Fit the vector learners on the frozen encoder's vectors (`screenstack extract` without "
            "--finetune, or `run --finetune`, which does both); the fine-tuned classifier's own scores join the stack "
            "as its learner.")


def _refuse_finetuned_vector_learners(out: str | Path, names: list[str]) -> None:
    """Refuse vector learners in OUT fitted on a fine-tuned encoder's cross-fitted vectors (`run --finetune` before 0.3.24,
    or `fit-learners` on `extract --finetune`'s file) when this run's read the frozen vectors: said in those words,
    rather than as another --model and padding."""
    import json

    found = []
    for name in names:
        try:
            meta = json.loads((learner_dir(out, name) / "meta.json").read_text())
            if any(is_crossfit(m) for m in meta.get("feature_meta") or []):
                found.append(name)
        except (OSError, ValueError, AttributeError):  # absent or unreadable: `refuse_other_outputs` says what it is
            continue
    if found:
        folders = ", ".join(str(learner_dir(out, name)) for name in found)
        raise ScreenstackError(f"{folders}: fitted on the fine-tuned encoder's cross-fitted vectors (`run --finetune` before "
                               "0.3.24, or `fit-learners` on `extract --finetune`'s file); this run's vector learners read "
                               "the frozen encoder's vectors. Use a new --out folder, or delete "
                               f"{'that folder to refit it' if len(found) == 1 else 'those folders to refit them'}.")


def refuse_refits(corpus: Corpus, out: str | Path, learners: tuple[str, ...], vectors: dict | None = None,
                  finetuned: tuple[str, dict] | None = None) -> None:
    """Refuse, before `run` extracts, outputs in OUT of these learners that `fit_learners` would refuse after it:
    made from other records or parameters, or from vectors made otherwise. `vectors` (None: feature files not
    compared), as `extract.stage.vector_identity` gives it: ``file``, the feature file's name before its hash
    (`extract.stage.short_name` of the model), and the layers, pooling, max_length, store_dtype and padding of the
    extraction; once the model is loaded, also its ``encoder_fingerprint`` and ``dtype``
    (`extract.stage.extract_features`'s ``before_encoding``). `finetuned`:
    ``(name, identity)`` of the fine-tuned learner `run --finetune` makes, whose outputs made with other fine-tuning
    options (`FinetuneConfig.identity`) are named in the same refusal, with its state under ``finetune/``."""
    def view(meta: dict) -> dict:  # a vector learner's feature files as `vectors` describes one
        # logreg's `blocks` follow from the feature files (`block_widths`), which are compared on their own.
        meta = {**meta, "params": without_blocks(meta.get("params"))}
        if vectors is None:  # `known` compares no feature files
            return meta
        stems = [Path(p).stem.rsplit("-", 1)[0] for p in meta.get("features") or []]
        files = [{"file": stem, **{key: m.get(key) for key in vectors if key != "file"}}
                 for stem, m in zip(stems, meta.get("feature_meta") or [])]
        return {**meta, "features": files}

    def known(name: str) -> dict:
        return {"params": default_params(name), "train_fingerprint": corpus.fingerprint("train"),
                "test_fingerprint": corpus.fingerprint("test")}

    if vectors is not None:  # frozen vectors wanted: learners on a fine-tuned encoder's vectors are named for what they are
        _refuse_finetuned_vector_learners(out, [name for name in learners if learner_class(name).input == "vectors"])
    # One refusal naming every learner made otherwise (the view adds only keys the text learners' do not compare).
    wanted = {name: {**known(name), "features": [vectors]}
              if vectors is not None and learner_class(name).input == "vectors" else known(name) for name in learners}
    state = {}
    if finetuned is not None:  # compared on its options and records here; its encoder when the fine-tuning loads it
        name, identity = finetuned
        wanted[name] = {"finetune": identity, "train_fingerprint": corpus.fingerprint("train"),
                        "test_fingerprint": corpus.fingerprint("test")}
        state = {name: finetune_state(out, name)}
    refuse_other_outputs(out, wanted, corpus.test, view, also=other_test_folders(out, corpus.fingerprint("test"), keep=tuple(wanted)),
                         with_learner=state)
    refuse_other_test(out, corpus)  # the learners this run does not refit, too
