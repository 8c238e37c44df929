"""One module per subcommand, in the order `--help` lists them."""
from . import datasets, split
from . import fit_learners, stack

COMMANDS = [datasets, split, fit_learners, stack]
