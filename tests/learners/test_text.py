"""TF-IDF learners score new texts for all fold models from one tokenising pass, with the same bytes."""
from __future__ import annotations

import re
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


# --- fitting on the training texts tokenised once (`token_counts`) ----------------------------------------------------

@pytest.fixture(scope="module")
def review():
    """cohen_atypical_antipsychotics' first 500 records and two without a word of two letters: texts, labels, and a
    5-fold plan over them."""
    from sklearn.model_selection import StratifiedKFold

    frame = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv").iloc[:500].fillna("")
    texts = (frame["title"] + ". " + frame["abstract"]).tolist() + ["", "the the the"]
    y = np.r_[frame["label_included"].to_numpy(), 0, 0]
    return texts, y, list(StratifiedKFold(5, shuffle=True, random_state=0).split(texts, y))


def _as_scikit_learn_fits_the_texts(learner, texts, y):
    """`learner`'s linear model fitted on scikit-learn's own `TfidfVectorizer.fit_transform` of `texts`, as 0.3.56 fitted it."""
    from screenstack.learners.text import class_weights

    vectorizer = learner.new_vectorizer()
    model = learner._model(class_weights(y, learner.for_labels(y).class_weight)).fit(vectorizer.fit_transform(texts), y)
    return vectorizer, model


@pytest.mark.parametrize("name,params", [("tfidf-svm", {}), ("tfidf-logreg", {}), ("tfidf-svm", {"ngram_max": 1, "min_df": 1}),
                                         ("tfidf-logreg", {"min_df": 0.01, "max_df": 40})])
def test_a_fold_fitted_on_the_tokenised_texts_is_the_model_its_texts_give(review, name, params):
    from screenstack.learners.text import token_counts

    texts, y, folds = review
    learner = make_learner(name, **params)
    [counts] = token_counts(texts, [learner]).values()
    for train, valid in folds[:2]:
        fitted = make_learner(name, **params).fit(counts[train], y[train])
        vectorizer, model = _as_scikit_learn_fits_the_texts(learner, [texts[i] for i in train], y[train])
        assert fitted.vectorizer_.vocabulary_ == vectorizer.vocabulary_
        assert fitted.vectorizer_.idf_.tobytes() == vectorizer.idf_.tobytes()
        assert fitted.model_.coef_.tobytes() == model.coef_.tobytes()
        expected = model.decision_function(vectorizer.transform([texts[i] for i in valid]))
        assert fitted.decision_function(counts[valid]).tobytes() == expected.tobytes(), "held-out rows from their counts"
        assert fitted.decision_function([texts[i] for i in valid]).tobytes() == expected.tobytes(), "and from their texts"


def test_the_commonest_terms_are_kept_as_scikit_learn_keeps_them_ties_and_all(review, monkeypatch):
    # The vocabulary limit (200,000 terms) is reached by competition-sized corpora only: here it is 300.
    import functools

    from screenstack.features.records.tfidf import make_tfidf
    from screenstack.learners import text
    from screenstack.learners.text import token_counts

    monkeypatch.setattr(text, "make_tfidf", functools.partial(make_tfidf, max_features=300))
    texts, y, folds = review
    [counts] = token_counts(texts, [make_learner("tfidf-logreg")]).values()
    for train, _ in folds[:2]:
        fitted = make_learner("tfidf-logreg").fit(counts[train], y[train])
        vectorizer, _ = _as_scikit_learn_fits_the_texts(make_learner("tfidf-logreg"), [texts[i] for i in train], y[train])
        assert len(vectorizer.vocabulary_) == 300 and fitted.vectorizer_.vocabulary_ == vectorizer.vocabulary_


def test_learners_that_cut_texts_alike_share_one_tokenising_and_others_get_their_own(review):
    from screenstack.learners.text import token_counts

    texts, _, _ = review
    learners = [make_learner("tfidf-svm"), make_learner("tfidf-logreg", min_df=3), make_learner("tfidf-svm", ngram_max=1)]
    counts = token_counts(texts, learners)
    assert len(counts) == 2
    shared = counts[learners[0].analyser_key()]
    assert shared is counts[learners[1].analyser_key()] and shared.dropped_below == 2  # the lower min_df of the two
    assert counts[learners[2].analyser_key()].terms.size < shared.terms.size  # words alone, no word pairs


