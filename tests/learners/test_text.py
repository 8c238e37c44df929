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


def _few_included_with_one_title_only(seed: int):
    """cohen_adhd split as a review that starts with 5 included records, one of them without an abstract."""
    frame = pd.read_csv(DATASETS / "cohen_adhd.csv").fillna("")
    texts = (frame["title"] + ". " + frame["abstract"]).tolist()
    y = frame["label_included"].to_numpy()
    title_only = (frame["abstract"].str.strip() == "").to_numpy()
    rng = np.random.default_rng(seed)
    included = [*rng.choice(np.flatnonzero((y == 1) & ~title_only), 4, replace=False),
                *rng.choice(np.flatnonzero((y == 1) & title_only), 1)]
    excluded = np.flatnonzero(y == 0)
    train = np.r_[included, rng.choice(excluded, len(excluded) // 2, replace=False)]
    test = np.setdiff1d(np.arange(len(y)), train)
    return [texts[i] for i in train], y[train], [texts[i] for i in test], y[test]


@pytest.mark.parametrize("name", ["tfidf-logreg", "tfidf-svm"])
def test_a_title_only_included_record_does_not_steer_the_ranking_with_few_included(name):
    # Balanced weights make each of 5 included records weigh ~80 excluded ones, so the one without an abstract
    # teaches "short text = included" and title-only records rank first (AUC ~0.55 here); the default's
    # square-root weights below 10 included records keep the ranking (bench/README.md, "protocol").
    from sklearn.metrics import roc_auc_score

    for seed in range(3):
        train_texts, y, test_texts, y_test = _few_included_with_one_title_only(seed)
        auc = {cw: roc_auc_score(y_test, make_learner(name, class_weight=cw).fit(train_texts, y).predict_proba(test_texts)[:, 1])
               for cw in ("balanced", "auto")}
        assert auc["auto"] > auc["balanced"] + 0.05, (seed, auc)


def test_auto_class_weights_are_fixed_from_all_training_labels_so_every_fold_model_weighs_alike(toy, caplog):
    from sklearn.model_selection import StratifiedKFold

    from screenstack.features.artifacts.folds import FoldPlan
    from screenstack.learners import oof_predict
    from screenstack.learners.text import SQRT_WEIGHTS_BELOW

    caplog.set_level("INFO", logger="screenstack")
    for included, expected in ((SQRT_WEIGHTS_BELOW - 1, "sqrt-balanced"), (SQRT_WEIGHTS_BELOW, "balanced")):
        X, y = toy("tfidf-logreg", n=300, positives=included)
        folds = np.empty(len(y), dtype=np.int64)
        for k, (_, valid) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y)):
            folds[valid] = k
        # Each fold model learns from 4/5 of the included records (8 of 10): below the limit, yet balanced.
        plan = FoldPlan(np.array([f"r{i}" for i in range(len(y))], dtype=object), y, folds, {"n_folds": 5})
        auto = oof_predict(make_learner("tfidf-logreg"), X, y, plan, X, progress=False, return_models=True)
        fixed = oof_predict(make_learner("tfidf-logreg", class_weight=expected), X, y, plan, X, progress=False)
        assert {m.class_weight for m in auto[2]} == {expected}
        assert auto[0].tobytes() == fixed[0].tobytes() and auto[1].tobytes() == fixed[1].tobytes()
        said = [r.getMessage() for r in caplog.records if "the square root of the balanced" in r.getMessage()]
        assert len(said) == (1 if expected == "sqrt-balanced" else 0)  # the console says so, once per learner
        caplog.clear()


def test_an_unknown_class_weight_is_refused_naming_the_valid_ones(toy):
    from screenstack.features.errors import ScreenstackError

    X, y = toy("tfidf-svm", n=60, positives=10)
    with pytest.raises(ScreenstackError, match="class_weight='equal' is not one of auto, balanced, sqrt-balanced"):
        make_learner("tfidf-svm", class_weight="equal").fit(X, y)


def test_too_few_texts_names_a_count_of_texts_as_a_count_and_a_share_as_a_share():
    # A whole-number max_df (a count, as scikit-learn reads it) was said as a percentage: max_df=1 read "100%".
    from screenstack.learners.text import TfidfSVM

    said = TfidfSVM(min_df=0.5, max_df=1).too_few_texts(4)
    assert "at least 50% of them and in at most 1 of them" in said
    assert "at least 2 of them and in at most 95% of them" in TfidfSVM().too_few_texts(2)
