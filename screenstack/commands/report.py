"""`screenstack report`: the run's figures and metrics as one self-contained HTML page plus PNGs.

Reads what `stack` wrote in OUT (summary.json, blend_oof.parquet, ranked.csv)
and the learners' OOF files; refits nothing. Writes OUT/report.html (images
embedded, so the file can be shared alone) and the same figures as
OUT/report/*.png. The page leads with warnings, the honest estimate (F-beta and
recall with 95% intervals), "Screen these first" (the top 20 of ranked.csv) and
the expected relevant records left below the threshold.
"""
from __future__ import annotations

import argparse

from ._common import add_out_option

EXAMPLE = """example:
  screenstack report --out artifacts/run1     # then open artifacts/run1/report.html in a browser
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("report", help="write the HTML report of a stacked run", description=__doc__,
                                   epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_option(parser, existing=True)
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..stacking.report import write_report  # matplotlib: loaded only when a report is written

    print(write_report(args.out))
    return 0
