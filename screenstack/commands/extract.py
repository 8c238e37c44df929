"""`screenstack extract`: a frozen encoder's pooled hidden-layer vectors of every record, to a Parquet feature file."""
from __future__ import annotations

import argparse
import logging
import warnings
from contextlib import contextmanager

from ..extract.distributed import Ranks
from ..extract.model import DEFAULT_MODEL, PRECISIONS
from ..extract.pooling import POOLINGS, layers_text, parse_layers
from ..extract.stage import CACHE_ENV, STORE_DTYPES, ExtractConfig
from ._common import (DEFAULT_FOLDS, DEFAULT_SEED, add_corpus_options, add_fold_options, add_out_option, corpus_from_args, fold_config, model_as_recorded,
                      show_configs, split_list)

# The command line's spelling of `ExtractConfig`'s defaults (last4, mean).
DEFAULT_LAYERS, DEFAULT_POOLING = layers_text(ExtractConfig.layers), ",".join(ExtractConfig.pooling)

EXAMPLE = f"""examples:
  screenstack extract --train data/cohen/train.csv --test data/cohen/test.csv --model minilm --out artifacts/run1
  screenstack extract --data data/asreview_export.csv --model minilm --out artifacts/review   # one partly screened file
  screenstack extract --train data/cohen/train.csv --test data/cohen/test.csv --model minilm --dtype bf16 \\
      --out artifacts/run1     # ~1.5x faster on CPUs with AVX-512 BF16 (the default, auto, is bf16 on GPUs)
  screenstack extract --train data/train.csv --test data/test.csv --model {DEFAULT_MODEL} \\
      --layers -1,-2,-3,-4 --pooling cls,mean --max-length 512 --out artifacts/run1
  screenstack extract --finetune --model minilm --head cnn --epochs 3 \\
      --train data/train.csv --test data/test.csv --out artifacts/run1     # cross-fitted fine-tuning
  screenstack extract --finetune --model minilm --pos-weight 5 --patience 1 --epochs 6 \\
      --train data/train.csv --test data/test.csv --out artifacts/run2     # weighted loss, early stop
  torchrun --nproc-per-node 8 -m screenstack extract --finetune --model {DEFAULT_MODEL} \\
      --train data/train.csv --test data/test.csv --out artifacts/run1     # 8 GPUs: whole folds per GPU

The file is written to OUT/features/<model>-<hash>.parquet (the path is printed); `screenstack
fit-learners --out OUT` reads it when it is the only one there (else name it with --features). The same
command again reuses it. --model takes a Hugging Face
name (downloaded once, then read from its cache), a local folder, or `minilm` (all-MiniLM-L6-v2,
bundled: works offline). Vectors are cached per text under --cache-dir, so an interrupted run
continues where it stopped and a grown corpus encodes only its new texts.
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "extract", help="encode records into pooled transformer vectors (Parquet)", description=__doc__, epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_corpus_options(parser)
    add_out_option(parser)
    add_fold_options(parser)
    add_extract_options(parser)
    add_finetune_options(parser)
    parser.set_defaults(func=command)


def add_extract_options(parser: argparse.ArgumentParser) -> None:
    """The options of `ExtractConfig` (also offered by `screenstack run`)."""
    group = parser.add_argument_group("vectors")
    group.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME|DIR",
                       help=f"Hugging Face name, local folder, or minilm (bundled) (default {DEFAULT_MODEL})")
    group.add_argument("--layers", default=DEFAULT_LAYERS, metavar="LIST",
                       help=f"hidden layers to pool, concatenated: -1 is the last; lastN = -1..-N (default {DEFAULT_LAYERS}; up to 0.3.24: -1)")
    group.add_argument("--pooling", default=DEFAULT_POOLING, metavar="NAMES",
                       help=f"comma-separated poolings, concatenated (available: {', '.join(sorted(POOLINGS))}; default {DEFAULT_POOLING}; up to 0.3.24: cls,mean)")
    group.add_argument("--max-length", type=int, default=512, metavar="N", help="truncate texts to N tokens (default 512)")
    group.add_argument("--store-dtype", default="float32", choices=STORE_DTYPES, help="dtype in the file (default float32)")
    speed = parser.add_argument_group("speed")
    speed.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    speed.add_argument("--dtype", default="auto", choices=("auto", *PRECISIONS),
                       help="forward-pass precision (default auto: bf16 on a CUDA GPU, else fp32); on CPUs with "
                            "AVX-512 BF16, bf16 is ~1.5x faster than fp32, vectors within cosine 0.9999")
    speed.add_argument("--batch-tokens", default="auto", metavar="N|auto", help="token budget per batch (default auto)")
    speed.add_argument("--cache-dir", metavar="DIR", help=f"per-text vector cache (default ${CACHE_ENV}, else OUT/../.cache)")
    speed.add_argument("--chunk-size", type=int, default=256, metavar="N", help="texts encoded between two saves to the cache, which an interrupted run keeps (default 256)")


def extract_config(args: argparse.Namespace) -> ExtractConfig:
    """`ExtractConfig` from the options `add_extract_options` added."""
    return ExtractConfig(
        model=args.model, layers=parse_layers(str(args.layers)), pooling=split_list(args.pooling, "--pooling"), max_length=args.max_length,
        dtype=args.dtype, store_dtype=args.store_dtype, batch_tokens=args.batch_tokens, device=args.device,
        cache_dir=args.cache_dir, chunk_size=args.chunk_size,
    )


def add_finetune_options(parser: argparse.ArgumentParser) -> None:
    """The options of `FinetuneConfig` (also offered by `screenstack run`)."""
    group = parser.add_argument_group("fine-tuning (--finetune: one model per fold of the shared plan, cross-fitted)")
    # --no-finetune (and the others' --no-) undoes a --config file's true: `run --config OUT/config.toml --no-finetune`.
    group.add_argument("--finetune", action=argparse.BooleanOptionalAction, default=False,
                       help="fine-tune --model per fold first; writes a learner (OOF + test scores) and cross-fitted CLS vectors "
                            "(--no-finetune: not, where a --config file says finetune = true)")
    group.add_argument("--head", default="linear", help="classification head: linear or cnn (default linear)")
    group.add_argument("--epochs", type=int, default=3, help="epochs per fold (default 3)")
    group.add_argument("--lr", type=float, default=5e-5, help="AdamW learning rate (default 5e-5)")
    group.add_argument("--batch-size", type=int, default=16, help="records per optimiser step before accumulation (default 16)")
    group.add_argument("--grad-accum", type=int, default=1, help="batches accumulated per optimiser step (default 1)")
    group.add_argument("--warmup-ratio", type=float, default=0.1, help="share of steps with linear warm-up, then linear decay (default 0.1)")
    group.add_argument("--valid-fraction", type=float, default=0.1,
                       help="share of each fold's training part that picks the best epoch (default 0.1; 0 keeps the last)")
    group.add_argument("--select", choices=("loss", "auc"),
                       help="what picks the best epoch (default auc; loss with --valid-fraction 0, where the last epoch is kept)")
    group.add_argument("--patience", type=int, metavar="N",
                       help="stop a fold after N epochs without a better --select score (default: run every epoch)")
    group.add_argument("--pos-weight", type=float, default=10.0, metavar="W",
                       help="weight of an included record in the loss (default 10; 1 weighs every record alike)")
    group.add_argument("--weight-decay", type=float, default=0.01, metavar="X", help="AdamW weight decay, not on biases and norms (default 0.01)")
    group.add_argument("--max-grad-norm", type=float, default=1.0, metavar="X", help="clip gradients to this norm (default 1.0)")
    group.add_argument("--dropout", type=float, default=0.1, metavar="P", help="dropout before the head's layers (default 0.1)")
    group.add_argument("--cnn-channels", type=int, default=256, metavar="N", help="--head cnn: convolution channels (default 256)")
    group.add_argument("--cnn-kernel", type=int, default=5, metavar="N", help="--head cnn: odd kernel width in tokens (default 5)")
    group.add_argument("--eval-batch-size", type=int, default=64, metavar="N",
                       help="records per batch when scoring and embedding: memory and speed only (on a CPU the outputs are the same bytes) (default 64)")
    group.add_argument("--grad-checkpointing", action=argparse.BooleanOptionalAction, default=False,
                       help="trade compute for memory (--no-grad-checkpointing: not, where a --config file turns it on)")
    group.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                       help="torch.compile the model (worth it on a GPU; --no-compile: not, where a --config file turns it on)")
    group.add_argument("--yes", action="store_true", help="do not ask before a long fine-tuning run on a CPU")


def finetune_config(args: argparse.Namespace):
    """`FinetuneConfig` from the options `add_finetune_options` and `add_extract_options` added."""
    from ..extract.finetune_config import FinetuneConfig  # light: no torch

    from dataclasses import replace

    # The fine-tuned learner's configuration names a model folder as config.toml does (`model_as_recorded`): typed
    # otherwise, `run --config` from another folder was refused as another --model.
    config = FinetuneConfig(
        model=model_as_recorded(args.model), head=args.head, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
        grad_accum=args.grad_accum, max_length=args.max_length, warmup_ratio=args.warmup_ratio,
        valid_fraction=args.valid_fraction, select=args.select, patience=args.patience, pos_weight=args.pos_weight,
        weight_decay=args.weight_decay, max_grad_norm=args.max_grad_norm, dropout=args.dropout, cnn_channels=args.cnn_channels,
        cnn_kernel=args.cnn_kernel, eval_batch_size=args.eval_batch_size, seed=args.seed, precision=args.dtype,
        device=args.device, grad_checkpointing=args.grad_checkpointing, compile=args.compile,
    )
    if config.head != "cnn":  # checked above, unused by this head (said so): recorded as the defaults, so a rerun
        # with or without them reuses the fine-tuning
        config = replace(config, cnn_channels=FinetuneConfig.cnn_channels, cnn_kernel=FinetuneConfig.cnn_kernel)
    return config


def configs(args: argparse.Namespace) -> tuple:
    """``(folds, extract, finetune)``, validated: both encoder configs, whichever ``--finetune`` picks, so that
    a bad value of an option the chosen path does not use (``--batch-size 0`` without ``--finetune``) is still
    refused rather than kept unnoticed in a command or config file that a later run with ``--finetune`` repeats."""
    return fold_config(args), extract_config(args), finetune_config(args)


# `FinetuneConfig` fields that also serve the frozen vectors or the fold plan; the others are fine-tuning's alone, and
# named as options of the same names.
SHARED_WITH_EXTRACT = ("model", "max_length", "seed", "precision", "device")
# The same options as `ExtractConfig` names them (precision is --dtype): those a fine-tuning reads where no vectors are made.
FINETUNE_READS = ("model", "max_length", "dtype", "device")


def said_options(args: argparse.Namespace, given: list[str]) -> tuple[str, str]:
    """``("--a, --b", " (--b as FILE sets it)")``: options `given` (dest names), and which of them a --config file set
    ("" where none did)."""
    flags = ", ".join("--" + name.replace("_", "-") for name in given)
    from_file = [name for name in given if name in getattr(args, "config_keys", {})]
    named = "" if len(from_file) == len(given) else ", ".join("--" + name.replace("_", "-") for name in from_file) + " "
    return flags, (f" ({named}as {args.config} sets {'them' if len(from_file) > 1 else 'it'})" if from_file else "")


def warn_unused_finetune_options(args: argparse.Namespace) -> None:
    """Without ``--finetune``, say which fine-tuning options were given (on the command line or in a --config file) and
    are not used: a run with ``--epochs 5`` but no ``--finetune`` went ahead without a word. With it, the same for the
    cnn head's options under another head."""
    from dataclasses import fields

    from ..extract.finetune_config import FinetuneConfig, default_select  # light: no torch

    defaults = FinetuneConfig()
    # --select's default follows --valid-fraction (loss at 0, as a config.toml written under 0 holds it)
    default = {f.name: getattr(defaults, f.name) for f in fields(FinetuneConfig)}
    default["select"] = default_select(args.valid_fraction)
    given = [name for name, value in default.items()
             if name not in SHARED_WITH_EXTRACT and getattr(args, name, None) not in (None, value)]
    config_keys = getattr(args, "config_keys", {})
    if "finetune" in getattr(args, "config_overridden", ()):
        # `--no-finetune` over a fine-tuned run's config.toml: its fine-tuning options are that run's record, turned off
        given = [name for name in given if name not in config_keys]
    if not args.finetune and given:
        # A run's config.toml records every option, the fine-tuning defaults of its version too (0.3.25's lr = 2e-05):
        # read back, they are the file's values, not the user's, and --finetune would fine-tune with them.
        flags, source = said_options(args, given)
        kind = "fine-tuning options" if len(given) > 1 else "a fine-tuning option"
        warnings.warn(f"{flags}: {kind}{source}, not used without --finetune (add --finetune to fine-tune "
                      f"with {'them' if len(given) > 1 else 'it'}).", stacklevel=2)
    cnn = [name for name in given if name.startswith("cnn_")]
    if args.finetune and cnn and getattr(args, "head", defaults.head) != "cnn":
        # Recorded with the run all the same, so a rerun without them is refused as another configuration: said now.
        flags = " and ".join("--" + name.replace("_", "-") for name in cnn)
        warnings.warn(f"{flags}: for --head cnn, not used with --head {getattr(args, 'head', defaults.head)}: the "
                      "fine-tuning runs, and is reused, as without them (add --head cnn to use them).", stacklevel=2)


