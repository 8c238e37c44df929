"""CPU learners behind one interface: scikit-learn estimators found by name.

Importing this package registers every learner in `LEARNERS`. Each learner
also writes its fitted state to plain files and reads it back (``to_files`` /
``from_files``), which `learners.persist` uses to keep the fold models.
"""
from . import text, vectors  # noqa: F401  (registers the text and vector learners)
from .oof import oof_predict
from .registry import LEARNERS, learner_class, make_learner

__all__ = ["LEARNERS", "learner_class", "make_learner", "oof_predict"]
