"""The fine-tuning loop: tokens, length-grouped batches, one training epoch, prediction.

Kept apart from `extract.finetune` (cross-fitting, checkpoints, outputs) so the
benchmark in ``bench/finetune.py`` times exactly the code a run uses.
Training batches are padded to their longest record, not to ``max_length``:
with length-grouped batches that removes most padding. `predict` pads each
record to its own width, as `extract.encode` does, so its outputs do not depend
on the batch size. Every forward pass runs under the one autocast context of
`extract.model.autocast`.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from tqdm.auto import tqdm

from .encode import batch_widths, pad_token_ids
from .model import autocast


def tokenize(tokenizer, texts: list[str], max_length: int, chunk: int = 4096) -> list[np.ndarray]:
    """Token ids per text, truncated to `max_length`, as int32 arrays (Python int lists cost ~9x the memory)."""
    out = []
    for start in range(0, len(texts), chunk):
        encoded = tokenizer(texts[start:start + chunk], truncation=True, max_length=max_length)["input_ids"]
        out += [np.asarray(ids, dtype=np.int32) for ids in encoded]
    return out


def length_grouped_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, group: int = 50) -> list[np.ndarray]:
    """Batches of positions into `lengths`: shuffled, then sorted by length within groups of `group` batches.

    Records of similar length share a batch (little padding) while the batch
    order stays random. The batch holding the longest record goes first, so a
    batch size that does not fit in memory fails at once, not hours in.
    """
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * group):
        chunk = order[start:start + batch_size * group]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    batches = [batches[i] for i in rng.permutation(len(batches))]
    longest = int(np.argmax([lengths[b].max() for b in batches])) if batches else 0
    return batches[longest:longest + 1] + batches[:longest] + batches[longest + 1:]


def collate(token_ids: list[np.ndarray], index, pad_id: int, device: str, width: int | None = None):
    """(input_ids, attention_mask) for the records in `index`, padded to the longest (or to `width`)."""
    width = width or max(len(token_ids[i]) for i in index)
    ids, mask = pad_token_ids([token_ids[i] for i in index], width, pad_id)
    return torch.from_numpy(ids).to(device, non_blocking=True), torch.from_numpy(mask).to(device, non_blocking=True)


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, device: str) -> torch.optim.Optimizer:
    """AdamW; biases and LayerNorm weights (the 1-d parameters) are not decayed."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, fused=device.startswith("cuda") or None)


def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_ratio`` of the optimizer steps, then linear decay to 0."""
    warmup = int(round(warmup_ratio * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_epoch(runner, model, batches, token_ids, labels: np.ndarray, optimizer, scheduler, scaler, config, device: str,
                precision: str, *, pad_id: int, desc: str = "train", progress: bool = True) -> float:
    """One pass over `batches` (arrays of record positions); returns the mean training loss.

    `runner` is `model` or its ``torch.compile`` wrapper; gradients are
    clipped on `model`'s parameters. Every ``config.grad_accum`` batches (and at
    the end of the epoch) the optimizer and the schedule take one step.
    """
    runner.train()
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(config.pos_weight, device=device))
    total, count = torch.zeros((), device=device), 0
    optimizer.zero_grad(set_to_none=True)
    for step, index in enumerate(tqdm(batches, desc=desc, unit="batch", leave=False, disable=not progress)):
        ids, mask = collate(token_ids, index, pad_id, device)
        target = torch.as_tensor(labels[index], dtype=torch.float32).to(device, non_blocking=True)
        with autocast(device, precision):
            logits, _ = runner(ids, mask)
        loss = loss_fn(logits.float(), target)
        group_start = step - step % config.grad_accum
        group_size = min(config.grad_accum, len(batches) - group_start)
        scaler.scale(loss / group_size).backward()
        if step - group_start + 1 == group_size:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            with warnings.catch_warnings():  # fp16: the scaler skips a step whose gradients overflowed, by design; torch
                warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step\\(\\)` before")  # calls it a mistake
                scheduler.step()
        total += loss.detach() * len(index)
        count += len(index)
    return float(total) / max(count, 1)


@torch.inference_mode()
def predict(runner, token_ids, index: np.ndarray, batch_size: int, pad_id: int, device: str, precision: str, limit: int):
    """Logits and last-layer CLS vectors (float32, in `index` order) in eval mode, longest records first.

    Each record is padded to its own width (`extract.encode.batch_widths`: its
    token count rounded up to a multiple of 16, at most `limit`, the run's
    ``max_length``) and batched only with records of that width, at most
    `batch_size` at a time, as `encode` batches frozen vectors: padded to its
    batch's longest, a record's logit and vector moved by up to 1e-6 with its
    neighbours, so ``--eval-batch-size`` changed the bytes of a fine-tuning's
    outputs (helper-177).
    """
    runner.eval()
    index = np.asarray(index)
    widths = batch_widths([len(token_ids[i]) for i in index], limit)
    logits, vectors = np.empty(len(index), dtype=np.float32), None
    for rows in same_width_batches(widths, batch_size):
        ids, mask = collate(token_ids, index[rows], pad_id, device, width=int(widths[rows[0]]))
        with autocast(device, precision):
            batch_logits, cls = runner(ids, mask)
        if vectors is None:
            vectors = np.empty((len(index), cls.shape[1]), dtype=np.float32)
        logits[rows] = batch_logits.float().cpu().numpy()
        vectors[rows] = cls.float().cpu().numpy()
    if vectors is None:  # no records: keep the width known from the model
        vectors = np.empty((0, model_width(runner)), dtype=np.float32)
    return logits, vectors


def same_width_batches(widths: np.ndarray, size: int) -> list[np.ndarray]:
    """Positions into `widths`, widest first, in batches of at most `size` that share one width.

    >>> [b.tolist() for b in same_width_batches(np.array([16, 32, 16, 16]), 2)]
    [[1], [0, 2], [3]]
    """
    order = np.argsort(-np.asarray(widths), kind="stable")
    runs = np.split(order, np.flatnonzero(np.diff(np.asarray(widths)[order])) + 1)
    return [run[i:i + size] for run in runs for i in range(0, len(run), size)]


def model_width(runner) -> int:
    model = getattr(runner, "_orig_mod", runner)
    return int(model.encoder.config.hidden_size)


def steps_per_epoch(n_records: int, batch_size: int, grad_accum: int) -> int:
    return math.ceil(math.ceil(n_records / batch_size) / grad_accum)