def warn_unused(args: argparse.Namespace) -> None:
    """Say which options given this command does not use, as their values are still checked (`configs`)."""
    warn_unused_finetune_options(args)
    # By value, not spelling: -1,-2,-3,-4 is the default last4 (the values were checked before this is called).
    if args.finetune and (parse_layers(str(args.layers)) != ExtractConfig.layers
                          or split_list(args.pooling, "--pooling") != ExtractConfig.pooling):
        warnings.warn("--layers and --pooling are for frozen vectors: fine-tuned vectors are what the fine-tuning head "
                      "reads (recorded in the feature file's metadata), so these values are not used.", stacklevel=2)
    if not args.finetune and (args.folds != DEFAULT_FOLDS or args.seed != DEFAULT_SEED):
        warnings.warn("--folds and --seed are not used without --finetune: frozen vectors do not depend on the fold "
                      "plan, which fit-learners draws (give them to fit-learners).", stacklevel=2)


def command(args: argparse.Namespace) -> int:
    folds, extract, finetuning = configs(args)
    config = finetuning if args.finetune else extract
    rank0 = Ranks.from_env().main
    with said_by(rank0):  # under torchrun, what every rank reads is said once, by rank 0
        warn_unused(args)
        show_configs(folds, config)
        corpus = corpus_from_args(args)
    if args.finetune:
        from ..extract.finetune import finetune

        learner, path = finetune(corpus, args.out, config, folds=folds, progress=not args.quiet,
                                 confirm=True if args.yes else None)
        if rank0:
            print(learner)
    else:
        from ..extract.stage import extract_features

        path = extract_features(corpus, args.out, config, progress=not args.quiet)
    if rank0:
        print(path)
    return 0


@contextmanager
def said_by(speaker: bool):
    """Within it, this process says nothing but errors where it is not the `speaker` (a torchrun rank other than 0)."""
    if speaker:
        yield
        return
    log = logging.getLogger("screenstack")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)
