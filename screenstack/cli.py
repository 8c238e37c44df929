"""The `screenstack` command: parse arguments, call one stage, turn user mistakes into one line.

Each subcommand lives in `screenstack/commands/NAME.py` with ``add_parser``
(its options and help) and ``command`` (arguments -> config -> one stage call).
"""
from __future__ import annotations

import argparse
import logging
import sys
import warnings

from .commands import COMMANDS
from .features.errors import ScreenstackError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="screenstack",
        description="Screen papers for a systematic review: encoder vectors + gradient boosting + TF-IDF, stacked for F-beta.",
        epilog="example: screenstack run --train data/train.csv --test data/test.csv --model minilm --out artifacts/run1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"screenstack {__import__('screenstack').__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, warnings only")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    warnings.formatwarning = lambda message, category, *rest: f"screenstack: warning: {message}\n"
    try:
        return args.func(args) or 0
    except ScreenstackError as error:
        print(f"screenstack: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("screenstack: interrupted; finished files are kept, rerun the same command to continue.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
