"""`python -m screenstack` and the `screenstack` command: `run` imports the CLI itself, so that Ctrl-C
while the heavy libraries load (pandas, scikit-learn: a second or two) ends with one line, not a traceback."""
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
