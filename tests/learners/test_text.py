"""TF-IDF learners score new texts for all fold models from one tokenising pass, with the same bytes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screenstack.learners import make_learner
from screenstack.learners.oof import fold_mean_scores
from screenstack.learners.text import fold_tfidf_rows

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


@pytest.fixture(scope="module")
def fold_models():
    """Five tfidf-logreg models fitted on different fifths of a real review (different vocabularies), and unseen texts."""
    frame = pd.read_csv(DATASETS / "cohen_adhd.csv")
    texts = (frame["title"].fillna("") + ". " + frame["abstract"].fillna("")).tolist()
    y = frame["label_included"].to_numpy()
    rng = np.random.default_rng(0)
    order = rng.permutation(600)
    models = [make_learner("tfidf-logreg").fit([texts[i] for i in order[k::5]], y[order[k::5]]) for k in range(5)]
    unseen = texts[600:] + ["Ünïcödé accents, café-au-lait trials!", "", "the the the"]
    return models, unseen


def test_each_fold_models_rows_are_its_own_vectoriser_matrix(fold_models):
    models, unseen = fold_models
    assert len({len(m.vectorizer_.vocabulary_) for m in models}) > 1  # the folds' vocabularies differ
    for model, rows in zip(models, fold_tfidf_rows(models, unseen)):
        own = model.vectorizer_.transform(unseen)
        assert rows.matrix.shape == own.shape and rows.matrix.dtype == own.dtype
        np.testing.assert_array_equal(rows.matrix.indptr, own.indptr)
        np.testing.assert_array_equal(rows.matrix.indices, own.indices)
        np.testing.assert_array_equal(rows.matrix.data, own.data)


def test_fold_mean_scores_are_the_same_bytes_as_scoring_model_by_model(fold_models):
    models, unseen = fold_models
    one_by_one = np.zeros(len(unseen))
    for model in models:
        one_by_one += model.predict_proba(unseen)[:, 1] / len(models)
    assert fold_mean_scores(models, unseen).tobytes() == one_by_one.tobytes()
