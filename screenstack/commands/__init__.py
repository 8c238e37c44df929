"""One module per subcommand, in the order `--help` lists them."""
from . import fit_learners

COMMANDS = [fit_learners]
