"""Learners are scikit-learn estimators found by name.

Each learner class has a ``name`` (the key users type and the folder its
outputs go to) and an ``input``: ``"text"`` learners read record texts,
``"vectors"`` learners read the matrix of cached feature files. A class may
set ``min_included``, the fewest included training records the default blend
weighs it from (default 0; `min_included`).
"""
from __future__ import annotations

from ..features.errors import ScreenstackError

LEARNERS: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator adding a learner to `LEARNERS`; a duplicate name fails at import."""
    assert cls.name not in LEARNERS, f"learner name {cls.name!r} registered twice"
    assert cls.input in ("text", "vectors"), f"{cls.__name__}.input must be 'text' or 'vectors'"
    LEARNERS[cls.name] = cls
    return cls


def learner_class(name: str) -> type:
    """Look a learner up by name; an unknown name lists the valid ones."""
    try:
        return LEARNERS[name]
    except KeyError:
        raise ScreenstackError(f"unknown learner {name!r}. Available: {', '.join(sorted(LEARNERS))}.") from None


def make_learner(name: str, **params):
    """Build a learner by name with keyword parameters."""
    cls = learner_class(name)
    try:
        return cls(**params)
    except TypeError:
        valid = ", ".join(sorted(cls().get_params()))
        raise ScreenstackError(f"learner {name!r}: unknown parameter in {sorted(params)}. Valid: {valid}.") from None


def min_included(name: str) -> int:
    """The fewest included training records the default blend weighs learner `name` from; 0 for names not registered (fine-tuned encoders)."""
    cls = LEARNERS.get(name)
    return int(getattr(cls, "min_included", 0)) if cls is not None else 0

