"""`screenstack stack`: blend the learners' OOF scores, choose the F-beta threshold, write the submission."""
from __future__ import annotations

import argparse

from ..stacking.blend import BLENDERS
from ..stacking.stack import StackConfig, stack
from ..stacking.threshold import RULES
from ._common import add_out_option, show_configs, split_list

EXAMPLE = """example:
  screenstack stack --out artifacts/run1
  screenstack stack --out artifacts/run1 --beta 7 --blend caruana --learners tfidf-svm,lightgbm

writes OUT/submission.csv (id,0|1, no header), OUT/test_scores.csv and OUT/summary.json
"""


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stacking")
    group.add_argument("--beta", type=float, default=7.0, help="F-beta's beta: recall counts beta^2 times precision (default 7)")
    group.add_argument("--blend", default="logistic", choices=["auto", *BLENDERS],
                       help="how learners are blended: logistic meta-learner, rank average, greedy selection (caruana), "
                            "or auto: the best honest OOF F-beta (default logistic)")
    group.add_argument("--threshold-rule", default="bootstrap", choices=RULES,
                       help="bootstrap: maximise expected F-beta over resamples of the OOF records; argmax: plain maximum; "
                            "smoothed: included records spread by a kernel (default bootstrap)")


def stack_config(args: argparse.Namespace, learners: tuple[str, ...] = ()) -> StackConfig:
    return StackConfig(beta=args.beta, blend=args.blend, threshold_rule=args.threshold_rule, learners=learners, seed=args.seed)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("stack", help="blend learners, choose the threshold, write the submission",
                                   description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_option(parser)
    add_stack_options(parser)
    parser.add_argument("--learners", metavar="NAMES", help="comma-separated learners to blend (default: all in OUT)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the threshold bootstrap (default 0)")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    config = stack_config(args, split_list(args.learners))
    show_configs(config)
    stack(args.out, config)
    return 0
