"""Fine-tune an encoder with K-fold cross-fitting: scores for `stack`, vectors for the vector learners.

For each fold k of the shared fold plan one model is fine-tuned on the other
folds. Its epoch is chosen on a split carved from those training folds, never
on fold k. Model k then scores fold k and the test records and, in eval mode,
gives their last-layer CLS vectors. So every training record's score and vector
come from the one model that never saw its label (no leakage; the seed
notebooks took training vectors from the model just trained on them), and test
scores and vectors are means over the K fold models. The fold loop is
`features.artifacts.crossfit.cross_fit`, the one the learners' `oof_predict` uses.

The model is a bare encoder (``load_encoder(model)``) plus a head
from `extract.heads` rather than ``AutoModelForSequenceClassification``: the
linear and CNN heads then share one code path, and the linear head reads exactly
the CLS vector that is exported.

Under ``torchrun --nproc-per-node N -m screenstack extract --finetune ...`` the
folds train in parallel, whole folds per rank (K independent models, no DDP),
each rank on its own GPU; a fold is claimed before it trains, so none trains
twice, and once all are finished rank 0 assembles the outputs
(`extract.distributed`). Fold k's model depends on the seed and its rows only,
so on CPU the outputs are the bytes of a one-process run.

Files, under OUT:

- ``finetune/NAME/run.json``: what the run is (config, fold plan, data, weights);
  a rerun with another configuration is refused;
- ``finetune/NAME/fold{k}/state.pt``: training state after the last finished
  epoch (weights, optimizer, schedule, RNG), so a killed run resumes there;
  ``weights-e{e}.pt``: the best epoch's weights so far (each with its SHA-256
  beside it, ``.pt.sha256``); both are deleted once
  ``result.npz`` (fold k's logits and vectors, and the test records') marks the
  fold finished, and a finished fold is never retrained (one of these files
  that no longer loads is removed with a warning and its fold trained again,
  `_drop_damaged_folds`); ``claim``: locked
  (``flock``) by the process training the fold, and names it;
- ``learners/NAME/``: OOF and test scores (`features.artifacts.outputs`), NAME =
  ``finetune-<model>-<head>``;
- ``features/NAME.parquet``: the cross-fitted vectors, metadata kind "crossfit".
"""
from __future__ import annotations

import copy
import hashlib
import io
import logging
import math
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from scipy.special import expit
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from ..features.artifacts.atomic import atomic_path, read_json, sha256_file, write_json
from ..features.records.corpus import Corpus, texts
from ..features.artifacts.crossfit import cross_fit
from ..features.errors import ScreenstackError, go_on_with, one_line
from ..features.artifacts.folds import FoldConfig, FoldPlan, make_fold_plan, refuse_other_plan, save_fold_plan
from ..features.artifacts.outputs import (check_reusable, describe_differences, differing_keys, finetune_state,
                                         learner_dir, package_versions, refuse_other_test, write_learner_output)
from ..features.artifacts.records import write_screening_records
from ..features.artifacts.runfolder import RunFolder
from ..features.artifacts.store import is_intact, write_run_vectors
from .distributed import Ranks, from_rank0, rank0_locked, rank_device, train_claimed
from .heads import ScreeningModel, make_head
from .model import autocast, check_max_length, encoder_fingerprint, load_encoder, runtime_precision
from .stage import FEATURES_DIR
from .finetune_config import FinetuneConfig, learner_name
from .finetune_loop import length_grouped_batches, make_optimizer, make_scheduler, predict, steps_per_epoch, tokenize, train_epoch

