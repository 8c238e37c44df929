"""The `screenstack` command: parse arguments, call one stage, turn user mistakes into one line.

Each subcommand lives in `screenstack/commands/NAME.py` with ``add_parser``
(its options and help) and ``command`` (arguments -> configs -> one stage call).
The command builds and validates every config it needs before it reads or
writes anything, so a bad value fails at once and leaves ``--out`` as it was.
"""
from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import re
import signal
import sys
import threading
import tomllib
import warnings
from pathlib import Path

from .commands import COMMANDS
from .commands._common import LIST_OPTIONS, check_out
from .features.checks import closest, did_you_mean
from .features.errors import ScreenstackError, quoted

log = logging.getLogger("screenstack")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (a `ScreenstackError`), not usage plus a message, and that takes
    options only as spelt: argparse's prefixes (`--learner` read as `--learners`, `--max` as whichever option it
    starts alone) would let a typo pass as another option."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        # A value that starts with "-" and a digit, a point, inf or nan is a value, not an option: `--layers -1,-2`,
        # `--lr -1e-3`, `--beta -inf` reach the option's own check, which names it and its range (argparse takes only
        # "-1" and "-0.5" so, and said "expected one argument"). No option of screenstack's is spelt so.
        self._negative_number_matcher = re.compile(r"^-(\d|\.|inf|nan)", re.IGNORECASE)

    def error(self, message: str):
        flag = re.fullmatch(r"argument (\S+): ignored explicit argument '(.*)'", message)
        if flag:  # `--finetune=false`: an on/off flag given a value
            names = flag.group(1).split("/")
            way = " or ".join(names) if len(names) > 1 else f"{names[0]} alone, or leave it out"
            raise ScreenstackError(f"{names[0]}={flag.group(2)}: {names[0]} takes no value; give {way}.")
        raise ScreenstackError(f"{message}. See `{self.prog} --help`.")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="screenstack",
        description="Screen papers for a systematic review: encoder vectors + gradient boosting + TF-IDF, stacked for F-beta.",
        epilog="example: screenstack run --train data/train.csv --test data/test.csv --model minilm --out artifacts/run1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"screenstack {__import__('screenstack').__version__}")
    _add_verbosity(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(subparsers)
    for sub in subparsers.choices.values():
        keys = _config_example(sub) if _subparsers_action(sub) is None else f"the action's: see `{sub.prog} ACTION --help`"
        sub.add_argument("--config", metavar="FILE.toml",
                         help=f"TOML file of option values (keys are option names, {keys}); flags given on the command line win")
        for nested in _option_parsers(sub):
            if nested is not sub:
                _add_nested_config(nested)
            _add_verbosity(nested)
    return parser


# An option each command's --config example names, with a value it takes (the first of these the command has).
CONFIG_EXAMPLES = (("folds", "7"), ("min_recall", "0.9"), ("max_shift", "1"), ("test_size", "0.3"), ("out", '"artifacts/run1"'))


def _config_example(parser: argparse.ArgumentParser) -> str:
    """``e.g. KEY = VALUE`` for a key `parser` takes in its --config file: an example another command's option is refused."""
    dests = {action.dest for action in parser._actions}
    return next((f"e.g. {key} = {value}" for key, value in CONFIG_EXAMPLES if key in dests), "e.g. out = \"artifacts/run1\"")


def _add_nested_config(parser: argparse.ArgumentParser) -> None:
    """--config after a group's action too (`datasets list --config FILE`), meaning what it means before it:
    the file's keys are the action's options. SUPPRESS: absent here, it leaves the group's --config as given."""
    keys = ", ".join(a.dest for a in parser._actions if a.dest not in ("help", "quiet", "verbose") and a.option_strings)
    parser.add_argument("--config", metavar="FILE.toml", default=argparse.SUPPRESS,
                        help=f"TOML file of option values (keys are option names: {keys}); flags given on the command line win")


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a flag not given leaves the attribute unset, so `-q` before the
    # subcommand is not reset by the subcommand's own (absent) `-q`.
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars, warnings only")
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="also debug messages (the configs each stage runs with)")


