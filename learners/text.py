"""Learners on raw text: each fits its own TF-IDF vectoriser, so it is fitted per training fold.

A fitted learner is kept as two files (`to_files` / `from_files`, see
`learners.persist`): ``vocabulary.json`` (the terms, in column order) and
``safetensors`` (the IDF weights and the linear model's coefficients). Loading
rebuilds the `TfidfVectorizer` with that vocabulary and IDF, so new texts get
exactly the columns and scores the fitted model gave them; nothing is unpickled.

Scoring new texts with the K fold models (`learners.oof.fold_mean_scores`)
tokenises them once, not K times: `fold_tfidf_rows` counts every n-gram of
any fold's vocabulary in one pass, then hands each fold model its own columns,
weighted by its own IDF. The matrices are the ones each model's vectoriser
makes (same columns, same order, same float32 values), so the scores are the
same bytes, about K times faster (bench/scoring.py).
"""
from __future__ import annotations

import json
import logging
from typing import Iterable, Iterator

import numpy as np
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from ..features.errors import ScreenstackError
from ..features.records.tfidf import make_tfidf
from .registry import register

log = logging.getLogger("screenstack")

# class_weight="auto": below this many included training records the included ones weigh sqrt(n0 / n1), not n0 / n1.
# With a handful of them, balanced weights let one odd record (one without an abstract, say) steer the ranking:
# over the protocol's 300 halves sqrt weights below 10 raised F7 by 0.0008 and took the two halves where balanced
# TF-IDF ranked below chance off the list below flag-all (8 -> 6); from 10 on they lost F7 (bench/README.md, protocol).
SQRT_WEIGHTS_BELOW = 10
CLASS_WEIGHTS = ("auto", "balanced", "sqrt-balanced")


def resolved_class_weight(class_weight: str, y) -> str:
    """What `class_weight` means for training labels `y`: ``"auto"`` becomes ``"balanced"`` from
    `SQRT_WEIGHTS_BELOW` included records on, ``"sqrt-balanced"`` below; the others stay."""
    if class_weight != "auto":
        return class_weight
    return "balanced" if int(np.sum(y)) >= SQRT_WEIGHTS_BELOW else "sqrt-balanced"


def balanced_ratio(y) -> tuple[int, float]:
    """``(included records, excluded per included)`` of labels `y`: what an included record weighs under "balanced"."""
    included = int(np.sum(y))
    return included, (len(y) - included) / max(included, 1)


def describe_class_weight(class_weight: str, y) -> str:
    """How much an included record weighs under `class_weight` with training labels `y`, in words (the report's)."""
    included, ratio = balanced_ratio(y)
    if resolved_class_weight(class_weight, y) == "balanced":
        return f"an included record weighs {ratio:.3g} excluded ones (balanced)"
    why = f", as {included} included training records are fewer than {SQRT_WEIGHTS_BELOW}" if class_weight == "auto" else ""
    return f"an included record weighs {np.sqrt(ratio):.3g} excluded ones, the square root of the balanced {ratio:.3g}{why}"


def class_weights(y: np.ndarray, class_weight: str) -> dict[int, float] | str:
    """The class weights of a TF-IDF learner's linear model for labels `y` (``"auto"`` resolved beforehand).

    ``"balanced"`` is scikit-learn's (each class weighs n / (2 n_c)); ``"sqrt-balanced"`` weighs excluded
    records 1 and included ones sqrt(n0 / n1).
    """
    if class_weight == "balanced":
        return "balanced"
    return {0: 1.0, 1: float(np.sqrt(balanced_ratio(y)[1]))}


class TfidfRows:
    """Texts already turned into one fitted model's TF-IDF matrix (see `fold_tfidf_rows`)."""

    def __init__(self, matrix):
        self.matrix = matrix

    def __len__(self) -> int:
        return self.matrix.shape[0]


