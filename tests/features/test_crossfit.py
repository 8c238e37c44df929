"""`cross_fit`: the one fold loop; outputs written back by row, test outputs averaged, holes caught."""
from __future__ import annotations

import numpy as np
import pytest

from screenstack.features.artifacts.crossfit import cross_fit
from screenstack.features.artifacts.folds import FoldPlan


def _plan(folds, n_folds: int = 3) -> FoldPlan:
    folds = np.asarray(folds, dtype=np.int64)
    return FoldPlan(np.array([f"r{i}" for i in range(len(folds))], dtype=object), np.zeros(len(folds), dtype=int),
                    folds, {"n_folds": n_folds})


def test_each_row_gets_the_output_of_the_fold_that_validated_it_and_test_outputs_are_averaged():
    plan = _plan([2, 0, 1, 0, 2, 1, 1])
    seen = []

    def fit_fold(k, train_index, valid_index):
        seen.append(k)
        assert not set(train_index) & set(valid_index) and (plan.folds[valid_index] == k).all()
        return np.full(len(valid_index), float(k)), np.full(4, float(k))

    oof, test = cross_fit(plan, fit_fold, 4, progress=False)
    assert seen == [0, 1, 2] and oof.dtype == np.float64
    np.testing.assert_array_equal(oof, plan.folds.astype(float))
    np.testing.assert_allclose(test, np.full(4, 1.0))


def test_tuple_outputs_keep_their_shape_and_dtype():
    plan = _plan([0, 1, 0, 1], n_folds=2)

    def fit_fold(k, train_index, valid_index):
        vectors = np.tile(valid_index[:, None].astype(np.float32), (1, 3))
        return (np.full(len(valid_index), 0.5), vectors), (np.zeros(0), np.full((0, 3), k, dtype=np.float32))

    (oof, oof_vectors), (test, test_vectors) = cross_fit(plan, fit_fold, 0, progress=False)
    assert oof.shape == (4,) and oof_vectors.shape == (4, 3) and oof_vectors.dtype == np.float32
    np.testing.assert_array_equal(oof_vectors[:, 0], np.arange(4))
    assert test.shape == (0,) and test_vectors.shape == (0, 3)


def test_a_row_no_fold_validates_is_caught():
    plan = _plan([0, 1, 2, 7, 1])  # row 3 sits in fold 7 of a 3-fold plan: no fold validates it

    def fit_fold(k, train_index, valid_index):
        return np.ones(len(valid_index)), np.ones(2)

    with pytest.raises(AssertionError, match="cover every training row"):
        cross_fit(plan, fit_fold, 2, progress=False)

