"""`screenstack predict`: score new records (a search update) with a finished run's models, blend and threshold."""
from __future__ import annotations

import argparse
import logging

from ._common import absolute_paths, split_list

log = logging.getLogger("screenstack")
EXAMPLE = """examples:
  screenstack predict --run artifacts/run1 --data data/update-2026-12.ris --out artifacts/update-2026-12
  screenstack predict --run artifacts/run1 --data data/pubmed-2026-12.nbib --out artifacts/pubmed-2026-12
      # PubMed's own export ("Send to: Citation manager"); screened records left out where the run's ids are PMIDs
  screenstack predict --run artifacts/run1 --data data/update-2026-12.ris --out artifacts/update-2026-12b --max-shift 1
      # no lowering for these records' estimated shift, however rich in included records they look
  screenstack predict --run artifacts/run1 --data data/update-2026-12.ris --out artifacts/update-2026-12 --model models/pubmedbert-moved
      # the run's encoder folder moved: its new place (its files as they were, checked before encoding)

Nothing is fitted again: each learner's fold models, the blender, the calibration and the threshold
of --run score the records of --data (CSV, TSV, XLSX, RIS or PubMed's MEDLINE .nbib; labels, if any, are ignored). Vectors
are made with the run's encoder settings; --layers, --pooling or --max-length, when given, must
equal the run's, --text-cols names this file's columns for the run's (as many, in their order), and --model must be the run's encoder (by name, or where its folder is now). The run's threshold is lowered further where these records (50 or
more with title or abstract) look richer in included records than the run's records to screen did
(--max-shift 1: not for that). Records that were training records of the run (an update's overlap with
the last search) are left out and counted.
Writes OUT/ranked.csv, OUT/scores.csv, OUT/submission.csv (id,0|1, no header), OUT/left_out.csv,
OUT/summary.json and OUT/report.html (its warnings, counts and the top 20 of ranked.csv).
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="score new records with a finished run's models (no refitting)",
                                   description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, metavar="DIR", help="the --out folder of a finished run (or stack)")
    parser.add_argument("--data", required=True, metavar="FILE", help="records to score: CSV, TSV, XLSX, RIS or PubMed's MEDLINE (.nbib)")
    parser.add_argument("--out", required=True, metavar="DIR", help="a folder of its own for these predictions (not the run folder, another run, or another update)")
    parser.add_argument("--id-col", metavar="COL", help="id column (default: the run's, else id, record_id or key)")
    parser.add_argument("--text-cols", metavar="COLS", help="this file's columns holding what the run's text columns held, in their order (default: the run's names, or a title and abstract column by their usual names)")
    same = parser.add_argument_group("encoder (default: the run's; a different value is refused)")
    same.add_argument("--model", metavar="NAME|DIR", help="the run's encoder (its folder's new place, if it moved)")
    same.add_argument("--layers", metavar="LIST", help="the run's hidden layers")
    same.add_argument("--pooling", metavar="NAMES", help="the run's poolings")
    same.add_argument("--max-length", type=int, metavar="N", help="the run's maximum length in tokens")
    parser.add_argument("--max-shift", type=float, metavar="X",
                        help="where these records look richer in included records than the run's records to screen, the "
                             "threshold flags more, as if up to X times richer (default: the run's --max-shift; 1: no "
                             "lowering for a shift)")
    speed = parser.add_argument_group("speed")
    speed.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    speed.add_argument("--batch-tokens", default="auto", metavar="N|auto", help="token budget per batch (default auto)")
    speed.add_argument("--cache-dir", metavar="DIR", help="per-text vector cache (default: the run's --cache-dir, else $SCREENSTACK_CACHE, else .cache beside --run)")
    # A folder of its own, checked before any work (check_out); a refusal suggests a folder named for an update.
    parser.set_defaults(func=command, run_folder_out="new", run_folder_example="update1")


def command(args: argparse.Namespace) -> int:
    from ..features.artifacts.runfolder import RunFolder

    # Held to the end: a command writing the run while predict works would replace the stack its predictions name.
    with RunFolder(args.run).reading("--run", "predict"):
        return _predict(args)


def _predict(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..extract.pooling import parse_layers
    from ..extract.model import MaxLengthError, ModelLoadError, TokenizerCapError
    from ..extract.stage import ExtractConfig, cache_root, config_from_feature_meta, extract_features
    from ..features.errors import ScreenstackError, kept_warnings
    from ..features.artifacts.runfolder import RunFolder
    from ..stacking.new_records import load_new_records
    from ..stacking.fitted_run import read_run, recipe_value
    from ..stacking.predict import predict
    from ..stacking.predict_checks import PREDICT_FILES, check_settings, encoder_named, encoder_to_load, refuse_other_encoder

    run = read_run(args.run)  # every refusal about the run folder before anything is read or written
    if args.max_shift is not None:
        run = replace(run, config=replace(run.config, max_shift=args.max_shift))  # StackConfig refuses a value below 1
    given = {"model": args.model, "layers": parse_layers(args.layers) if args.layers else None,
             "pooling": split_list(args.pooling, "--pooling") or None, "max_length": args.max_length, "text_cols": split_list(args.text_cols, "--text-cols") or None}
    check_settings(run, given, args.out, args.data)
    # The run's cache, where `run` was given one: its vectors of texts the update shares are not made again.
    cache_dir = args.cache_dir or recipe_value(run.out, "cache_dir") or str(cache_root(ExtractConfig(), args.run))
    # Before the records are read: a run's encoder folder that is gone is refused first (`encoder_to_load`).
    configs = {rel: config_from_feature_meta(meta, encoder_to_load(meta, args.model), device=args.device,
                                             batch_tokens=args.batch_tokens, cache_dir=cache_dir)
               for rel, meta in run.feature_meta.items()}
    with kept_warnings() as said:  # for its summary.json, as `run`'s keeps those reading its files
        corpus, left_out = load_new_records(run, args.data, args.id_col, given["text_cols"])
    corpus = replace(corpus, said=absolute_paths(said, (args.data,)))
    with RunFolder(args.out).lock(predictions=True, writes=PREDICT_FILES):  # held across extraction and prediction
        try:
            vectors = {rel: extract_features(corpus, args.out, config, progress=not args.quiet,
                                             before_encoding=lambda found, rel=rel: refuse_other_encoder(run, rel, found, args.model))
                       for rel, config in configs.items()}
        except TokenizerCapError as error:  # the run's --max-length, which the user cannot lower here
            raise ScreenstackError(error.for_run_setting()) from None
        except ModelLoadError as error:
            if args.model is None:
                raise
            meta = next(iter(run.feature_meta.values()))
            if args.model == meta.get("model"):  # the run's own spelling, its folder gone: where it went (helper-175)
                encoder_to_load(meta, None)
                raise
            # Not how to download it (helper-172): a --model the run was not made with is another encoder anyway.
            raise ScreenstackError(f"--model {args.model}: cannot load it ({error.cause}); the run's vector learners read "
                                   f"only the vectors of its own encoder ({encoder_named(meta)}). Leave --model out (the "
                                   "run's encoder is used), or give the folder the run's encoder is in now.") from None
        except MaxLengthError as error:
            if not args.model:
                raise
            # The run's encoder read texts of that length: a --model that cannot is another encoder, whatever its name.
            raise ScreenstackError(f"--model {args.model}: reads at most {error.readable} tokens, where the run's encoder "
                                   f"read {error.max_length} (the run's --max-length), so it is not the run's encoder. Leave "
                                   "--model out (the run's encoder is used), or give the folder the run's encoder is in now.") from None
        predict(run, corpus, args.out, vectors, data=args.data, left_out=left_out)
        # Vectors an earlier predict made into this folder for another stack of the run (one that blended a vector
        # learner, where this one does not, or another encoder) would be taken for these predictions' inputs.
        for name in RunFolder(args.out).drop_feature_files(keep=[str(path) for path in vectors.values()]):
            log.info("predict: removed %s/features/%s, vectors made for an earlier stack of %s", args.out, name, args.run)
    return 0