log = logging.getLogger("screenstack")
CONFIRM_OVER_S = 30 * 60  # on a CPU, runs estimated longer than this need --yes or a "y" at the prompt
@rank0_locked()
def finetune(corpus: Corpus, out: str | Path, config: FinetuneConfig = FinetuneConfig(), *, folds: FoldConfig = FoldConfig(),
             progress: bool = True, confirm: bool | Callable[[str], bool] | None = None) -> tuple[Path, Path]:
    """Fine-tune one model per fold of the shared plan; write scores and cross-fitted vectors.

    Parameters
    ----------
    corpus : training (and test) records
    out : the run's artifacts folder (its fold plan is read, or written first)
    config : model, head and hyper-parameters
    folds : how the fold plan is drawn if OUT has none
    progress : show progress bars
    confirm : on a machine without CUDA, a run estimated to take longer than
        `CONFIRM_OVER_S` goes ahead only if this is True (``--yes``), or a
        callable given the estimate returns True, or (None) the user answers
        "y" at a terminal prompt; with no terminal it stops with a ScreenstackError.

    Returns
    -------
    (learner folder ``OUT/learners/NAME``, feature file ``OUT/features/NAME.parquet``)

    Examples
    --------
    >>> finetune(load_corpus("train.csv", "test.csv"), "artifacts/run1", FinetuneConfig(head="cnn"))  # doctest: +SKIP
    """
    # OUT's plan, or a fresh one that rank 0 writes only once the run goes ahead (a declined long run leaves OUT as it was).
    plan, written = from_rank0(lambda: _plan_of(corpus, out, folds))
    # Before the fine-tuning: the learners in OUT that scored another --test file, this one's too, with its state
    # folder, in one line (this one's outputs made otherwise in another way are refused by `check_reusable`).
    from_rank0(lambda: refuse_other_test(out, corpus))
    return finetune_on_plan(corpus, plan, out, config, progress=progress, confirm=confirm, plan_written=written)


def _plan_of(corpus: Corpus, out: str | Path, folds: FoldConfig) -> tuple[FoldPlan, bool]:
    """OUT's fold plan (another plan is refused, see `refuse_other_plan`) and True, or a fresh one, not yet written, and False."""
    existing = refuse_other_plan(corpus, out, folds)
    return (existing, True) if existing is not None else (make_fold_plan(corpus, folds), False)


