"""`screenstack --help`, `run --help` and an option typo answer without loading the heavy libraries.

The parser is built from light modules only; the stages import pandas, scikit-learn,
pyarrow, torch and the boosters when a command runs. Where the parser needs a
registry's names from a heavy module, the names are written out in a light one,
and the tests below check that the two agree.
"""
import os
import subprocess
import sys

from screenstack.commands import _common, fit_learners
from screenstack.extract.finetune_config import HEAD_NAMES
from screenstack.extract.heads import HEADS
from screenstack.learners import LEARNERS
from screenstack.learners.config import DEFAULT_TEXT_LEARNERS
from screenstack.stacking.blend import BLENDERS
from screenstack.stacking.config import BLEND_NAMES

HEAVY = ("torch", "transformers", "sklearn", "pandas", "lightgbm", "xgboost", "pyarrow")

# A fresh interpreter: this one has loaded them all (imports above).
PROBE = f"""
import sys
from screenstack.cli import main
for argv in (["--help"], ["run", "--help"], ["stack", "--out", "OUT", "--bogus"]):
    try:
        main(argv)
    except SystemExit:
        pass
print("loaded:", ",".join(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_help_and_argument_errors_load_no_heavy_library():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert "usage: screenstack run" in result.stdout  # the probe reached `run --help`
    assert "unrecognized arguments: --bogus" in result.stderr
    loaded = result.stdout.rsplit("loaded:", 1)[1].strip()
    assert loaded == "", f"building the parser imported {loaded}; import them inside the functions that use them"


def test_learner_names_match_the_registry():
    assert _common.LEARNER_NAMES == tuple(sorted(LEARNERS))
    assert fit_learners.DEFAULT_LEARNERS == ",".join(DEFAULT_TEXT_LEARNERS)


def test_blend_names_match_the_registry():
    assert BLEND_NAMES == tuple(BLENDERS)


def test_head_names_match_the_registry():
    assert HEAD_NAMES == tuple(sorted(HEADS))


def test_importing_screenstack_makes_openmps_idle_threads_sleep_unless_the_user_chose():
    # Set by the package, not the command alone: a script or notebook importing screenstack.learners and then fitting
    # LightGBM kept OpenMP's default (spinning), which beside another process on 2 cores took 3x as long.
    probe = "import os, screenstack.learners; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    said = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    assert said.stdout.strip() == "PASSIVE"
    said = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={**env, "OMP_WAIT_POLICY": "ACTIVE"})
    assert said.stdout.strip() == "ACTIVE"