def _subparsers_action(parser: argparse.ArgumentParser):
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _option_parsers(parser: argparse.ArgumentParser):
    """The parsers that take options: `parser` itself and, nested, those of its subcommands (`datasets`, `datasets get`).

    A group such as `datasets` is one too: a user puts -q after the word they typed last (`datasets -q list`).
    """
    yield parser
    action = _subparsers_action(parser)
    for sub in action.choices.values() if action is not None else ():
        yield from _option_parsers(sub)


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)parser that parsed the options of the command in `args`."""
    while (action := _subparsers_action(parser)) is not None:
        parser = action.choices[getattr(args, action.dest)]
    return parser


def _read_config_file(path: Path) -> dict:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ScreenstackError(f"--config {path}: no such file. Check the path.") from None
    except IsADirectoryError:
        raise ScreenstackError(f"--config {path}: is a folder, not a TOML file. Name the file, e.g. {path / 'config.toml'}.") from None
    except UnicodeDecodeError as error:
        raise ScreenstackError(f"--config {path}: not UTF-8 text (byte {error.start}). Save the file as UTF-8.") from None
    except OSError as error:
        raise ScreenstackError(f"--config {path}: cannot be read ({error.strerror}).") from None
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))  # an editor's byte-order mark, which TOML does not allow
    except tomllib.TOMLDecodeError as error:
        raise ScreenstackError(f"--config {path}: not valid TOML ({error}). Fix the file.") from None


def _expected(action: argparse.Action) -> tuple[tuple[type, ...], str]:
    """The TOML types an option takes, and how to say so."""
    if isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction)):
        return (bool,), "true or false"
    if action.type is int:
        return (int,), "an integer"
    if action.type is float:
        return (int, float), "a number"
    if action.dest == "layers":
        return (int, str, list), "a list of integers (e.g. [-1, -2]) or a string such as \"last4\""
    if action.dest == "batch_tokens":
        return (int, str), "an integer or \"auto\""
    if action.dest in LIST_OPTIONS:
        return (str, list), "a list of names (e.g. [\"a\", \"b\"]) or a comma-separated string"
    return (str,), "a string"


def _config_value(path: Path, key: str, value, action: argparse.Action):
    """`value` from the file checked against the option's type and choices, as argparse would hold it."""
    types, expected = _expected(action)
    element = int if action.dest == "layers" else str
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types) or (
            isinstance(value, list) and not (value and all(isinstance(v, element) and not isinstance(v, bool) for v in value))):
        raise ScreenstackError(f"--config {path}: {key} = {_toml(value)}: expected {expected}. Fix the file.")
    if action.choices is not None and value not in action.choices:
        raise ScreenstackError(f"--config {path}: {key} = {_toml(value)}: expected one of {', '.join(map(str, action.choices))}.")
    if isinstance(value, list):  # kept a list where its items are file names, which may hold a comma
        return list(value) if action.dest == "features" else ",".join(map(str, value))
    if action.type is float:
        return float(value)
    return str(value) if action.dest == "batch_tokens" else value


