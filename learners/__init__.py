"""CPU learners behind one interface: scikit-learn estimators found by name.

Importing this package registers every learner in `LEARNERS`.
"""
from . import text, vectors  # noqa: F401  (registers the text and vector learners)
from .oof import oof_predict
from .registry import LEARNERS, learner_class, make_learner

__all__ = ["LEARNERS", "learner_class", "make_learner", "oof_predict"]
