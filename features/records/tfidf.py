"""TF-IDF vectorisers for the text learners.

Each text learner fits its own vectoriser in `fit` (``vectorizer_``, then its
linear model on the matrix), so on the training folds only: it never sees the
fold it predicts; the matrix stays sparse throughout. `fit-learners` hands
each fold its rows of the training texts tokenised once
(`learners.text.token_counts`), from which the vectoriser is fitted as on
those rows' texts.
"""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


def make_tfidf(ngram_max: int = 2, min_df: int = 2, max_df: float = 0.95, max_features: int | None = 200_000) -> TfidfVectorizer:
    """Word 1..`ngram_max`-gram TF-IDF with sublinear term frequency (as in ASReview and the seed notebooks)."""
    return TfidfVectorizer(
        ngram_range=(1, ngram_max),
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        sublinear_tf=True,
        strip_accents="unicode",
        lowercase=True,
        dtype=np.float32,
    )