def _toml(value) -> str:
    """`value` written as in a TOML file, on one line."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


def _apply_config_file(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """Make the values in ``--config FILE`` the defaults of the chosen subcommand; return option -> file."""
    if getattr(args, "config", None) is None:
        return {}
    if not args.config.strip():  # `--config=` or an unset variable: not "no file"
        raise ScreenstackError("--config is empty. Name a TOML file, e.g. --config run.toml, or leave the flag out.")
    path = Path(os.path.expanduser(args.config))
    values = _read_config_file(path)
    sub = _chosen(parser, args)
    actions = {a.dest: a for a in sub._actions if a.dest not in ("help", "config", "quiet", "verbose")}
    unknown = sorted(k for k in values if k.replace("-", "_") not in actions)
    if unknown and _is_run_config(parser, args, values):
        raise ScreenstackError(f"--config {path}: holds `screenstack run`'s options (as the OUT/config.toml a run writes), "
                               f"{len(unknown)} of them not `{sub.prog}`'s ({', '.join(unknown[:3])}{', ...' if len(unknown) > 3 else ''}). "
                               f"`screenstack run --config {quoted(str(path))}{_moved_out(path, values)}` repeats that run; for "
                               f"`{sub.prog}` give its "
                               f"own options ({', '.join(sorted(actions))}) as flags or in a file of their own.")
    if unknown:
        raise ScreenstackError(f"--config {path}: unknown option(s) {', '.join(unknown)} for `{sub.prog}`"
                               f"{did_you_mean([k.replace('-', '_') for k in unknown], actions)}. "
                               f"Valid: {', '.join(sorted(actions))}."
                               + _stack_option_hint(parser, args, [f"--{key.replace('_', '-')}" for key in unknown]))
    spelt = {}
    for key in values:  # `max-length` and `max_length` are one option: given twice, which would win is a guess
        if key.replace("-", "_") in spelt:
            raise ScreenstackError(f"--config {path}: {spelt[key.replace('-', '_')]} and {key} are the same option, given "
                                   "twice. Keep one.")
        spelt[key.replace("-", "_")] = key
    for key, value in values.items():
        action = actions[key.replace("-", "_")]
        action.default = _config_value(path, key, value, action)
        action.required = False
        action.config_said = f"{key} = {_toml(value)}"  # as the file has it, for `_refuse_empty`
    return {actions[key.replace("-", "_")].dest: str(path) for key in values}


def _same(a, b) -> bool:
    return a == b or (a != a and b != b)  # NaN from the file is still the file's


def _chosen_default(parser, args, dest):
    return next(a.default for a in _chosen(parser, args)._actions if a.dest == dest)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse `argv`, with ``--config FILE`` values as defaults that flags override."""
    return _parse(argv)[0]


def _parse(argv: list[str]) -> tuple[argparse.Namespace, dict[str, tuple[str, object]]]:
    """`parse_args`, and the file's values that flags overrode: option -> (file, value as argparse would hold it)."""
    parser = build_parser()
    # First pass, required options relaxed: only to find the subcommand and --config. Not for --help, which this pass
    # prints: its usage line would show required options in brackets, as if they could be left out.
    asks_help = bool({"-h", "--help"} & set(argv))
    required = [a for nested in _option_parsers(parser) for a in nested._actions
                if a.required and a.option_strings and not asks_help]
    for action in required:
        action.required = False
    first, _ = parser.parse_known_args(argv)
    for action in required:
        action.required = True
    _refuse_repeated(_chosen(parser, first), argv)  # before a --config file is read: the first of two would not be
    from_file = _apply_config_file(parser, first)
    # Unknown options before missing required ones (`--ou DIR` was told "required: --out", no word of --ou), read with
    # the file's values (predict's hint names the file's `run`).
    relaxed = {action: action.required for action in required}
    for action in required:
        action.required = False
    read, extras = parser.parse_known_args(argv)
    for action, was in relaxed.items():
        action.required = was
    if extras:
        _refuse_unrecognized(parser, read, extras)
    args, extras = parser.parse_known_args(argv)
    if extras:
        _refuse_unrecognized(parser, args, extras)
    _refuse_empty(_chosen(parser, args), args, {dest: path for dest, path in from_file.items()
                                                 if dest not in _typed_options(_chosen(parser, args), argv)})
    # Options the command line gave win over the file, so only the others are the file's; one typed with the file's
    # own value is the command line's too (`--compile` over ``compile = true`` is not credited to the file).
    defaults = {dest: _chosen_default(parser, args, dest) for dest in from_file}
    typed = _typed_options(_chosen(parser, args), argv)
    args.config_keys = {dest: path for dest, path in from_file.items()
                        if dest not in typed and _same(getattr(args, dest), defaults[dest])}
    overridden = {dest: (path, defaults[dest]) for dest, path in from_file.items() if dest not in args.config_keys}
    args.config_overridden = set(overridden)  # the file's options the command line changed (`--no-finetune`)
    _expand_home(_chosen(parser, args), args)
    return args, overridden