def finetune_on_plan(corpus: Corpus, plan: FoldPlan, out: str | Path, config: FinetuneConfig, *, progress: bool = True,
             confirm: bool | Callable[[str], bool] | None = None, plan_written: bool = True) -> tuple[Path, Path]:
    """`finetune` on a given fold plan (whose ids and labels are the corpus's training records); `plan_written`
    False: rank 0 writes it to OUT once the run goes ahead."""
    train, test = corpus.train, corpus.test
    assert (train["id"].to_numpy(dtype=str) == plan.ids.astype(str)).all(), "fold plan rows follow the corpus"
    assert (train["label"].to_numpy(dtype=int) == plan.labels).all(), "fold plan labels are the corpus labels"
    ranks = Ranks.from_env()
    device = rank_device(config.device, ranks)
    precision = runtime_precision(config.precision, device)
    name = learner_name(config)
    loaded = load_encoder(config.model)
    check_max_length(loaded, config.max_length)  # else position ids run past the table: a traceback mid-fold
    if config.grad_checkpointing and not getattr(loaded.model, "supports_gradient_checkpointing", False):
        raise ScreenstackError(f"--grad-checkpointing: {config.model} ({loaded.model.config.model_type}) does not support "
                               "activation checkpointing. Leave the flag out (lower --batch-size to save memory).")
    meta = {"learner": name, "kind": "crossfit", "input": "text", "finetune": config.identity(), "precision": precision,
            "model": config.model, "weights_hash": loaded.weights_hash,
            # the weights alone let a config.json (activation, layer-norm epsilon) or tokenizer edited in place
            # reuse, or resume, folds trained before the edit
            "encoder_fingerprint": encoder_fingerprint(loaded),
            "train_fingerprint": corpus.fingerprint("train"), "test_fingerprint": corpus.fingerprint("test"),
            "name": name, "fold_plan": plan.meta}  # the fold plan is part of what `_claim` ties a run to
    feature_path = Path(out) / FEATURES_DIR / f"{name}.parquet"
    state = finetune_state(out, name)

    def reusable() -> bool:  # on rank 0: its answer, or its refusal, is every rank's
        if check_reusable(out, name, meta, plan, also=(state,)) and is_intact(feature_path):
            return True
        _claim(state, meta, write=False)
        return False

    if from_rank0(reusable):
        log.info("%s: outputs in %s match this configuration, reusing them", name, learner_dir(out, name))
        return learner_dir(out, name), feature_path

    token_ids = tokenize(loaded.tokenizer, texts(train) + texts(test), config.max_length)
    labels = plan.labels.astype(np.float32)
    test_index = np.arange(len(train), len(train) + len(test))
    splits = [(k, tr, va, _inner_split(plan.labels, tr, config)) for k, tr, va in plan.splits()]
    if ranks.main:
        _say_selection_by_loss(plan.labels, splits, config)

    def confirm_and_claim():  # on rank 0, which asks once for all ranks
        _drop_damaged_folds(state, [k for k, *_ in splits])
        if not device.startswith("cuda"):
            _confirm_cpu_run(loaded, token_ids, splits, test_index, state, config, device, precision, confirm, ranks.world)
        # The folders its outputs move into, refused now rather than once every fold is trained.
        RunFolder(out).check_places(f"learners/{name}", FEATURES_DIR)
        if not plan_written:
            save_fold_plan(plan, out)
        _claim(state, meta, write=True)  # only now: a declined run leaves OUT free for another configuration

    from_rank0(confirm_and_claim)

    def train_fold(k: int) -> None:
        _, valid_index, (fit_index, select_index) = by_fold[k]
        _fit_fold(k, loaded, token_ids, labels, fit_index, select_index, valid_index, test_index, state / f"fold{k}",
                  config, device, precision, progress)

    # Every rank trains the folds it claims (`extract.distributed`); once all are finished, rank 0 alone assembles them.
    by_fold = {k: rest for k, *rest in splits}
    train_claimed({k: state / f"fold{k}" for k in by_fold}, lambda folder: (folder / "result.npz").is_file(), train_fold)
    if not ranks.main:
        return learner_dir(out, name), feature_path

    def fold_result(k: int, train_index: np.ndarray, valid_index: np.ndarray):
        """Fold k's scores and vectors, from the result.npz its training wrote (`cross_fit` assembles them)."""
        with np.load(state / f"fold{k}" / "result.npz") as result:
            assert (result["valid_index"] == valid_index).all(), "a fold result belongs to its fold"
            return ((expit(result["valid_logits"].astype(np.float64)), result["valid_vectors"]),
                    (expit(result["test_logits"].astype(np.float64)), result["test_vectors"]))

    (oof, train_vectors), (test_scores, test_vectors) = cross_fit(plan, fold_result, len(test), desc=name, progress=progress)
    vectors = np.concatenate([train_vectors, test_vectors])

    ids = np.concatenate([train["id"].to_numpy(dtype=str), test["id"].to_numpy(dtype=str)])
    # As `extract` describes its vectors (a list of poolings, the forward pass's precision, the file's dtype).
    feature_meta = {**meta, "layers": [-1], "pooling": ["cls"], "max_length": config.max_length, "dtype": precision,
                    "store_dtype": "float32",
                    "fold_models": plan.n_folds, "versions": package_versions(),
                    "note": "train vectors: from the fold model that did not see the record; test vectors: mean over fold models"}
    write_run_vectors(out, feature_path, ids, ["train"] * len(train) + ["test"] * len(test), vectors, feature_meta)
    folder = write_learner_output(out, name, plan, oof, test["id"], test_scores, meta)
    # As fit-learners keeps them beside its learners: `stack` on this learner alone flags the records without text and
    # names each record and its copies in ranked.csv (without it, it said fit-learners had been killed).
    write_screening_records(out, corpus)
    return folder, feature_path


