"""`FinetuneConfig`: the settings of `extract --finetune`, checked on construction.

Apart from `extract.finetune` (which loads torch) so that `extract` and `run` check every fine-tuning
option, with or without ``--finetune``, without loading torch: a bad value fails in one line at once.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

from ..features.artifacts.sets import FINETUNED_PREFIX
from ..features.errors import ScreenstackError
from .model import DEFAULT_MODEL, check_precision
from .stage import short_name

# The names in `extract.heads.HEADS`, whose module loads torch (tests/test_cli_startup.py checks the two agree).
HEAD_NAMES = ("cnn", "linear")
# Fields that change speed or memory, not the model: a resumed run may change them.
RUNTIME_FIELDS = ("device", "compile", "grad_checkpointing", "eval_batch_size")


def default_select(valid_fraction: float) -> str:
    """What picks the best epoch where --select is not given: ROC-AUC, or the loss where no rows judge an epoch
    (--valid-fraction 0 keeps the last epoch, so an explicit auc there is refused, not this default)."""
    return "auc" if valid_fraction > 0 else "loss"


@dataclass(frozen=True)
class FinetuneConfig:
    """Everything that decides a fine-tuning run; saved in every artifact's metadata.

    Batch 16, 3 epochs and 512 tokens follow the seed notebooks, plus linear
    warm-up and decay, weight decay and gradient clipping. The rest was chosen on
    the protocol (bench/README.md "Fine-tuning on the protocol"): lr 5e-5 (the
    notebooks' 2e-5 barely moves a small encoder in 3 epochs), an included
    record's loss weighted 10 times (reviews hold 1-30% included records), and
    the best epoch picked by ROC-AUC; together they lifted the fine-tuned
    classifier's held-out AUC from 0.65 to 0.82 on 37 halves.
    ``valid_fraction`` of each fold's training part (stratified) picks the best
    epoch by ``select`` (``loss`` or ``auc``; None: ``auc``, or ``loss`` where
    ``valid_fraction`` is 0, since no rows judge an epoch); 0 keeps the last epoch.
    ``patience`` stops a fold after that many epochs without improvement.
    ``precision`` ``auto`` is bf16 (fp16 where bf16 is missing) on CUDA, fp32 elsewhere.
    Every value is checked here, infinities and NaN included, so a bad flag or
    TOML key fails in one line naming the flag, before any work; ``max_length``
    is checked against the model's positions once it is loaded.
    """

    model: str = DEFAULT_MODEL
    head: str = "linear"
    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 16
    grad_accum: int = 1
    max_length: int = 512
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    dropout: float = 0.1
    pos_weight: float = 10.0
    cnn_channels: int = 256
    cnn_kernel: int = 5
    valid_fraction: float = 0.1
    select: Literal["loss", "auc"] | None = None
    patience: int | None = None
    seed: int = 0
    precision: str = "auto"
    device: str = "auto"
    grad_checkpointing: bool = False
    compile: bool = False
    eval_batch_size: int = 64

    def __post_init__(self):
        def bad(flag, value, need):
            raise ScreenstackError(f"--{flag.replace('_', '-')} {value!r}: {need}.")

        if self.head not in HEAD_NAMES:
            bad("head", self.head, f"unknown head; available: {', '.join(HEAD_NAMES)}")
        for flag in ("epochs", "batch_size", "grad_accum", "max_length", "eval_batch_size", "cnn_channels", "cnn_kernel", "seed"):
            value = getattr(self, flag)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if flag == "seed" else 1):
                bad(flag, value, "needs an integer >= " + ("0" if flag == "seed" else "1"))
        # Each check is written so that NaN fails it (every comparison with NaN is False); inf fails isfinite.
        for flag, ok, need in (("lr", lambda v: v > 0, "a number > 0"), ("pos_weight", lambda v: v > 0, "a number > 0"),
                               ("max_grad_norm", lambda v: v > 0, "a number > 0"), ("weight_decay", lambda v: v >= 0, "a number >= 0"),
                               ("warmup_ratio", lambda v: 0 <= v <= 1, "a fraction in [0, 1]"),
                               ("dropout", lambda v: 0 <= v < 1, "a fraction in [0, 1)"),
                               ("valid_fraction", lambda v: 0 <= v < 0.5, "a fraction in [0, 0.5); 0 keeps the last epoch")):
            value = getattr(self, flag)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not ok(value):
                bad(flag, value, f"needs {need}")
        if self.cnn_kernel % 2 == 0:
            bad("cnn_kernel", self.cnn_kernel, "needs an odd integer >= 1, so convolution outputs align with tokens")
        if self.select is None:  # frozen: set once here, so the value saved in every artifact is the one used
            object.__setattr__(self, "select", default_select(self.valid_fraction))
        if self.select not in ("loss", "auc"):
            bad("select", self.select, "expected loss or auc")
        if self.patience is not None and (isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 1):
            bad("patience", self.patience, "needs an integer >= 1 (leave it out to run every epoch)")
        if self.valid_fraction == 0 and self.patience is not None:  # no epoch is judged: patience would never stop one
            bad("patience", self.patience, "needs --valid-fraction above 0 (the rows that judge each epoch); with 0 every "
                "epoch runs and the last is kept")
        if self.valid_fraction == 0 and self.select != "loss":
            bad("select", self.select, "needs --valid-fraction above 0 (the rows that judge each epoch); with 0 the last "
                "epoch is kept")
        if self.precision != "auto":
            check_precision(self.precision)

    def head_params(self) -> dict:
        return {"dropout": self.dropout, "channels": self.cnn_channels, "kernel_size": self.cnn_kernel}

    def identity(self) -> dict:
        """The fields that decide the outputs (all but `RUNTIME_FIELDS`)."""
        return {k: v for k, v in asdict(self).items() if k not in RUNTIME_FIELDS}


def learner_name(config: FinetuneConfig) -> str:
    """``finetune-<model short name>-<head>``, e.g. ``finetune-biomednlp-pubmedbert-base-uncased-abstract-linear``."""
    return f"{FINETUNED_PREFIX}{short_name(config.model)}-{config.head}"
