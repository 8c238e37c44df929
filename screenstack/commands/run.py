"""`screenstack run`: extract (if a vector learner asks for it), fit the learners, stack, and write the report."""
from __future__ import annotations

import argparse
import logging
import os
import re
from pathlib import Path

import tomli_w

from ..features.errors import ScreenstackError, quoted
from ..features.artifacts.sets import changed_since_written, committed, input_files, manifest_path, stack_flags
from ..features.artifacts.runfolder import STACK_FILES, RunFolder
from ._common import (LEARNER_NAMES, model_as_recorded, add_corpus_options, add_fold_options, add_out_option, corpus_from_args, fold_config,
                      learners_config, show_configs)
from .extract import add_extract_options, add_finetune_options
from .extract import configs as encoder_configs
from .extract import FINETUNE_READS, finetune_config, said_options, warn_unused_finetune_options
from .stack import add_stack_options, stack_config

log = logging.getLogger("screenstack")
DEFAULT_LEARNERS = "logreg,lightgbm,xgboost,tfidf-svm,tfidf-logreg"
EXAMPLE = f"""examples:
  screenstack run --train data/cohen/train.csv --test data/cohen/test.csv --model minilm --out artifacts/run1
  screenstack run --train data/train.csv --test data/test.csv --learners tfidf-svm,tfidf-logreg --out artifacts/tfidf
  screenstack run --data data/asreview_export.ris --model minilm --out artifacts/review   # partly screened: scores the rest
  screenstack run --train data/screened.csv --test data/pubmed-search.nbib --id-col pubmedID --model minilm --out artifacts/pm
      # PubMed's MEDLINE export to screen, the labelled records' PubMed ids as ids (the .nbib's own are its PMIDs)
  screenstack run --config artifacts/run1/config.toml          # the same run again (reuses finished artifacts)
  screenstack run --train data/train.csv --test data/test.csv --model minilm --finetune --out artifacts/ft   # GPU advised
  screenstack run --config artifacts/ft/config.toml --no-finetune --out artifacts/frozen   # that run without fine-tuning

With --finetune the encoder is also fine-tuned per fold (cross-fitted) and its classifier's scores join the
stack; the vector learners still read the frozen vectors.

Vector learners (logreg, lightgbm, xgboost) read the vectors `extract` makes with --model; with only
text learners (tfidf-*) nothing is extracted. Default learners: {DEFAULT_LEARNERS}.
Only these learners are blended, whatever else OUT/learners holds. Every option is checked before any
work starts. Writes OUT/ranked.csv (the records to screen, best first), OUT/submission.csv, OUT/test_scores.csv,
OUT/summary.json, OUT/report.html and, once the run has finished, OUT/config.toml (paths in it absolute,
so it works from any folder).
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("run", help="extract + fit-learners + stack + report, in one go",
                                   description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_corpus_options(parser)
    add_out_option(parser)
    add_fold_options(parser)
    parser.add_argument("--learners", default=DEFAULT_LEARNERS, metavar="NAMES",
                        help=f"comma-separated learners (available: {', '.join(LEARNER_NAMES)})")
    add_extract_options(parser)
    add_finetune_options(parser)
    add_stack_options(parser)
    parser.set_defaults(func=command)


PATH_OPTIONS = ("train", "test", "data", "out", "cache_dir")  # written absolute: `run --config` works from any folder


def config_toml(args: argparse.Namespace) -> str:
    """Every option this run used, as TOML: `run --config` on it builds the same `run_configs`.

    Paths (`PATH_OPTIONS`, and a ``--model`` that names a local folder rather
    than a Hugging Face model) are made absolute against the working folder, so
    the file repeats the run from wherever it is used.
    """
    skip = {"func", "command", "config", "config_keys", "config_overridden", "quiet", "verbose", "run_folder_out"}
    # --select as it was resolved (auc, or loss under --valid-fraction 0): the file repeats the run if that default changes
    given = {**vars(args), "select": finetune_config(args).select}
    values = {k: os.path.abspath(v) if k in PATH_OPTIONS else model_as_recorded(v) if k == "model" else v
              for k, v in given.items() if v is not None}
    return tomli_w.dumps({k: v for k, v in sorted(values.items()) if k not in skip})


def _write_config(args: argparse.Namespace, learners: tuple[str, ...]) -> None:
    # The run's recipe, made from what its input files and learner options made (fold plan, records, learners):
    # a refit removes it, a `stack` with other options does not (summary.json records those; `run --config`
    # on this file restacks with the run's own).
    inputs = ("folds", "records", *(f"learners/{name}" for name in learners))
    # Its input files, to tell a refit that needs them as they were; its stack's options, to tell a `stack` with others since.
    meta = {"input_files": input_files(args), "stack_flags": stack_flags(Path(args.out))}
    with RunFolder(args.out).commit("config", meta=meta, inputs=inputs) as staging:
        (staging / "config.toml").write_text(config_toml(args))


def _refuse_edited_config(args: argparse.Namespace) -> None:
    """OUT/config.toml changed by hand since a run wrote it: this run would write it again from its own options, and
    the changes would be lost, unless they are its options (``--config`` naming that very file)."""
    out = Path(args.out)
    path = out / "config.toml"
    if args.config and Path(args.config).resolve() == path.resolve():
        return
    if path.is_dir():
        raise ScreenstackError(f"{path}: is a folder, where this run writes its options. Move it out of {quoted(out)}, "
                               "then run again.")
    changed = changed_since_written(out, "config", "config.toml")
    if changed is False:
        return
    why = ("changed since `screenstack run` wrote it" if changed else
           f"whether you changed it cannot be told ({manifest_path(out, 'config')}, which listed it, is damaged)")
    raise ScreenstackError(f"{path}: {why}, and this run would write it again from its own options. To run with "
                           f"it: screenstack run --config {quoted(path)} (flags given beside it win); to run without it, "
                           f"move it out of {quoted(out)} or delete it.")


def run_configs(args: argparse.Namespace) -> tuple:
    """``(folds, learners, extracting, finetuning, stacking)``: every stage's config, validated; `finetuning` is the
    `FinetuneConfig` with ``--finetune``, else None (both encoder configs are checked, even when only text learners run).

    With ``--finetune`` the vector learners still read the frozen encoder's vectors, and the fine-tuned classifier's
    scores join the stack: on the shared datasets' held-out halves (MiniLM; bench/README.md, "Fine-tuning on the protocol") that scored
    0.053 ± 0.013 F7 above vector learners on the fine-tuned encoder's cross-fitted vectors (0.3.23's `run --finetune`).
    """
    folds = fold_config(args)
    learners = learners_config(args)
    _, extracting, finetuning = encoder_configs(args)
    blended = learners.learners
    if args.finetune:
        from ..extract.finetune_config import learner_name

        blended += (learner_name(finetuning),)
    stacking = stack_config(args, blended)  # exactly this run's learners, not every one in --out
    return folds, learners, extracting, finetuning if args.finetune else None, stacking


configs = run_configs  # what `cli` checks a --config file's values with when flags override them


def command(args: argparse.Namespace) -> int:
    from ..extract.stage import check_model_layers, extract_features, vector_identity
    from ..features.artifacts.folds import refuse_other_plan
    from ..learners.fit import fit_learners, refuse_refits, refuse_too_few_texts
    from ..stacking.ranked import refuse_edited
    from ..stacking.report import write_report
    from ..stacking.stack import options_replaced, stack

    # Every stage's config first: a bad value in any of them fails before extraction.
    folds, learners, encoder, finetuning, stacking = run_configs(args)
    show_configs(folds, learners, encoder, *([finetuning] if finetuning else []), stacking)
    warn_unused_finetune_options(args)
    if not learners.needs_vectors:
        _warn_unused_vector_options(args, encoder, learners.learners, finetuning is not None)

    # Before the input files are read (a million records take seconds), and again under the lock below.
    refuse_edited(args.out, "stack", "run")
    _refuse_edited_config(args)
    corpus = corpus_from_args(args, cross_validated=True)
    # Held across the stages: no other process writes OUT between them. A new fold plan or stack removes
    # what was made from the old one; the sets named here this run makes again, so that is not news.
    remade = ("stack", "report", "config", *(f"learners/{name}" for name in stacking.learners))
    with RunFolder(args.out).lock(remakes=remade, writes=(*STACK_FILES, "report.html", "config.toml")):
        refuse_edited(args.out, "stack", "run")  # its stack stage would, after the long work; the reviewer's notes stay
        _refuse_edited_config(args)
        # fit-learners would refuse these only after extraction had encoded every text and added a feature file to OUT
        plan = refuse_other_plan(corpus, args.out, folds, say=False)  # fit-learners or the fine-tuner says a redraw
        vectors = vector_identity(encoder)  # learners fitted on vectors made otherwise are refused before any encoding
        finetuned = None
        if finetuning is not None:  # its outputs made otherwise, named in the same line as the learners'
            from ..extract.finetune_config import learner_name

            finetuned = (learner_name(finetuning), finetuning.identity())
        refuse_refits(corpus, args.out, learners.learners, vectors, finetuned)
        refuse_too_few_texts(corpus, learners.learners, folds, plan=plan)  # fit-learners would, once the vectors were made
        RunFolder(args.out).check_places("report")  # its report stage writes there whatever the stages before it reuse
        replaced = options_replaced(args.out, stacking)  # before a set written first removes that stack
        done: list[str] = []  # the stages whose outputs are in place, for the error of a later one
        try:
            features = []
            if finetuning is not None:  # first: it refuses its own outputs made otherwise before any long work
                from ..extract.finetune import finetune

                if learners.needs_vectors:  # extraction would check its --layers only after the fine-tuning's hours
                    check_model_layers(encoder)  # the model loaded once more: seconds

                finetune(corpus, args.out, finetuning, folds=folds, progress=not args.quiet, confirm=True if args.yes else None)
                done.append("features")  # its learner's scores join the stack; its cross-fitted vectors stay unread here
            if learners.needs_vectors:
                # Other weights or precision in the same model folder: known once the model is loaded, not before.
                def refuse_other_encoder(found: dict) -> None:
                    refuse_refits(corpus, args.out, learners.learners, {**vectors, **found})

                features.append(str(extract_features(corpus, args.out, encoder, progress=not args.quiet,
                                                     before_encoding=refuse_other_encoder)))
                done.append("features")
            fit_learners(corpus, args.out, learners.learners, tuple(features), folds=folds, progress=not args.quiet)
            done.append("learners")
            if replaced and committed(Path(args.out), "stack") is None:  # else the stack stage says it, comparing
                log.warning("%s: stacking again%s.", args.out, replaced)
            stack(args.out, stacking)
            done.append("stack")
            print(write_report(args.out))
            done.append("report")
            _write_config(args, stacking.learners)  # last: config.toml describes a run that finished
        except ScreenstackError as error:
            raise ScreenstackError(partial_run_message(str(error), done, args.out)) from None
    return 0


def _warn_unused_vector_options(args: argparse.Namespace, encoder, learners: tuple[str, ...], finetuning: bool) -> None:
    """Say which vector options were given (on the command line or in a --config file) where no vector learner runs:
    no vectors are made, so `--model no/such-model` went ahead without a word, into config.toml, and failed only when
    a later `run --config` added a vector learner. With --finetune the options the fine-tuner reads are used."""
    import warnings
    from dataclasses import fields

    from ..extract.stage import ExtractConfig

    given = [f.name for f in fields(ExtractConfig) if getattr(encoder, f.name) != getattr(ExtractConfig, f.name)
             and not (finetuning and f.name in FINETUNE_READS)]
    if given:
        made = ("the fine-tuned encoder's classifier scores the text itself, and no frozen vectors are made" if finetuning else
                "nothing is encoded")
        warnings.warn(f"{''.join(said_options(args, given))}: for the vectors, not used: the learners fitted ({','.join(learners)}) read the "
                      f"text, {made} (add logreg, lightgbm or xgboost to --learners to use "
                      f"{'them' if len(given) > 1 else 'it'}).", stacklevel=2)


_STAGE_FILES = {"features": ["features/"], "learners": ["learners/", "records.parquet"],
                "stack": list(STACK_FILES),
                "report": ["report.html"], "config": ["config.toml"]}


def partial_run_message(message: str, done: list[str], out: str | Path | None = None) -> str:
    """`message` of a stage's error, saying which of this run's stages had already written OUT.

    Each stage commits its files as one set, and a set removes those made from
    its previous version: the later stages' files in `out` are either absent or a
    previous run's made from the outputs in place (`out` None: taken as absent).
    """
    if not done:
        return message
    # `io_error`'s outcome, which said "Nothing was written" beside the stages' files in place (helper-153)
    message = re.sub(r" (\S+ was not changed|The new \S+ outputs were not written: [^.]*|Nothing was written: [^.]*)\.$", "",
                     message).rstrip(".")
    later = [f for stage, files in _STAGE_FILES.items() if stage not in done and stage != "features" for f in files]
    present = [f for f in later if out is not None and (Path(out) / f).exists()]
    absent = [f for f in later if f not in present]
    # fit-learners commits learner by learner, each with the records it scored: what it finished before the error stays.
    partly = [f for f in present if f in _STAGE_FILES["learners"]] if "learners" not in done else []
    present = [f for f in present if f not in partly]
    kept = [f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} not in OUT (any previous one went with the outputs it "
            "was made from)"] if absent else []
    kept += [f"{', '.join(partly)} {'keeps' if len(partly) == 1 else 'keep'} what fit-learners finished before the error "
             "(and any earlier run's learners made on the same inputs)"] if partly else []
    kept += [f"{', '.join(present)} {'is' if len(present) == 1 else 'are'} still a previous run's, made from the outputs "
             "in place"] if present else []
    made = ", ".join(dict.fromkeys(f for s in done for f in _STAGE_FILES[s]))  # a fine-tuning and an extraction: both features/
    return (f"{message}. The stages before it finished, their files in place ({made}: new, or reused as they were); {'; '.join(kept)}: "
            "fix this and rerun the same command, which reuses what is done.")