def fold_tfidf_rows(models: list, texts: list[str]) -> Iterator[TfidfRows]:
    """Each fitted text learner's TF-IDF matrix of `texts`, from one tokenising pass.

    The n-grams of every model's vocabulary are counted together (one
    `CountVectorizer` over their union, with the models' own analyser
    settings); each model then takes its own terms' columns, in its own column
    order, and applies its own sublinear TF, IDF and l2 norm (its vectoriser's
    TF-IDF step), which gives exactly the matrix its ``transform`` gives.
    One model's matrix at a time, as the caller asks for it: a chunk of 50,000
    texts holds the counts and one TF-IDF matrix, not K of them.
    """
    vectorizers = [model.vectorizer_ for model in models]
    union = sorted(set().union(*(v.vocabulary_ for v in vectorizers)))
    count_params = CountVectorizer().get_params()
    counter = CountVectorizer(**{**{k: v for k, v in vectorizers[0].get_params().items() if k in count_params},
                                 "vocabulary": union})
    counts = counter.transform(texts)
    position = counter.vocabulary_
    for vectorizer in vectorizers:
        vocabulary = vectorizer.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)  # its column order
        columns = np.fromiter((position[term] for term in terms), dtype=np.int64, count=len(terms))
        own = counts[:, columns]
        own.sort_indices()
        yield TfidfRows(vectorizer._tfidf.transform(own, copy=False))


