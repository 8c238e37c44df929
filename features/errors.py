"""The one exception type for user mistakes.

The command line catches `ScreenstackError`, prints its message on one line and
exits with code 2, so a bad input never ends in a traceback.
"""


class ScreenstackError(Exception):
    """A problem the user can fix: the message names the file, row or column and the fix."""

    exit_code = 2