def _claim(state: Path, identity: dict, *, write: bool) -> None:
    """Tie OUT/finetune/NAME to one configuration, so resumed folds never mix two runs."""
    path = state / "run.json"
    if path.is_file():
        try:
            old = read_json(path)
            if not isinstance(old, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as error:  # cut short or edited: which configuration the folds were trained with is lost
            raise ScreenstackError(f"{path}: damaged ({one_line(error)}), and it says which configuration the fold models' "
                                   f"state in {state} was trained with. Delete {state} to start the fine-tuning over, "
                                   "or use a new --out folder.") from None
        keys = differing_keys(old, identity)
        if keys:
            said = describe_differences(keys, old, identity)
            raise ScreenstackError(
                f"{state}: holds the fold models' state of a fine-tuning run of another configuration (differs in: "
                f"{'; '.join(said)}). Use a new --out folder{go_on_with(said)}, or delete that folder to start over.")
    elif write:
        write_json(path, identity)


def _inner_split(labels: np.ndarray, train_index: np.ndarray, config: FinetuneConfig) -> tuple[np.ndarray, np.ndarray]:
    """Split a fold's training rows into rows to fit and rows to choose the epoch on (only their labels are read)."""
    if config.valid_fraction == 0:
        return train_index, train_index[:0]
    y = labels[train_index]
    try:
        fit, select = train_test_split(train_index, test_size=config.valid_fraction, stratify=y, random_state=config.seed)
    except ValueError:  # too few records of a class to stratify: a plain random split
        fit, select = train_test_split(train_index, test_size=config.valid_fraction, random_state=config.seed)
    return np.sort(fit), np.sort(select)


def _say_selection_by_loss(labels: np.ndarray, splits, config: FinetuneConfig) -> None:
    """With ``--select auc``, warn (before any training) of the folds whose epoch-selection rows hold one class only:
    AUC is undefined there, so their epochs are chosen by the loss instead (`_selection_score`). With one epoch
    there is nothing to choose, and nothing to say."""
    if config.select != "auc" or config.epochs == 1:
        return
    by_loss = [k for k, _, _, (_, select) in splits if len(select) and len(np.unique(labels[select])) < 2]
    if by_loss:
        log.warning("--select auc: the epoch-selection rows of fold(s) %s hold no included record (%.0f%% of a fold's "
                    "training part, --valid-fraction %g), so their epochs are chosen by the loss instead; a larger "
                    "--valid-fraction gives them some", ", ".join(map(str, by_loss)), 100 * config.valid_fraction,
                    config.valid_fraction)


def _refuse_diverged(values: np.ndarray, what: str, config: FinetuneConfig, precision: str) -> None:
    """Stop fine-tuning, in one line, where the weights diverged: NaN or infinite losses or scores would otherwise end in
    a metric's ValueError, or in scores no learner can blend."""
    if np.isfinite(values).all():
        return
    lower = f"a lower --lr (now {config.lr:g})" + (", or --dtype fp32" if precision != "fp32" else "")
    raise ScreenstackError(f"{what} {'are' if values.size > 1 else 'is'} NaN or infinite: the fine-tuning diverged. Use "
                           f"{lower}, in a new --out folder (or delete its finetune/ folder to start over).")


def _selection_score(logits: np.ndarray, y: np.ndarray, select: str) -> dict:
    """Loss and AUC on the selection rows; ``score`` is what the best epoch maximises."""
    p = np.clip(expit(logits.astype(np.float64)), 1e-7, 1 - 1e-7)
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    auc = float(roc_auc_score(y, logits)) if 0 < y.sum() < len(y) else None
    return {"select_loss": loss, "select_auc": auc, "score": auc if select == "auc" and auc is not None else -loss}


def _save(obj, path: Path) -> None:
    """`obj` saved to `path` whole or not at all, and its SHA-256 beside it (`_intact`). Serialised in memory first:
    ``torch.save`` onto a full disk raises a RuntimeError from its zip writer, not the OSError that `atomic_path` turns
    into the one-line "disk is full"."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    with atomic_path(_digest_path(path)) as tmp:  # a stop between the two leaves them unequal: the fold starts over
        tmp.write_text(hashlib.sha256(buffer.getbuffer()).hexdigest())


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _intact(path: Path) -> bool:
    """Whether `path` has the SHA-256 `_save` wrote beside it (one saved before 0.3.43, without it, passes): torch.load
    checks no checksum, so a changed byte in a fold's state was resumed from, and the scores changed, without a word."""
    digest = _digest_path(path)
    if not digest.is_file():
        return True
    try:
        return sha256_file(path) == digest.read_text().strip()
    except OSError:
        return False


def _unlink_saved(path: Path) -> None:
    """Remove a file `_save` wrote and its checksum (another process finishing the same fold may have done so first)."""
    path.unlink(missing_ok=True)
    _digest_path(path).unlink(missing_ok=True)


def _rng_state(device: str) -> dict:
    """The RNG states as bytes: ``torch.load(map_location=device)`` moves tensors, never bytes (see `_restore_rng`)."""
    state = {"cpu": bytes(torch.get_rng_state().numpy())}
    if device.startswith("cuda"):
        state["cuda"] = bytes(torch.cuda.get_rng_state(torch.device(device)).numpy())
    return state


def _restore_rng(rng: dict, device: str) -> None:
    """Set the RNG states `_rng_state` saved.

    ``torch.set_rng_state`` takes only a CPU byte tensor; saved as a tensor, the
    state came back on the GPU from ``torch.load(map_location="cuda")`` and the
    resume crashed. Tensors (state.pt files written before) are moved back.
    """
    def cpu_bytes(value):
        return torch.frombuffer(bytearray(value), dtype=torch.uint8) if isinstance(value, bytes) else value.cpu()

    torch.set_rng_state(cpu_bytes(rng["cpu"]))
    if "cuda" in rng and device.startswith("cuda"):
        torch.cuda.set_rng_state(cpu_bytes(rng["cuda"]), torch.device(device))


def _build(loaded, config: FinetuneConfig, device: str) -> ScreeningModel:
    model = ScreeningModel(copy.deepcopy(loaded.model), make_head(config.head, loaded.model.config.hidden_size, config.head_params()))
    if config.grad_checkpointing:
        enable = getattr(model.encoder, "activation_checkpointing_enable", None) or model.encoder.gradient_checkpointing_enable
        enable()
    return model.to(device)


def _fit_fold(k, loaded, token_ids, labels, fit_index, select_index, valid_index, test_index, folder: Path,
              config: FinetuneConfig, device: str, precision: str, progress: bool) -> None:
    """Train fold k's model (resuming from its last finished epoch), then write its predictions to result.npz."""
    torch.manual_seed(config.seed + k)  # fold k depends on the seed and its own training rows only, not on earlier folds
    model = _build(loaded, config, device)
    optimizer = make_optimizer(model, config.lr, config.weight_decay, device)
    total_steps = config.epochs * steps_per_epoch(len(fit_index), config.batch_size, config.grad_accum)
    scheduler = make_scheduler(optimizer, total_steps, config.warmup_ratio)
    scaler = torch.amp.GradScaler(device.split(":")[0], enabled=precision == "fp16")
    history, best, start = [], {"epoch": -1, "score": -math.inf}, 0
    state_path = folder / "state.pt"
    if state_path.is_file():
        state = torch.load(state_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        history, best, start = state["history"], state["best"], state["epoch"] + 1
        _restore_rng(state["rng"], device)
        log.info("fold %d: resuming after epoch %d", k, start)
    runner = torch.compile(model, dynamic=True) if config.compile else model
    lengths = np.array([len(t) for t in token_ids])
    pad_id = loaded.tokenizer.pad_token_id or 0
    for epoch in range(start, config.epochs):
        if config.patience is not None and epoch - best["epoch"] > config.patience:
            break
        began = time.perf_counter()
        rng = np.random.default_rng([config.seed, k, epoch])
        batches = [fit_index[b] for b in length_grouped_batches(lengths[fit_index], config.batch_size, rng)]
        loss = train_epoch(runner, model, batches, token_ids, labels, optimizer, scheduler, scaler, config, device, precision,
                           pad_id=pad_id, desc=f"fold {k} epoch {epoch + 1}", progress=progress)
        record = {"epoch": epoch, "train_loss": loss, "lr_end": scheduler.get_last_lr()[0]}
        _refuse_diverged(np.array([loss]), f"fold {k} epoch {epoch + 1}: the training loss", config, precision)
        if len(select_index):
            logits, _ = predict(runner, token_ids, select_index, config.eval_batch_size, pad_id, device, precision,
                                config.max_length)
            _refuse_diverged(logits, f"fold {k} epoch {epoch + 1}: the scores of the epoch-selection rows", config, precision)
            record.update(_selection_score(logits, labels[select_index], config.select))
        record["seconds"] = time.perf_counter() - began
        history.append(record)
        if not len(select_index) or record["score"] > best["score"]:
            best = {"epoch": epoch, "score": record.get("score", 0.0)}
            _save(model.state_dict(), folder / f"weights-e{epoch}.pt")
        _save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
               "scaler": scaler.state_dict(), "history": history, "best": best, "rng": _rng_state(device),
               "config": asdict(config)}, state_path)
        # Said once the epoch is saved: a run stopped after this line resumes after this epoch, not before it.
        log.info("fold %d epoch %d: %s (saved)", k, epoch + 1,
                 ", ".join(f"{key} {v:.4g}" for key, v in record.items() if isinstance(v, float)))
        for stale in folder.glob("weights-e*.pt"):
            if stale.name != f"weights-e{best['epoch']}.pt":
                _unlink_saved(stale)

    model.load_state_dict(torch.load(folder / f"weights-e{best['epoch']}.pt", map_location=device, weights_only=True))
    valid_logits, valid_vectors = predict(runner, token_ids, valid_index, config.eval_batch_size, pad_id, device, precision,
                                          config.max_length)
    test_logits, test_vectors = predict(runner, token_ids, test_index, config.eval_batch_size, pad_id, device, precision,
                                          config.max_length)
    for values, what in ((valid_logits, "scores"), (valid_vectors, "vectors"), (test_logits, "test scores"),
                         (test_vectors, "test vectors")):
        _refuse_diverged(values, f"fold {k}: its model's {what}", config, precision)
    write_json(folder / "history.json", {"fold": k, "best_epoch": best["epoch"], "epochs": history, "device": device,
                                         "precision": precision, "n_fit": len(fit_index), "n_select": len(select_index)})
    with atomic_path(folder / "result.npz") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, valid_index=valid_index, valid_logits=valid_logits, valid_vectors=valid_vectors,
                 test_logits=test_logits, test_vectors=test_vectors)
    for path in [state_path, *folder.glob("weights-e*.pt")]:
        _unlink_saved(path)


