"""`screenstack split`: a stratified train/test split of one labelled file, in the competition format.

Writes OUT/train.csv (id,title,abstract,judgement), OUT/test.csv (id,title,abstract),
OUT/test_labels.csv (id,judgement: the answer key, for evaluation) and OUT/split.json
(the source file and its SHA-256, test size, seed, counts). The same
file, --test-size and --seed give byte-identical files; an OUT holding another
split, or other files, is refused. Records not screened yet (an empty label,
-1, ASReview_not_seen) are left out, with a line saying how many.
"""
from __future__ import annotations

import argparse

from ..features.checks import check_seed

EXAMPLE = """examples:
  screenstack split --data data/cohen_adhd.csv --test-size 0.5 --seed 0 --out data/cohen
  screenstack split --data data/asreview_export.ris --out data/myreview     # labels from its N1 ASReview_* notes;
                                                                             # records not screened yet are left out
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "split", help="split a labelled file into train.csv, test.csv and test_labels.csv", description=__doc__,
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, metavar="FILE", help="labelled records: CSV, TSV, XLSX or RIS")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for train.csv, test.csv, test_labels.csv and split.json")
    parser.add_argument("--test-size", type=float, default=0.5, metavar="FRACTION", help="share of records in the test file (default 0.5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the stratified split (default 0)")
    parser.add_argument("--id-col", metavar="COL", help="id column (default: id, record_id or key, else record number)")
    parser.add_argument("--text-cols", metavar="COLS", help="comma-separated text columns, title first (default: title,abstract)")
    parser.add_argument("--label-col", metavar="COL", help="label column (default: judgement, label_included, included, label, label_abstract_screening or asreview_label)")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..features.records.corpus import ColumnSpec  # local: pandas and scikit-learn, which `--help` does not need
    from ..features.records.split import SplitConfig, split_file

    check_seed(args.seed)
    spec = ColumnSpec.from_flags(args.id_col, args.text_cols, args.label_col)
    written = split_file(args.data, args.out, SplitConfig(test_size=args.test_size, seed=args.seed), spec)
    for path in written.values():
        print(path)
    return 0
