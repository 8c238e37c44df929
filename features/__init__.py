"""The feature store: corpus loading, the fold plan and its cross-fitting loop, TF-IDF and Parquet vectors.

`features` is the most upstream package: it imports none of the other stages,
and every other stage builds on it.
"""
from .errors import ScreenstackError

__all__ = ["ScreenstackError"]
