"""`LearnersConfig`: which learners `fit-learners` fits, and the feature files the vector learners read."""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

from ..features.checks import check_names
from ..features.errors import ScreenstackError
from .registry import LEARNERS

DEFAULT_TEXT_LEARNERS = ("tfidf-svm", "tfidf-logreg")  # what fit-learners fits where --learners is not given


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
        seen: dict[str, str] = {}
        for path in self.features:  # one file under two spellings would put its columns in twice
            if (first := seen.setdefault(os.path.realpath(path), path)) != path:
                raise ScreenstackError(f"--features {first} and {path}: the same file given twice; give it once.")
        if self.features and not self.needs_vectors:
            warnings.warn(f"--features: no learner in --learners ({', '.join(self.learners)}) reads vectors, so the feature "
                          "files are not used. Add logreg, lightgbm or xgboost to --learners to use them.", stacklevel=2)

    @property
    def needs_vectors(self) -> bool:
        """Whether a learner reads the vectors of `screenstack extract`."""
        return any(LEARNERS[name].input == "vectors" for name in self.learners)
