"""One module per subcommand, in the order `--help` lists them."""
from . import datasets, split
from . import extract, fit_learners, stack, report

COMMANDS = [datasets, split, extract, fit_learners, stack, report]
