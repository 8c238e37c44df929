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

Fitting is the same the other way round: `fit-learners` tokenises the
training texts once (`token_counts`: every n-gram's count in every text, the
n-grams in too few texts for any fold dropped) and hands each fold its rows
(`TokenCounts`), where the K folds of each text learner re-tokenised most of
them K times over. A fold's vocabulary, IDF and matrix are those its
vectoriser finds on the fold's texts (tests/learners/test_text.py checks the
bytes against `TfidfVectorizer.fit_transform`).
"""
from __future__ import annotations

import json
import logging
from numbers import Integral, Real
from typing import Iterable, Iterator

import numpy as np
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
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


def analyser_settings(vectorizer) -> dict:
    """The settings of `vectorizer` that say how it cuts a text into n-grams: a `CountVectorizer`'s, less the
    vocabulary and what prunes it."""
    count_params = set(CountVectorizer().get_params()) - {"min_df", "max_df", "max_features", "vocabulary"}
    return {key: value for key, value in vectorizer.get_params().items() if key in count_params}


class TokenCounts:
    """Texts tokenised once: each text's count of every n-gram (`counts`, CSR, one column per term of `terms` in
    sorted order) as `analyser` (`analyser_settings`) cuts them, terms in fewer than `dropped_below` of the texts left
    out; `has_words`, whether each text had any n-gram before they were. Indexing by rows gives those texts' counts,
    which a TF-IDF learner fits on and scores as it would the texts themselves (`_TfidfLinear.fit`): how
    `oof_predict` hands the folds their rows."""

    def __init__(self, counts, terms: np.ndarray, analyser: dict, has_words: np.ndarray, dropped_below: int = 1,
                 position: dict | None = None):
        self.counts, self.terms, self.analyser, self.has_words = counts, terms, analyser, has_words
        self.dropped_below = dropped_below
        self._position = {} if position is None else position  # one dict for all rows taken: filled once, on demand

    def __len__(self) -> int:
        return self.counts.shape[0]

    def __getitem__(self, rows) -> "TokenCounts":
        return TokenCounts(self.counts[rows], self.terms, self.analyser, self.has_words[rows], self.dropped_below,
                           self._position)

    @property
    def position(self) -> dict:
        """Each term's column."""
        if not self._position:
            self._position.update((term, i) for i, term in enumerate(self.terms.tolist()))
        return self._position

    @classmethod
    def of(cls, texts: list[str], analyser: dict, dropped_below: int = 1) -> "TokenCounts":
        """`texts` tokenised once, terms found in fewer than `dropped_below` of them left out: no subset of the texts
        can hold such a term in `dropped_below` texts, so a learner whose ``min_df`` is at least that never keeps it."""
        counter = CountVectorizer(**analyser, min_df=1, max_df=1.0, max_features=None)
        try:
            counts, terms = counter.fit_transform(texts).tocsr(), counter.get_feature_names_out()
        except ValueError as error:  # not one word in any text: each learner's fit says so, as on those texts
            if "empty vocabulary" not in str(error):
                raise
            counts, terms = csr_matrix((len(texts), 0), dtype=counter.dtype), np.array([], dtype=object)
        kept = np.flatnonzero(np.bincount(counts.indices, minlength=counts.shape[1]) >= dropped_below)
        return cls(counts[:, kept], terms[kept], analyser, np.diff(counts.indptr) > 0, dropped_below)


def token_counts(texts: list[str], learners: list) -> dict[tuple, TokenCounts]:
    """The training `texts` tokenised once for each distinct analyser among the TF-IDF `learners`, keyed by
    `_TfidfLinear.analyser_key`: what `fit-learners` hands every fold of every text learner."""
    groups: dict[tuple, list] = {}
    for learner in learners:
        learner.check_params()
        groups.setdefault(learner.analyser_key(), []).append(learner)
    return {key: TokenCounts.of(texts, analyser_settings(group[0].new_vectorizer()),
                                min(learner.counted_min_df() for learner in group))
            for key, group in groups.items()}


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
    counter = CountVectorizer(**analyser_settings(vectorizers[0]), vocabulary=union)
    counts = counter.transform(texts)
    for vectorizer in vectorizers:
        yield TfidfRows(weighted_counts(vectorizer, counts, counter.vocabulary_))


