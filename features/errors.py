"""The one exception type for user mistakes.

The command line catches `ScreenstackError`, prints its message on one line and
exits with code 2, so a bad input never ends in a traceback.
"""
import shlex


class ScreenstackError(Exception):
    """A problem the user can fix: the message names the file, row or column and the fix."""

    exit_code = 2


def quoted(path) -> str:
    """`path` as a shell reads it back, for commands a message suggests: ``my review`` becomes ``'my review'``,
    so the command works when pasted; a path without spaces or shell characters is left as it is."""
    return shlex.quote(str(path))