# A run's config.toml records every option, its version's defaults too: `run --config` on an older run's file carries
# such a default on as if it had been chosen (helper-176: 0.3.14's recall prior 0.5, where 0.3.15 on defaults to 0.35
# and flagged 104 records where it flagged 106). Option -> (an earlier default, the versions it was theirs).
PAST_DEFAULTS = {"recall_prior": ((1.0, "before 0.3.0"), (0.5, "0.3.0-0.3.14"))}


def _say_past_defaults(args: argparse.Namespace) -> None:
    """Warn of a --config file's value that is an earlier version's default, not this one's, and used as given."""
    if not set(getattr(args, "config_keys", {})) & set(PAST_DEFAULTS):
        return
    from .stacking.config import StackConfig

    now = {"recall_prior": StackConfig.prior_positives}
    for dest, path in getattr(args, "config_keys", {}).items():
        for value, versions in PAST_DEFAULTS.get(dest, ()):
            if _same(getattr(args, dest), value) and value != now[dest]:
                flag = "--" + dest.replace("_", "-")
                warnings.warn(f"--config {path}: {dest} = {value:g} is the default of screenstack {versions} ({now[dest]:g} "
                              "now), which a run's config.toml records whether or not it was chosen: used as given. "
                              f"Delete the line for this version's default (or give {flag}).", stacklevel=2)


PATH_METAVARS = ("FILE", "DIR", "FILE.toml", "NAME|DIR")  # the options that name a file or folder


