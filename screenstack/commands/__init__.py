"""One module per subcommand, in the order `--help` lists them."""
from . import datasets, extract, fit_learners, predict, report, run, split, stack

COMMANDS = [datasets, split, run, extract, fit_learners, stack, report, predict]
