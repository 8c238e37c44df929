"""The one cross-fitting loop, shared by the learners and the fine-tuner.

`cross_fit` walks the folds of the shared `FoldPlan` and hands each to a
per-fold function, which fits a model on the fold's training rows and returns
that model's outputs on the fold's validation rows and on the test records.
Validation outputs are written back by row index, so each training row's
out-of-fold (OOF) output comes only from the model that never saw its label.
Test outputs (the fine-tuner's) are averaged over the fold models, so a
threshold chosen on OOF scores applies to test scores made by the same K
models; the learners keep their fold models and average them afterwards
(`learners.oof.fold_mean_scores`), as `predict` does on new records.

It lives in `features` because both `learners.oof` and `extract.finetune`
use it, and `extract` may not import `learners`.
"""
from __future__ import annotations

from typing import Callable, Union

import numpy as np
from tqdm.auto import tqdm

from .folds import FoldPlan

Output = Union[np.ndarray, tuple]  # one array, or a tuple of arrays (e.g. scores and vectors)
FitFold = Callable[[int, np.ndarray, np.ndarray], "tuple[Output, Output]"]


def cross_fit(plan: FoldPlan, fit_fold: FitFold, n_test: int = 0, *, desc: str = "folds",
              progress: bool = True) -> tuple[Output, Output]:
    """Run `fit_fold` on every fold of `plan`; OOF outputs by row, test outputs averaged over folds.

    Parameters
    ----------
    plan : the shared fold plan; rows are indices into ``plan.ids``
    fit_fold : ``fit_fold(k, train_index, valid_index) -> (valid, test)``: fit
        fold k's model on ``train_index`` and return its outputs on
        ``valid_index`` (first axis ``len(valid_index)``) and on the `n_test`
        test records (first axis `n_test`). Each of ``valid`` and ``test`` is
        one float array or a tuple of them; trailing axes and dtype are kept.
    n_test : number of test records
    desc : label of the progress bar (one step per fold)
    progress : show the progress bar

    Returns
    -------
    (oof, test), shaped like what `fit_fold` returns: ``oof`` with one row per
    training row, ``test`` the mean of the fold models' test outputs.

    A row that no fold validates would stay NaN (never 0, which would pass for
    a real score); since the validation folds must partition the training
    rows, that fails an assertion here instead of reaching the stacker.

    Examples
    --------
    >>> oof, test = cross_fit(plan, lambda k, tr, va: (score(va), score_test()), len(test_rows))  # doctest: +SKIP
    """
    n_train = len(plan.ids)
    oof: list[np.ndarray] | None = None
    test: list[np.ndarray] = []
    single = False
    for k, train_index, valid_index in tqdm(list(plan.splits()), desc=desc, unit="fold", disable=not progress):
        valid_out, test_out = fit_fold(k, train_index, valid_index)
        single = not isinstance(valid_out, tuple)
        valid_out, test_out = (valid_out,) if single else valid_out, (test_out,) if single else test_out
        assert len(valid_out) == len(test_out), "one test output per validation output"
        assert all(np.issubdtype(v.dtype, np.floating) for v in valid_out), "float outputs, so unfilled rows can be NaN"
        if oof is None:
            oof = [np.full((n_train, *v.shape[1:]), np.nan, dtype=v.dtype) for v in valid_out]
            test = [np.zeros((n_test, *v.shape[1:]), dtype=v.dtype) for v in valid_out]
        for whole, part in zip(oof, valid_out):
            assert len(part) == len(valid_index), "one row per validation row"
            whole[valid_index] = part
        for whole, part in zip(test, test_out):
            assert len(part) == n_test, "one row per test record"
            whole += part / plan.n_folds
    assert oof is not None, "the fold plan has no folds"
    for whole in oof:
        # NaN inside a float row (not only whole rows) also means "not filled".
        assert not np.isnan(whole).any(), "validation folds must cover every training row"
    if single:
        return oof[0], test[0]
    return tuple(oof), tuple(test)