def test_oof_scores_from_the_tokenised_texts_are_the_bytes_of_fitting_each_fold_on_its_texts(review):
    from screenstack.features.artifacts.folds import FoldPlan
    from screenstack.learners import oof_predict
    from screenstack.learners.text import token_counts

    texts, y, folds = review
    fold_of = np.empty(len(y), dtype=np.int64)
    for k, (_, valid) in enumerate(folds):
        fold_of[valid] = k
    plan = FoldPlan(np.array([f"r{i}" for i in range(len(y))], dtype=object), y, fold_of, {"n_folds": 5})
    [counts] = token_counts(texts, [make_learner("tfidf-svm")]).values()
    once = oof_predict(make_learner("tfidf-svm"), counts, y, plan, texts[:50], progress=False)
    per_fold = oof_predict(make_learner("tfidf-svm"), texts, y, plan, texts[:50], progress=False)
    assert once[0].tobytes() == per_fold[0].tobytes() and once[1].tobytes() == per_fold[1].tobytes()


def test_training_texts_without_one_word_are_refused_in_one_line_from_their_counts_as_from_the_texts():
    # Tokenised once for every learner, texts of one letter each raised scikit-learn's "empty vocabulary" outside any
    # learner: a traceback where fitting on the texts said what was wrong.
    from screenstack.features.errors import ScreenstackError
    from screenstack.learners.text import token_counts

    texts, y = ["a", ".", "b 1", "?"], np.array([0, 1, 0, 1])
    [counts] = token_counts(texts, [make_learner("tfidf-svm")]).values()
    for given in (counts, texts):
        with pytest.raises(ScreenstackError, match=r"tfidf-svm: the training texts leave TF-IDF no words \(empty vocabulary"):
            make_learner("tfidf-svm").fit(given, y)


def test_counts_tokenised_for_other_settings_are_not_fitted_on():
    from screenstack.learners.text import token_counts

    texts, y = ["adhd stimulant trial"] * 3 + ["tic disorder guanfacine"] * 3, np.array([0, 0, 0, 1, 1, 1])
    [words_alone] = token_counts(texts, [make_learner("tfidf-svm", ngram_max=1)]).values()
    [rarer_dropped] = token_counts(texts, [make_learner("tfidf-svm", min_df=3)]).values()
    for counts in (words_alone, rarer_dropped):
        with pytest.raises(TypeError, match="tfidf-svm: token counts of other settings"):
            make_learner("tfidf-svm").fit(counts, y)


def test_a_fold_whose_words_are_all_too_rare_says_so_not_that_it_has_no_words():
    from screenstack.features.errors import ScreenstackError
    from screenstack.learners.text import token_counts

    texts, y = ["alpha beta", "gamma delta", "epsilon zeta"], np.array([0, 1, 0])
    [counts] = token_counts(texts, [make_learner("tfidf-svm")]).values()
    for given in (counts, texts):
        with pytest.raises(ScreenstackError, match=r"no words \(After pruning, no terms remain"):
            make_learner("tfidf-svm").fit(given, y)


@pytest.mark.parametrize("params,said", [({"max_df": 1.5}, "max_df=1.5: a share of the texts from 0.0 to 1.0, or a count"),
                                         ({"min_df": 0}, "min_df=0: a share"), ({"ngram_max": 0}, "ngram_max=0: the longest")])
def test_tfidf_settings_scikit_learn_refuses_are_refused_in_one_line_before_any_text_is_tokenised(params, said):
    from screenstack.features.errors import ScreenstackError
    from screenstack.learners.text import token_counts

    learner = make_learner("tfidf-svm", **params)
    for attempt in (lambda: learner.fit(["adhd trial", "tic trial"], [0, 1]), lambda: token_counts(["adhd trial"], [learner])):
        with pytest.raises(ScreenstackError, match=f"tfidf-svm: {re.escape(said)}"):
            attempt()
