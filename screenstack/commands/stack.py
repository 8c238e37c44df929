"""`screenstack stack`: blend the learners' OOF scores, choose the F-beta threshold, write the ranked list and the submission."""
from __future__ import annotations

import argparse

from ..stacking.config import BLEND_NAMES, StackConfig
from ..stacking.threshold import RULES
from ._common import add_out_option, show_configs, split_list

EXAMPLE = """examples:
  screenstack stack --out artifacts/run1
  screenstack stack --out artifacts/run1 --beta 7 --blend caruana --learners tfidf-svm,lightgbm
  screenstack stack --out artifacts/run1 --min-recall 0      # the F-beta threshold alone, no recall floor
  screenstack stack --out artifacts/run1 --max-shift 1       # no correction for records to screen richer in included records

writes OUT/ranked.csv (the records to screen, best first: rank, id, title, score, decision, calibrated
probability, running expected number of included records, then the input's columns), OUT/submission.csv
(id,0|1, no header), OUT/test_scores.csv, OUT/calibration.json, OUT/summary.json, and OUT/blend.json and
OUT/blend_oof.parquet (the blend, which predict and report read). The console says
how the threshold came about (learners left out of the blend, records without text, the fitted tail,
the recall floor, the label shift, the honest floor), then the honest F-beta and recall (thresholds chosen on other
folds) and their 95% intervals, how many records are flagged and how many relevant ones are expected
below the threshold, the blend's figures, and last the warnings.
The same learner outputs and options again reuse the stack outputs (and keep the report); other ones
remove the report made from the previous stack.
"""


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stacking")
    group.add_argument("--beta", type=float, default=StackConfig.beta,
                       help=f"F-beta's beta: recall counts beta^2 times precision (default {StackConfig.beta:g}, from 0.001 to 1000)")
    group.add_argument("--blend", default=StackConfig.blend, choices=["auto", *BLEND_NAMES],
                       help="how learners are blended: logistic meta-learner, rank average, greedy selection (caruana), "
                            "or auto: the rank average with 10 or fewer included training records, else logistic; either without "
                            "the boosted trees below 20 (default auto)")
    group.add_argument("--threshold-rule", default=StackConfig.threshold_rule, choices=RULES,
                       help="bootstrap: maximise expected F-beta over resamples of the OOF records, flagging at least what "
                            "F-beta's optimum on a binormal ROC fitted to them flags (the fitted tail); argmax: plain maximum "
                            f"(default {StackConfig.threshold_rule})")
    group.add_argument("--min-recall", type=float, default=StackConfig.min_recall, metavar="R",
                       help="the recall floor: counting the labelled included records as found and --recall-prior more as "
                            "ranked at chance, flag the share of records that makes the estimated recall R; with few included "
                            f"records this flags much more, down to everything, and from 7 nothing extra (0: F-beta alone; "
                            f"default {StackConfig.min_recall:g}; 0.9 flags fewer where the labelled records are a random sample of "
                            "the search)")
    group.add_argument("--recall-prior", type=float, default=StackConfig.prior_positives, metavar="N",
                       help="included records assumed to exist that the ranking places at chance, times the shift --max-shift "
                            "corrects for where the blend separates the labelled records weakly (OOF d' below 1.5); they "
                            "make every unflagged record cost recall, which matters when few records are "
                            f"included (default {StackConfig.prior_positives:g})")
    group.add_argument("--max-shift", type=float, default=StackConfig.max_shift, metavar="X",
                       help="where the records to screen look richer in included records than the labelled ones (estimated "
                            "from their calibrated scores), the threshold flags more, as if they were up to X times richer, "
                            "and from 20 included records everything where at that richness the blend's honest OOF F-beta "
                            f"does not beat flagging every record (1: no correction; default {StackConfig.max_shift:g})")


def stack_config(args: argparse.Namespace, learners: tuple[str, ...] = ()) -> StackConfig:
    return StackConfig(beta=args.beta, blend=args.blend, threshold_rule=args.threshold_rule, learners=learners, seed=args.seed,
                       min_recall=args.min_recall, prior_positives=args.recall_prior, max_shift=args.max_shift)


def configs(args: argparse.Namespace) -> StackConfig:
    """The stack's config, validated (the command line also checks a --config file's overridden values with it)."""
    return stack_config(args, split_list(args.learners, "--learners"))


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("stack", help="blend learners, choose the threshold, write the submission",
                                   description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_option(parser, existing=True)
    add_stack_options(parser)
    parser.add_argument("--learners", metavar="NAMES", help="comma-separated learners to blend (default: all in OUT; one: its own "
                        "scores, unblended)")
    parser.add_argument("--seed", type=int, default=StackConfig.seed,
                        help=f"seed of the threshold bootstrap (default {StackConfig.seed})")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..features.artifacts.sets import warn_changed_inputs
    from ..stacking.stack import stack  # local: keeps `screenstack --help` fast

    config = configs(args)
    show_configs(config)
    stack(args.out, config)  # a report made from the previous stack is removed, with a warning that says how to remake it
    warn_changed_inputs(args.out)
    return 0

