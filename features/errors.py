"""The one exception type for user mistakes, and the warnings a command keeps for its summary.

The command line catches `ScreenstackError`, prints its message on one line and
exits with code 2, so a bad input never ends in a traceback.
"""
import re
import shlex
import warnings
from contextlib import contextmanager


class ScreenstackError(Exception):
    """A problem the user can fix: the message names the file, row or column and the fix."""

    exit_code = 2

    def __reduce__(self):
        # Rebuilt from its message and attributes, not by calling __init__ again: subclasses take other arguments than
        # the message, and a worker process (concurrent.futures, joblib) whose error cannot be rebuilt breaks its pool
        # instead of handing the error back.
        return _rebuild, (type(self), str(self), self.__dict__)


def _rebuild(cls: type, message: str, attributes: dict) -> ScreenstackError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(attributes)
    return error


def one_line(error: Exception) -> str:
    """An exception's message on one line, cut at a word to about 120 characters (for a warning or error that names
    what went wrong underneath)."""
    import textwrap

    return textwrap.shorten(" ".join(str(error).split()), 120, placeholder=" ...") or type(error).__name__


def quoted(path) -> str:
    """`path` as a shell reads it back, for commands a message suggests: ``my review`` becomes ``'my review'``,
    so the command works when pasted; a path without spaces or shell characters is left as it is. One starting with
    ``-`` (a relative path: ``--out=-x`` was given) is written ``./-x``, the same folder, which no parser reads as a flag."""
    text = str(path)
    return shlex.quote("./" + text if text.startswith("-") else text)


_OPTION_SAID = re.compile(r"(--[a-z][a-z0-9-]*) \(('[^']*'|\S+) there, (\S+) now\)")  # a path with a space comes quoted


def go_on_with(said: list[str]) -> str:
    """", give --lr 2e-05 to go on with it" for a refusal's list of differences, where every one `describe_differences`
    said is an option whose value there can be typed; an option unset there ("--patience (None there, 1 now)", whose
    default is None) is to be left out (", leave out --patience (or its line in a --config file) to go on with it");
    else ''."""
    found = [_OPTION_SAID.fullmatch(s) for s in said]
    if not found or not all(found) or any(m.group(2) in ("True", "False") for m in found):
        return ""
    # "--layers=-1,-2": one word, which reads as the option's value wherever it is pasted
    given = [f"{m.group(1)}={m.group(2)}" if m.group(2).startswith("-") else f"{m.group(1)} {m.group(2)}"
             for m in found if m.group(2) != "None"]
    unset = [m.group(1) for m in found if m.group(2) == "None"]
    # an option unset there may be set here by a --config file's line, which the flag alone cannot unset
    ways = ([f"give {' '.join(given)}"] if given else []) + (
        [f"leave out {' '.join(unset)} (or {'its line' if len(unset) == 1 else 'their lines'} in a --config file)"] if unset else [])
    return f", {' and '.join(ways)} to go on with it"


@contextmanager
def kept_warnings():
    """Yield a list that receives the text of each warning given inside the block, once each, in order; the warnings
    are shown as usual (the filters and the handler in force decide). Reading the inputs warns of what the console
    soon scrolls away (copies, a test file without abstracts): the run's summary and report say it again."""
    said: list[str] = []
    show = warnings.showwarning

    def keep(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and str(message) not in said:
            said.append(str(message))
        show(message, category, filename, lineno, file, line)

    warnings.showwarning = keep
    try:
        yield said
    finally:
        warnings.showwarning = show
