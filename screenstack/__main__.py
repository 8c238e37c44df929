"""`python -m screenstack` and the `screenstack` command: `run` imports the CLI itself, so that Ctrl-C
while it loads ends with one line, not a traceback (the heavy libraries, pandas and scikit-learn, load
later, when a command runs, inside `cli.main`'s own handler)."""
import sys

INTERRUPTED = "screenstack: interrupted; finished files are kept, rerun the same command to continue."


def run() -> int:
    try:
        from .cli import main
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
