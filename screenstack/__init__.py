"""screenstack: decide which papers belong in a systematic review from title and abstract.

Stages (each reads files and writes files): `extract` (transformer vectors),
`features` (corpus, fold plan, feature store), `learners` (CPU learners with
out-of-fold scores) and `stacking` (blend, threshold, submission, report).
"""
import os

# Before torch, LightGBM and XGBoost load OpenMP (the command, a script or a notebook importing any part of screenstack
# first): idle threads sleep instead of spinning. Two processes sharing 2 cores, each spinning, took 2.5-3x as long in
# torch, LightGBM and XGBoost (bench/openmp_wait.py; bench/README.md, "OpenMP's idle threads"). A value the user set
# is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .features.errors import ScreenstackError  # noqa: E402

__version__ = "0.3.58"
__all__ = ["ScreenstackError", "__version__"]