def weighted_counts(vectorizer, counts, position: dict):
    """`counts` (term `t` in column ``position[t]``) as fitted `vectorizer`'s TF-IDF matrix: its terms' columns, in its
    column order, weighted by its sublinear TF, IDF and norm; what its ``transform`` makes of the texts counted."""
    vocabulary = vectorizer.vocabulary_
    terms = sorted(vocabulary, key=vocabulary.__getitem__)  # its column order
    own = counts[:, np.fromiter((position[term] for term in terms), dtype=np.int64, count=len(terms))]
    own.sort_indices()
    return vectorizer._tfidf.transform(own, copy=False)


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

    def new_vectorizer(self):
        """This learner's TF-IDF vectoriser, unfitted."""
        return make_tfidf(ngram_max=self.ngram_max, min_df=self.min_df, max_df=self.max_df)

    def fitted_vectorizer(self, terms: list[str], idf: np.ndarray):
        """This learner's TF-IDF vectoriser with vocabulary `terms` (in column order) and IDF `idf`: a fold's, as
        `_fit_counts` found them, or a saved model's (`from_files`)."""
        vectorizer = self.new_vectorizer()
        vectorizer.set_params(vocabulary={term: i for i, term in enumerate(terms)})
        vectorizer.idf_ = idf
        return vectorizer

    def analyser_key(self) -> tuple:
        """What tells learners that cut texts into the same n-grams (one `TokenCounts` serves them all)."""
        return tuple(sorted((key, repr(value)) for key, value in analyser_settings(self.new_vectorizer()).items()))

    def counted_min_df(self) -> int:
        """The fewest texts (of all the training texts) a term must be in for this learner ever to keep it in a fold:
        ``min_df`` as a count; 1 where it is a share."""
        return self.min_df if isinstance(self.min_df, Integral) else 1

    def check_params(self) -> None:
        """Refuse TF-IDF settings scikit-learn's vectoriser refuses (a learner's parameters come from the Python API,
        `fit_learners(params=...)`), before any text is tokenised."""
        def is_count(value) -> bool:
            return isinstance(value, Integral) and not isinstance(value, bool)

        if not (is_count(self.ngram_max) and self.ngram_max >= 1):
            raise ScreenstackError(f"{self.name}: ngram_max={self.ngram_max!r}: the longest n-gram in words, a whole number from 1.")
        for name in ("min_df", "max_df"):
            value = getattr(self, name)
            if not (is_count(value) and value >= 1 or isinstance(value, Real) and not is_count(value) and 0 <= value <= 1):
                raise ScreenstackError(f"{self.name}: {name}={value!r}: a share of the texts from 0.0 to 1.0, or a count of "
                                       "them from 1.")

    def _fit_counts(self, X: TokenCounts):
        """`X`'s TF-IDF matrix, with ``vectorizer_`` fitted on it as `TfidfVectorizer.fit_transform` fits on the
        texts (scikit-learn's `CountVectorizer._limit_features` and its errors, step by step): the terms in at least
        ``min_df`` and at most ``max_df`` of them, the ``max_features`` commonest (its tie order kept), columns in term
        order; IDF from their counts. The vocabulary and IDF are set as a saved model's (`fitted_vectorizer`). A
        TypeError for counts made for another analyser or a higher ``min_df``."""
        vectorizer = self.new_vectorizer()
        if X.analyser != analyser_settings(vectorizer) or self.counted_min_df() < X.dropped_below:
            raise TypeError(f"{self.name}: token counts of other settings than this learner's")  # not "no words"
        n = len(X)
        high = vectorizer.max_df if isinstance(vectorizer.max_df, Integral) else vectorizer.max_df * n
        low = vectorizer.min_df if isinstance(vectorizer.min_df, Integral) else vectorizer.min_df * n
        if not X.has_words.any():
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        if high < low:
            raise ValueError("max_df corresponds to < documents than min_df")
        in_texts = np.bincount(X.counts.indices, minlength=X.counts.shape[1])
        present = np.flatnonzero(in_texts)  # the terms of these texts: the columns their own vectoriser would have
        kept = (in_texts[present] <= high) & (in_texts[present] >= low)
        limit = vectorizer.max_features
        if limit is not None and kept.sum() > limit:  # the same array scikit-learn sorts, so the same ties
            commonest = (-np.asarray(X.counts.sum(axis=0)).ravel()[present][kept]).argsort()[:limit]
            chosen = np.zeros(len(kept), dtype=bool)
            chosen[np.flatnonzero(kept)[commonest]] = True
            kept = chosen
        columns = present[kept]
        if not len(columns):
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        counts = X.counts[:, columns]
        counts.sort_indices()
        tfidf = TfidfTransformer(norm=vectorizer.norm, use_idf=vectorizer.use_idf, smooth_idf=vectorizer.smooth_idf,
                                 sublinear_tf=vectorizer.sublinear_tf).fit(counts)
        self.vectorizer_ = self.fitted_vectorizer(X.terms[columns].tolist(), tfidf.idf_)
        return tfidf.transform(counts, copy=False)

    def fit(self, X, y):
        """Fit on texts `X`, or on `TokenCounts` rows (the same model as on their texts)."""
        y = np.asarray(y, dtype=int)
        weight = class_weights(y, self.for_labels(y).class_weight)
        self.check_params()
        try:
            if not isinstance(X, TokenCounts):
                X = TokenCounts.of(list(X), analyser_settings(self.new_vectorizer()), self.counted_min_df())
            features = self._fit_counts(X)
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
        same = all(type(model) is type(models[0]) for model in models) and not isinstance(X, (TfidfRows, TokenCounts))
        return fold_tfidf_rows(models, list(X)) if same and len(X) else [X] * len(models)

    def _counted_rows(self, X: TokenCounts):
        """`X`'s rows as this model's vectoriser makes them from their texts: its terms' columns of the counts (all
        there: `X` holds every term of the texts it was fitted on), weighted by its IDF."""
        try:
            return weighted_counts(self.vectorizer_, X.counts, X.position)
        except KeyError:
            raise TypeError(f"{self.name}: token counts without this model's terms") from None

    def decision_function(self, X):
        check_is_fitted(self, "model_")
        if isinstance(X, TfidfRows):
            return self.model_.decision_function(X.matrix)
        if isinstance(X, TokenCounts):
            return self.model_.decision_function(self._counted_rows(X))
        return self.model_.decision_function(self.vectorizer_.transform(X))

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
        self.vectorizer_ = self.fitted_vectorizer(terms, arrays["idf"])
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
