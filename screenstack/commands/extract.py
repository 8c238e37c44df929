"""`screenstack extract`: a frozen encoder's pooled hidden-layer vectors of every record, to a Parquet feature file."""
from __future__ import annotations

import argparse
import re

from ..extract.model import DEFAULT_MODEL, PRECISIONS
from ..extract.pooling import POOLINGS, parse_layers
from ..extract.stage import CACHE_ENV, STORE_DTYPES, ExtractConfig
from ._common import add_corpus_options, add_out_option, corpus_from_args, split_list

EXAMPLE = f"""examples:
  screenstack extract --train data/cohen/train.csv --test data/cohen/test.csv --model minilm --out artifacts/run1
  screenstack extract --train data/train.csv --test data/test.csv --model {DEFAULT_MODEL} \\
      --layers -1,-2,-3,-4 --pooling cls,mean --max-length 512 --out artifacts/run1

The file is written to OUT/features/<model>-<hash>.parquet (the path is printed); pass it to
`screenstack fit-learners --features`. The same command again reuses it. --model takes a Hugging Face
name (downloaded once, then read from its cache), a local folder, or `minilm` (all-MiniLM-L6-v2,
bundled: works offline). Vectors are cached per text under --cache-dir, so an interrupted run
continues where it stopped and a grown corpus encodes only its new texts.
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "extract", help="encode records into pooled transformer vectors (Parquet)", description=__doc__, epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # So that `--layers -1,-2` reads as a value, not as an unknown option (argparse only
    # treats a lone negative number so by default).
    parser._negative_number_matcher = re.compile(r"^-\d+(,\s*-?\d+)*$")
    add_corpus_options(parser)
    add_out_option(parser)
    group = parser.add_argument_group("vectors")
    group.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME|DIR",
                       help=f"Hugging Face name, local folder, or minilm (bundled) (default {DEFAULT_MODEL})")
    group.add_argument("--layers", default="-1", metavar="LIST",
                       help="hidden layers to pool, concatenated: -1 is the last; lastN = -1..-N (default -1)")
    group.add_argument("--pooling", default="cls,mean", metavar="NAMES",
                       help=f"comma-separated poolings, concatenated (available: {', '.join(sorted(POOLINGS))}; default cls,mean)")
    group.add_argument("--max-length", type=int, default=512, metavar="N", help="truncate texts to N tokens (default 512)")
    group.add_argument("--store-dtype", default="float32", choices=STORE_DTYPES, help="dtype in the file (default float32)")
    speed = parser.add_argument_group("speed")
    speed.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    speed.add_argument("--dtype", default="fp32", choices=PRECISIONS,
                       help="forward-pass precision; bf16 is about 1.5-2x faster on CPUs with AVX-512 BF16 (default fp32)")
    speed.add_argument("--batch-tokens", default="auto", metavar="N|auto", help="token budget per batch (default auto)")
    speed.add_argument("--cache-dir", metavar="DIR", help=f"per-text vector cache (default ${CACHE_ENV}, else OUT/../.cache)")
    speed.add_argument("--chunk-size", type=int, default=1024, metavar="N", help="texts encoded between two saves (default 1024)")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..extract.stage import extract_features

    config = ExtractConfig(
        model=args.model, layers=parse_layers(args.layers), pooling=split_list(args.pooling), max_length=args.max_length,
        dtype=args.dtype, store_dtype=args.store_dtype, batch_tokens=args.batch_tokens, device=args.device,
        cache_dir=args.cache_dir, chunk_size=args.chunk_size,
    )
    path = extract_features(corpus_from_args(args), args.out, config, progress=not args.quiet)
    print(path)
    return 0
