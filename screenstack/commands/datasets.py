"""`screenstack datasets`: list the registered open screening datasets, or fetch one by name.

`get` checks the file's SHA-256 against the registry, keeps it in a cache
(~/.cache/screenstack/datasets; $SCREENSTACK_CACHE replaces ~/.cache/screenstack)
and prints its path. Offline, --mirror DIR (or $SCREENSTACK_MIRROR) names a
folder holding the files, which are checked the same way.
"""
from __future__ import annotations

import argparse

from ..features.records.datasets import DATASETS, get_dataset

EXAMPLE = """examples:
  screenstack datasets list
  screenstack datasets get cohen_adhd --dest data/cohen_adhd.csv
  SCREENSTACK_MIRROR=../shared/datasets screenstack datasets get cohen_adhd --dest data/cohen_adhd.csv
"""
GET_EXAMPLE = """examples:
  screenstack datasets get cohen_adhd                      # prints the cached path
  screenstack datasets get cohen_adhd --dest data/cohen_adhd.csv
  screenstack datasets get cohen_adhd --dest data/cohen_adhd.csv --mirror ../shared/datasets   # offline
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "datasets", help="list or fetch open screening datasets", description=__doc__, epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show the registered datasets", description="Show the registered datasets.",
                                 epilog="examples:\n  screenstack datasets list\n  screenstack datasets list --long\n",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    listing.add_argument("--long", action="store_true", help="also show each file, URL, SHA-256, licence and citation")
    listing.set_defaults(func=list_command)
    get = actions.add_parser("get", help="fetch a dataset by name, check its SHA-256, print its path",
                             description="Fetch a dataset by name (cache, then mirror, then download), check its SHA-256 "
                                         "and print the path of the local copy.",
                             epilog=GET_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    get.add_argument("name", metavar="NAME", help=f"dataset name ({', '.join(sorted(DATASETS))})")
    get.add_argument("--dest", metavar="FILE", help="also copy the file here (refused if FILE exists with other contents)")
    get.add_argument("--mirror", metavar="DIR", help="folder holding the dataset files, for offline use (default: $SCREENSTACK_MIRROR)")
    get.set_defaults(func=get_command)


def list_command(args: argparse.Namespace) -> int:
    rows = [("name", "records", "included", "licence", "topic")]
    rows += [(d.name, str(d.records), str(d.included), d.licence.split(" (")[0], d.topic) for d in DATASETS.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) if i != 1 and i != 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
              + "  " + row[-1])
    if args.long:
        for d in DATASETS.values():
            print(f"\n{d.name}\n  file:     {d.file_name}\n  url:      {d.url}\n  sha256:   {d.sha256}\n"
                  f"  licence:  {d.licence}\n  citation: {d.citation}")
    else:
        print("\nsources, SHA-256 and citations: screenstack datasets list --long")
    return 0


def get_command(args: argparse.Namespace) -> int:
    print(get_dataset(args.name, dest=args.dest, mirror=args.mirror, progress=not args.quiet))
    return 0
