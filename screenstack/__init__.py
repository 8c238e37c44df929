"""screenstack: decide which papers belong in a systematic review from title and abstract.

Stages (each reads files and writes files): `extract` (transformer vectors),
`features` (corpus, fold plan, feature store), `learners` (CPU learners with
out-of-fold scores) and `stacking` (blend, threshold, submission, report).
"""
from .features.errors import ScreenstackError

__version__ = "0.3.55"
__all__ = ["ScreenstackError", "__version__"]
