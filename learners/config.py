"""`LearnersConfig`: which learners `fit-learners` fits, and the feature files the vector learners read."""
from __future__ import annotations

from dataclasses import dataclass

from ..features.checks import check_names
from .fit import DEFAULT_TEXT_LEARNERS
from .registry import LEARNERS


@dataclass(frozen=True)
class LearnersConfig:
    """Learner names (keys of `LEARNERS`) and feature files; bad names fail on construction, listing the valid ones.

    Examples
    --------
    >>> LearnersConfig(("tfidf-svm", "logreg")).needs_vectors
    True
    """

    learners: tuple[str, ...] = DEFAULT_TEXT_LEARNERS
    features: tuple[str, ...] = ()

    def __post_init__(self):
        check_names("learners", self.learners, LEARNERS)
        check_names("features", self.features, allow_empty=True)

    @property
    def needs_vectors(self) -> bool:
        """Whether a learner reads the vectors of `screenstack extract`."""
        return any(LEARNERS[name].input == "vectors" for name in self.learners)
