"""With few included training records the default blend leaves out learners that cannot learn from so few."""
from __future__ import annotations

import numpy as np
import pandas as pd

from screenstack.features.artifacts.folds import FoldConfig, ensure_fold_plan
from screenstack.features.artifacts.outputs import write_learner_output
from screenstack.features.records.corpus import Corpus
from screenstack.stacking.blend import make_blender
from screenstack.stacking.stack import StackConfig, stack


def _run(out, n_included: int, **config) -> dict:
    """A run of 300 training records with `n_included` included; lightgbm's scores are noise, the others see the labels."""
    rng = np.random.default_rng(0)
    n_train, n = 300, 340
    label = np.zeros(n)
    label[np.linspace(0, n_train - 1, n_included).astype(int)] = 1
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "title": "t", "abstract": "a", "label": label,
                          "split": ["train"] * n_train + ["test"] * (n - n_train)})
    frame.loc[n_train:, "label"] = np.nan
    corpus = Corpus(frame)
    plan = ensure_fold_plan(corpus, out, FoldConfig(n_folds=3, seed=0))
    for name in ("logreg", "lightgbm", "tfidf-svm"):
        signal = rng.normal(size=n) if name == "lightgbm" else 3.0 * label + rng.normal(size=n)
        score = 1 / (1 + np.exp(-signal))
        write_learner_output(out, name, plan, score[:n_train], corpus.test["id"], score[n_train:], {"learner": name})
    return stack(out, StackConfig(**config))


def test_below_ten_included_the_boosted_trees_get_no_weight_and_the_console_says_so(tmp_path, caplog):
    caplog.set_level("INFO", logger="screenstack")
    summary = _run(tmp_path, 6)
    assert summary["blend"]["method"] == "rank-average"
    assert summary["blend"]["weights"] == {"lightgbm": 0.0, "logreg": 0.5, "tfidf-svm": 0.5}
    assert "lightgbm left out of the rank average (6 included" in caplog.text


def test_an_explicit_rank_average_and_ten_included_keep_every_learner(tmp_path):
    explicit = _run(tmp_path / "explicit", 6, blend="rank-average")
    assert set(explicit["blend"]["weights"].values()) == {1 / 3}
    many = _run(tmp_path / "many", 12)
    assert many["blend"]["method"] == "logistic" and many["blend"]["weights"]["lightgbm"] != 0.0


def test_rank_average_with_use_is_the_mean_of_the_used_columns_ranks():
    Z = np.random.default_rng(1).random((50, 3))
    blender = make_blender("rank-average", use=(True, False, True)).fit(Z, np.zeros(50))
    ranks = (Z.argsort(axis=0).argsort(axis=0) + 1) / 50  # each column's ECDF at its own values (no ties)
    assert np.allclose(blender.predict(Z), ranks[:, [0, 2]].mean(axis=1))