RESULT_KEYS = ("valid_index", "valid_logits", "valid_vectors", "test_logits", "test_vectors")
STATE_KEYS = ("epoch", "model", "optimizer", "scheduler", "scaler", "history", "best", "rng")


def _drop_damaged_folds(state: Path, folds: list[int]) -> None:
    """Remove, with a warning naming it, a fold's ``result.npz`` or ``state.pt`` that does not load (a disk that
    filled, a copy cut short): the fold is trained again, from its first epoch where its state is the damaged file,
    instead of a traceback where the file is read. Each loads in full here, so what passes is what training reads."""
    for k in folds:
        folder = state / f"fold{k}"
        result, saved = folder / "result.npz", folder / "state.pt"
        if result.is_file():
            try:
                with np.load(result) as loaded:
                    [loaded[key] for key in RESULT_KEYS]
                for path in [saved, *folder.glob("weights-e*.pt"), *folder.glob("*.pt.sha256")]:
                    path.unlink(missing_ok=True)  # left by a stop between result.npz and the cleanup: the fold is done
                continue
            except Exception as error:  # zipfile, pickle and numpy raise a dozen kinds for a cut or altered file
                warnings.warn(f"{result}: damaged ({one_line(error)}): fold {k} is trained again.", stacklevel=3)
                result.unlink(missing_ok=True)
        if not saved.is_file():
            continue
        checked = saved
        try:
            if not _intact(saved):
                raise ValueError("its bytes differ from the checksum saved with it")
            found = torch.load(saved, map_location="cpu", weights_only=True)
            if not (isinstance(found, dict) and all(key in found for key in STATE_KEYS)):
                raise ValueError("not a fold's training state")
            if found["best"]["epoch"] >= 0:  # the best epoch's weights, which the fold's predictions are made with
                checked = folder / f"weights-e{found['best']['epoch']}.pt"
                if not _intact(checked):
                    raise ValueError("its bytes differ from the checksum saved with it")
                torch.load(checked, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises RuntimeError, EOFError, OSError or pickle's errors for a cut file
            warnings.warn(f"{checked}: damaged ({one_line(error)}): fold {k} starts again from its first epoch.", stacklevel=3)
            for path in [saved, *folder.glob("weights-e*.pt")]:
                _unlink_saved(path)


def _confirm_cpu_run(loaded, token_ids, splits, test_index, state: Path, config: FinetuneConfig, device: str, precision: str,
                     confirm, world: int = 1) -> None:
    """Estimate the remaining work from two measured training steps; ask before a long run on a CPU.

    With `world` ranks the folds still to train are shared out, so the wall time is divided by min(world, folds to go).
    """
    lengths = np.array([len(t) for t in token_ids])
    train_tokens = predict_tokens = pending = 0
    for k, _, valid_index, (fit_index, select_index) in splits:
        folder = state / f"fold{k}"
        if (folder / "result.npz").is_file():
            continue
        done = torch.load(folder / "state.pt", mmap=True, weights_only=True)["epoch"] + 1 if (folder / "state.pt").is_file() else 0
        epochs = config.epochs - done
        pending += 1
        train_tokens += epochs * int(lengths[fit_index].sum())
        predict_tokens += epochs * int(lengths[select_index].sum()) + int(lengths[valid_index].sum() + lengths[test_index].sum())
    if not train_tokens:
        return
    width = int(np.clip(np.median(lengths), 8, config.max_length))
    model = _build(loaded, config, device).train()
    tokens_per_s = 0.0
    for batch in (1, 2):  # the first step warms up; the second is timed
        ids = torch.full((batch, width), loaded.tokenizer.cls_token_id or 0, dtype=torch.long, device=device)
        began = time.perf_counter()
        with autocast(device, precision):
            logits, _ = model(ids, torch.ones_like(ids))
        logits.float().sum().backward()
        tokens_per_s = batch * width / (time.perf_counter() - began)
    del model
    # A forward pass is about a third of a training step's work.
    parallel = min(world, pending)
    seconds = (train_tokens / tokens_per_s + predict_tokens / (3 * tokens_per_s)) / parallel
    estimate = (f"fine-tuning {config.model} on {device}{f' with {world} ranks ({parallel} folds at a time)' if world > 1 else ''} "
                f"would take about "
                f"{_duration(seconds)} ({train_tokens:,} training tokens to go at a measured {tokens_per_s:,.0f} tokens/s"
                f"{' per rank' if world > 1 else ''})")
    if seconds <= CONFIRM_OVER_S or confirm is True:
        log.info("%s", estimate)  # said here only: the question or the refusal below says it otherwise (it was said twice)
        return
    advice = "Run it on a CUDA GPU, use fewer --epochs or a smaller --model, or pass --yes to run it here anyway."
    if callable(confirm):
        agreed = confirm(f"{estimate}. Continue?")
    elif confirm is None and sys.stdin is not None and sys.stdin.isatty():
        agreed = input(f"{estimate}. Continue? [y/N] ").strip().lower() in ("y", "yes")
    else:
        raise ScreenstackError(f"{estimate}. {advice}")
    if not agreed:
        raise ScreenstackError(f"stopped: {estimate}. {advice}")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 48 * 3600 else f"{seconds / 86400:.1f} days"
