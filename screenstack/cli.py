"""The `screenstack` command: parse arguments, call one stage, turn user mistakes into one line.

Each subcommand lives in `screenstack/commands/NAME.py` with ``add_parser``
(its options and help) and ``command`` (arguments -> config -> one stage call).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tomllib
import warnings
from pathlib import Path

# Before LightGBM, XGBoost and torch load OpenMP: idle threads sleep instead of
# spinning, which on a 2-core machine shared with other work made the boosted
# learners 3-10x slower (bench/vector_learners.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .commands import COMMANDS  # noqa: E402
from .features.errors import ScreenstackError  # noqa: E402


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
    for sub in subparsers.choices.values():
        sub.add_argument("--config", metavar="FILE.toml",
                         help="TOML file of option values (keys are option names, e.g. folds = 7); flags given on the command line win")
    return parser


def _apply_config_file(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Make the values in ``--config FILE`` the defaults of the chosen subcommand."""
    if "--config" not in argv or argv.index("--config") + 1 >= len(argv):
        return
    path = Path(argv[argv.index("--config") + 1])
    command = next((a for a in argv if not a.startswith("-")), None)
    sub = _subparsers(parser).get(command)
    if sub is None:
        return
    try:
        values = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ScreenstackError(f"{path}: no such config file. Check the --config path.") from None
    except tomllib.TOMLDecodeError as error:
        raise ScreenstackError(f"{path}: not valid TOML ({error}). Fix the file.") from None
    actions = {a.dest: a for a in sub._actions if a.dest not in ("help", "config")}
    unknown = sorted(k for k in values if k.replace("-", "_") not in actions)
    if unknown:
        raise ScreenstackError(f"{path}: unknown option(s) {', '.join(unknown)} for `{command}`. Valid: {', '.join(sorted(actions))}.")
    for key, value in values.items():
        action = actions[key.replace("-", "_")]
        action.default = ",".join(map(str, value)) if isinstance(value, list) else value
        action.required = False


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        _apply_config_file(parser, argv)
    except ScreenstackError as error:
        print(f"screenstack: error: {error}", file=sys.stderr)
        return error.exit_code
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