def _expand_home(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A path option's leading ``~`` read as the shell reads it unquoted: the home folder. Quoted (``--out '~/run'``,
    ``out = "~/run"`` in a --config file) it was a folder named ``~`` here to write in, and the home folder to pyarrow,
    which expands it when it reads (helper-160: a run's stack found none of the learner outputs it had just written)."""
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if action.metavar not in PATH_METAVARS or value is None:
            continue
        setattr(args, action.dest, [os.path.expanduser(v) for v in value] if isinstance(value, list) else os.path.expanduser(value))


def _refuse_unrecognized(parser: argparse.ArgumentParser, args: argparse.Namespace, extras: list[str]) -> None:
    """Refuse arguments no option takes, naming the option meant where one is a letter or two off, and the subcommand
    whose --help lists the options (argparse would name the top-level parser)."""
    raise ScreenstackError(f"unrecognized arguments: {' '.join(extras)}{_meant_option(_chosen(parser, args), extras)}. "
                           f"See `{_chosen(parser, args).prog} --help`." + _stack_option_hint(parser, args, extras))


def _meant_option(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """" (did you mean --beta?)" for the first unknown option in `extras` a letter or two off one of `parser`'s."""
    options = [o.removeprefix("--") for a in parser._actions for o in a.option_strings if o.startswith("--")]
    meant = next((m for e in extras if e.startswith("-") and (m := closest(e.split("=")[0].lstrip("-"), options))), None)
    return f" (did you mean --{meant}?)" if meant else ""


def _refuse_repeated(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Refuse an option naming a file or folder (`PATH_METAVARS`) given twice with two paths: argparse keeps the last
    without a word (helper-172: `stack --out A --beta 3 --out B` restacked B, removing its report, and left A as it
    was; of two --config files the first was not read). One taking several files (--features) is given once, with
    all of them (helper-175: the first list went unread). Other options keep the last, as most commands do, so a
    script's flags added after its usual ones win."""
    for action in parser._actions:
        if type(action) is not argparse._StoreAction or action.metavar not in PATH_METAVARS:
            continue
        values = []
        for i, token in enumerate(argv):
            for flag in action.option_strings:
                if token == flag:
                    values.append(argv[i + 1] if i + 1 < len(argv) else "")
                elif token.startswith(flag + "="):
                    values.append(token[len(flag) + 1:])
        flag = action.option_strings[-1]
        if action.nargs is not None and len(values) > 1:
            raise ScreenstackError(f"{flag} given {len(values)} times: the last would be used alone, without a word. Give "
                                   f"it once, with every {action.metavar} after it ({flag} A B).")
        # The same path however spelt (r1, ./r1, r1/) is one; an empty one is `_refuse_empty`'s, said once the rest is read
        paths = {os.path.normpath(os.path.expanduser(value)) for value in values if value.strip()}
        if len(paths) > 1:
            raise ScreenstackError(f"{flag} given {len(values)} times ({', then '.join(v or repr(v) for v in values)}): "
                                   "which file or folder is meant cannot be told. Give it once.")


def _typed_options(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The destinations of `parser`'s options that `argv` spells out (``--beta 7``, ``--beta=7``, ``--no-finetune``)."""
    typed = set()
    for action in parser._actions:
        if any(token == flag or token.startswith(flag + "=") for flag in action.option_strings for token in argv):
            typed.add(action.dest)
    return typed


def _is_run_config(parser: argparse.ArgumentParser, args: argparse.Namespace, values: dict) -> bool:
    """True for a --config file of `run`'s options (OUT/config.toml: its input files and every stage's options) given
    to another command; a file of a few stack options given to `predict` is not one (`_stack_option_hint` says more)."""
    commands = _subparsers_action(parser).choices
    if getattr(args, "command", None) == "run" or "run" not in commands:
        return False
    run_options = {a.dest for a in commands["run"]._actions}
    keys = {k.replace("-", "_") for k in values}
    # The file `run` writes holds every stage's options; a hand-written file of a few is not called one.
    return bool(keys & {"train", "data"}) and {"out", "model", "folds", "learners", "beta", "blend"} <= keys <= run_options


def _stack_option_hint(parser: argparse.ArgumentParser, args: argparse.Namespace, extras: list[str]) -> str:
    """For `predict` given an option of `stack` (--beta, say, on the command line or in its --config file): where that
    choice is made instead."""
    if getattr(args, "command", None) != "predict":
        return ""
    stack_options = {o for a in _subparsers_action(parser).choices["stack"]._actions for o in a.option_strings}
    given = [e.split("=")[0] for e in extras if e.split("=")[0] in stack_options]
    if not given:
        return ""
    run = quoted(args.run) if getattr(args, "run", None) else "RUN"  # in a --config file, `run` may follow the key
    return (f" predict applies the run's blend and threshold as `stack` chose them: to change {given[0]}, run "
            f"`screenstack stack --out {run} {given[0]} ...`, then predict again.")


def _refuse_empty(parser: argparse.ArgumentParser, args: argparse.Namespace, from_file: dict[str, str]) -> None:
    """Refuse an option given an empty value (``--text-cols ""``, ``--cache-dir $UNSET``): no option's default is
    empty, so it is a mistake that would otherwise read as the default and go unnoticed. `from_file`: the options
    whose value a --config file gave (option -> file), named as the file has them (helper-172: ``train = ""`` was
    told "--train is empty", a flag not typed)."""
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if action.option_strings and isinstance(value, str) and not value.replace(",", "").strip():
            if action.dest in from_file:
                said = getattr(action, "config_said", f"{action.dest} = {_toml(value)}")
                raise ScreenstackError(f"--config {from_file[action.dest]}: {said}: empty. Give it a value. Fix the file.")
            way = "" if action.required else ", or leave the option out for its default"
            raise ScreenstackError(f"{action.option_strings[-1]} is empty ({value!r}): give it a value{way}.")


def _check_overridden(args: argparse.Namespace, overridden: dict[str, tuple[str, object]]) -> None:
    """Check each file value a flag overrode as if it had been used: the file is read again without that flag
    (`run --config OUT/config.toml`, a shared settings file), so a mistake in it is reported now, not then.

    The command's module gives ``configs(args)``, which builds and validates its configs and touches no file;
    commands without one check only the file's types and choices (`_config_value`).
    """
    check = getattr(sys.modules[args.func.__module__], "configs", None)
    if check is None or not overridden:
        return
    # All the file's values at once: one at a time, a file whose --select and --valid-fraction agree was refused where the
    # command line overrode both.
    values = {dest: value for dest, (_, value) in overridden.items()}
    try:
        with warnings.catch_warnings():  # a warning about the unused value would be about a run not made
            warnings.simplefilter("ignore")
            check(argparse.Namespace(**{**vars(args), **values}))
    except ScreenstackError as error:
        said = ", ".join(f"--{dest.replace('_', '-')} {_toml(value)}" for dest, value in values.items())
        path = next(iter(overridden.values()))[0]
        it = "it" if len(values) == 1 else "them"
        whole = ScreenstackError(f"{str(error).rstrip('.')} (with {said} as {path} sets {it}; the command line overrides {it}, "
                                 "but the file is checked whole: fix the file).")
        whole.names_its_source = True  # `_with_source` adds nothing
        raise whole from None


def _with_source(error: ScreenstackError | str, config_keys: dict[str, str]) -> str:
    """Say which file a bad value came from when it came from ``--config``, not the command line."""
    message = str(error)
    flag = message.split(" ", 1)[0].rstrip(":")  # "--model VALUE: ..." or "--model: ..."
    source = config_keys.get(flag.removeprefix("--").replace("-", "_")) if flag.startswith("--") else None
    return f"{message.rstrip('.')} (set in {source})." if source and not getattr(error, "names_its_source", False) else message


def _one_line(message: str) -> str:
    """An error stays one line: a column name or cell quoted in it may hold a line break or a tab (shown escaped)."""
    return message.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def _terminated(signum, frame):
    # `kill`, a scheduler's time limit, torchrun stopping its workers, the terminal closed (a `run ... > log 2>&1 &`
    # whose log then says why it stopped): stopped as Ctrl-C stops a command, so what
    # a stage finished is kept whole (fit-learners writes the records its finished learners scored).
    raise KeyboardInterrupt


class _ConsoleFormatter(logging.Formatter):
    """screenstack's own warnings (the stack's, predict's) start as the warnings given reading the inputs do
    (``warnings.formatwarning`` below), so they do not read as the info lines around them."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno == logging.WARNING and record.name.startswith("screenstack"):
            return f"screenstack: warning: {message}"
        return message


def main(argv: list[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        for stop in (signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal closed; nohup's ignoring it is kept
            if signal.getsignal(stop) is signal.SIG_DFL:
                signal.signal(stop, _terminated)
    try:
        code = _main(sys.argv[1:] if argv is None else list(argv))
        sys.stdout.flush()  # a reader gone away shows here, where it is caught, rather than in Python's flush at exit
        return code
    except KeyboardInterrupt:
        from .__main__ import INTERRUPTED

        print(INTERRUPTED, file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`screenstack datasets list | head -1`): stop as quietly as `cat` does.
        # Python's own flush at exit would fail on the same pipe, so standard output is pointed at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as the shell reports a command the pipe stopped


def _main(argv: list[str]) -> int:
    try:
        args, overridden = _parse(argv)
    except ScreenstackError as error:
        print(f"screenstack: error: {_one_line(str(error))}", file=sys.stderr)
        return error.exit_code
    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    if quiet and verbose:
        print("screenstack: error: -q and -v together: give one (-q: warnings only, -v: also debug messages).", file=sys.stderr)
        return 2
    args.quiet, args.verbose = quiet, verbose
    if args.command != "extract" and os.environ.get("WORLD_SIZE", "1") not in ("", "1"):
        # Only extraction and fine-tuning share work across torchrun's processes; N copies of another
        # command would race on OUT (the second told only that another process holds it).
        print(f"screenstack: error: `{args.command}` runs in one process, but WORLD_SIZE={os.environ['WORLD_SIZE']} (torchrun): "
              f"run `torchrun ... -m screenstack extract ...` for the GPU work, then `screenstack {args.command}` without torchrun.",
              file=sys.stderr)
        return 2
    logging.basicConfig(format="%(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_ConsoleFormatter())
    # Set on every call (basicConfig acts only once per process); -v adds screenstack's own debug messages only.
    # Other libraries' info lines (torch's exit-time cache statistics after a Ctrl-C, say) are not screenstack's to print.
    logging.getLogger().setLevel(logging.WARNING)
    log.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    warnings.formatwarning = lambda message, category, *rest: f"screenstack: warning: {message}\n"
    try:
        _say_past_defaults(args)
        _check_overridden(args, overridden)
        check_out(args)
        _refuse_moved_run_config(args)
        return args.func(args) or 0
    except ScreenstackError as error:
        print(f"screenstack: error: {_one_line(_with_source(error, args.config_keys))}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        if error.filename is None:  # no path to name: not the user's to fix
            raise
        print(f"screenstack: error: {_one_line(_os_error(error))}", file=sys.stderr)
        return 2


def _copied_run_folder(config, out) -> Path | None:
    """The folder `config` is in, where it is that run folder's own config.toml and its `out` names another folder (the
    folder was copied or moved), else None. As typed: a symlinked copy is named by its link."""
    folder = Path(os.path.abspath(config)).parent
    # A run folder by its manifests too: one whose stack was removed since (a refit) has no summary.json, and its copy's
    # file then reran the first folder unsaid (helper-178's path: fit-learners on a copied older folder, then run --config).
    if Path(config).name != "config.toml" or not ((folder / "summary.json").is_file() or (folder / ".manifests" / "config.json").is_file()):
        return None
    return None if Path(os.path.expanduser(out)).resolve() == folder.resolve() else folder


def _moved_out(config: Path, values: dict) -> str:
    """" --out FOLDER" where `config` is a copied run folder's own file (`_copied_run_folder`: without it `run
    --config` is refused), else ''."""
    folder = _copied_run_folder(config, values["out"]) if isinstance(values.get("out"), str) else None
    return f" --out {quoted(str(folder))}" if folder else ""


def _refuse_moved_run_config(args: argparse.Namespace) -> None:
    """`run --config` with a run folder's own config.toml whose `out` is another folder, no --out given: the folder was
    copied or moved, and the file's `out` would rerun the first folder (helper-164: a copy's config with --beta 3 remade
    the first folder's ranked.csv, the copy untouched), so which one is meant is asked, before any work."""
    config = getattr(args, "config", None)
    if getattr(args, "command", None) != "run" or not config or "out" not in getattr(args, "config_keys", {}):
        return
    out = os.path.abspath(args.out)
    folder = _copied_run_folder(config, out)
    if folder is not None:
        first = f", or --out {quoted(out)} to rerun the file's" if Path(out).is_dir() else f" ({out} is no longer there)"
        raise ScreenstackError(f"--config {config}: a run folder's own file, whose out is {out}, not that folder (copied or "
                               f"moved?). Give --out {quoted(str(folder))} to rerun the folder the file is in{first}.")


def _os_error(error: OSError) -> str:
    """One line for an OSError on a path that no stage turned into its own message (a folder on the way to an input,
    the output or the cache that cannot be entered, say). The stages write through `atomic_path`, so nothing is
    half-written."""
    fixes = {errno.EACCES: "check the permissions of it and of every folder above it (each must be enterable), or use "
                           "another path",
             errno.EPERM: "check the permissions of it and of every folder above it, or use another path",
             errno.ENOSPC: "free some space (bytes, or files: df -h, df -i), then rerun the same command: finished files "
                           "are kept",
             errno.EFBIG: "raise the file-size limit (ulimit -f), then rerun the same command: finished files are kept"}
    return f"{error.filename}: {error.strerror or error}; {fixes.get(error.errno, 'check the path')}."


if __name__ == "__main__":
    sys.exit(main())
