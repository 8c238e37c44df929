"""CPU learners behind one interface: scikit-learn estimators found by name.

Importing this package registers every learner in `LEARNERS`.
"""
from . import text  # noqa: F401  (registers the text learners)
from .oof import oof_predict
from .registry import LEARNERS, learner_class, make_learner

__all__ = ["LEARNERS", "learner_class", "make_learner", "oof_predict"]