class _TfidfLinear(BaseEstimator, ClassifierMixin):
    """TF-IDF followed by a linear model; scores are a logistic squash of the margin."""

    input = "text"

    def _model(self, class_weight):
        raise NotImplementedError

    def for_labels(self, y) -> "_TfidfLinear":
        """This learner with ``class_weight="auto"`` fixed from all training labels `y` (`oof_predict` calls it
        before the fold loop), so every fold model weighs its records alike, whatever its own count of included ones.
        Like the stratified fold plan and the blend's rule, this reads the count of included records, held-out
        ones included; nothing else of a held-out record's label reaches the models that score it."""
        if self.class_weight not in CLASS_WEIGHTS:
            raise ScreenstackError(f"{self.name}: class_weight={self.class_weight!r} is not one of {', '.join(CLASS_WEIGHTS)}.")
        if self.class_weight != "auto":
            return self
        resolved = resolved_class_weight(self.class_weight, y)
        if resolved == "balanced":
            return clone(self).set_params(class_weight=resolved)
        included, ratio = balanced_ratio(y)
        log.info("%s: %d included training records (fewer than %d): each weighs %.3g excluded ones, the square root of "
                 "the balanced %.3g, so one odd record cannot steer the ranking", self.name, included, SQRT_WEIGHTS_BELOW,
                 np.sqrt(ratio), ratio)
        return clone(self).set_params(class_weight=resolved)

    def too_few_texts(self, n_texts: int) -> str | None:
        """Why `n_texts` training texts are too few for this learner's TF-IDF (no term can be in at least ``min_df``
        of them and at most ``max_df``), or None. `learners.fit.refuse_too_few_texts` asks it before any fitting."""
        most = self.max_df * n_texts if isinstance(self.max_df, float) else self.max_df
        least = self.min_df * n_texts if isinstance(self.min_df, float) else self.min_df
        if most >= least:
            return None
        def share(df) -> str:  # scikit-learn's rule: a float is a share of the texts, an int a count of them
            return f"{df:.0%} of them" if isinstance(df, float) else f"{df} of them"

        return (f"{self.name}: {n_texts} training texts in a fold are too few for TF-IDF, which keeps the words found in "
                f"at least {share(self.min_df)} and in at most {share(self.max_df)}. Label more records (a few dozen at least).")

    def fit(self, X, y):
        y = np.asarray(y, dtype=int)
        weight = class_weights(y, self.for_labels(y).class_weight)
        self.vectorizer_ = make_tfidf(ngram_max=self.ngram_max, min_df=self.min_df, max_df=self.max_df)
        try:
            features = self.vectorizer_.fit_transform(X)
        except ValueError as error:  # scikit-learn's "empty vocabulary" / "no terms remain"
            if (too_few := self.too_few_texts(len(X))) is not None:
                raise ScreenstackError(too_few) from None
            raise ScreenstackError(
                f"{self.name}: the training texts leave TF-IDF no words ({' '.join(str(error).split())}): titles and "
                f"abstracts are empty, or hold the same few words in every record. Check the training file's text "
                f"columns (--text-cols), or use vector learners."
            ) from None
        self.model_ = self._model(weight).fit(features, y)
        self.classes_ = self.model_.classes_
        return self

    @staticmethod
    def fold_inputs(models: list, X) -> Iterable:
        """What each of `models` scores for texts `X`: its TF-IDF rows, from one tokenising pass (`fold_tfidf_rows`)."""
        same = all(type(model) is type(models[0]) for model in models) and not isinstance(X, TfidfRows)
        return fold_tfidf_rows(models, list(X)) if same and len(X) else [X] * len(models)

    def decision_function(self, X):
        check_is_fitted(self, "model_")
        return self.model_.decision_function(X.matrix if isinstance(X, TfidfRows) else self.vectorizer_.transform(X))

    def predict_proba(self, X):
        # A monotone squash of the margin: a score in [0, 1] for blending and
        # thresholding, not a calibrated probability.
        score = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - score, score])

    def to_files(self) -> dict[str, bytes]:
        """The fitted state as file contents, by file suffix (`learners.persist` names the files)."""
        check_is_fitted(self, "model_")
        vocabulary = self.vectorizer_.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        arrays = {"idf": self.vectorizer_.idf_, "coef": self.model_.coef_, "intercept": self.model_.intercept_,
                  "classes": self.classes_}
        return {"vocabulary.json": json.dumps(terms, ensure_ascii=False).encode(), "safetensors": save_arrays(arrays)}

    def from_files(self, files: dict[str, bytes]):
        """This learner, fitted, from what `to_files` wrote."""
        terms = json.loads(files["vocabulary.json"])
        arrays = load_arrays(files["safetensors"])
        self.vectorizer_ = make_tfidf(ngram_max=self.ngram_max, min_df=self.min_df, max_df=self.max_df)
        self.vectorizer_.set_params(vocabulary={term: i for i, term in enumerate(terms)})
        self.vectorizer_.idf_ = arrays["idf"]
        self.model_ = self._model("balanced")  # the weights shaped the coefficients read here; scoring ignores them
        self.model_.coef_, self.model_.intercept_, self.model_.classes_ = arrays["coef"], arrays["intercept"], arrays["classes"]
        self.model_.n_features_in_ = len(terms)
        self.classes_ = self.model_.classes_
        return self


@register
class TfidfSVM(_TfidfLinear):
    """TF-IDF + linear SVM (ASReview's default family); class weights as `class_weights`, ``"auto"``: balanced from
    `SQRT_WEIGHTS_BELOW` included training records, square-root-balanced below."""

    name = "tfidf-svm"

    def __init__(self, C=0.1, ngram_max=2, min_df=2, max_df=0.95, class_weight="auto", random_state=0):
        self.C = C
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_df = max_df
        self.class_weight = class_weight
        self.random_state = random_state

    def _model(self, class_weight):
        return LinearSVC(C=self.C, class_weight=class_weight, random_state=self.random_state)


@register
class TfidfLogReg(_TfidfLinear):
    """TF-IDF + L2 logistic regression (the seed notebooks' baseline); class weights as `TfidfSVM`'s."""

    name = "tfidf-logreg"

    def __init__(self, C=4.0, ngram_max=2, min_df=2, max_df=0.95, class_weight="auto", random_state=0):
        self.C = C
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_df = max_df
        self.class_weight = class_weight
        self.random_state = random_state

    def _model(self, class_weight):
        return LogisticRegression(C=self.C, class_weight=class_weight, max_iter=2000, solver="liblinear",
                                  random_state=self.random_state)
