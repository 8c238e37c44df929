"""The shared fold plan: stratified, reproducible, written once and refused when it belongs to other data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenstack.features.records.corpus import Corpus
from screenstack.features.errors import ScreenstackError
from screenstack.features.artifacts.folds import FOLDS_FILE, FoldConfig, ensure_fold_plan, load_fold_plan, make_fold_plan
from screenstack.features.artifacts.outputs import write_learner_output


def _corpus(n: int = 103, positives: int = 17, seed: int = 0) -> Corpus:
    labels = np.zeros(n)
    labels[np.random.default_rng(seed).choice(n, positives, replace=False)] = 1
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "title": [f"title {i}" for i in range(n)],
                          "abstract": "", "label": labels, "split": "train"})
    return Corpus(frame)


def test_copies_of_a_record_under_other_ids_share_its_fold_titles_alone_too():
    # A copy in another fold leaked its label into its twin's OOF score (cohen_adhd's ids 675 and 746, both included,
    # fell in folds 2 and 1). Records without an abstract are one input to the learners where their titles are alike
    # (with --text-cols title, every record: a helper saw 675 and 746 in two folds, each scored at the top).
    corpus = _corpus(120, 20, seed=3)
    frame = corpus.frame.copy()
    frame["abstract"] = [f"abstract {i}" for i in range(120)]
    copies = {100: 3, 101: 3, 102: 40, 103: 7}  # row -> the row it repeats (title and abstract)
    for row, of in copies.items():
        frame.loc[row, ["title", "abstract", "label"]] = frame.loc[of, ["title", "abstract", "label"]].to_numpy()
    frame.loc[110:119, "abstract"] = ""  # ten title-only records
    frame.loc[110:119, "title"] = "the same title"
    plan = make_fold_plan(Corpus(frame), FoldConfig(n_folds=5, seed=0))
    for row, of in copies.items():
        assert plan.folds[row] == plan.folds[of]
    assert len(set(plan.folds[110:120])) == 1
    titled = frame.assign(title=[f"title {i}" for i in range(120)])
    titled.loc[104, "title"] = titled.loc[5, "title"]  # the same title, one with an abstract: other texts, not grouped
    titled.loc[110, "title"] = titled.loc[111, "title"]
    plan = make_fold_plan(Corpus(titled), FoldConfig(n_folds=5, seed=0))
    assert plan.folds[110] == plan.folds[111]
    assert all(0 < plan.labels[plan.folds == k].sum() < np.sum(plan.folds == k) for k in range(5))
    unmoved = make_fold_plan(corpus, FoldConfig(n_folds=5, seed=0))  # no copies: the plan as drawn
    assert np.array_equal(unmoved.folds, make_fold_plan(_corpus(120, 20, seed=3), FoldConfig(n_folds=5, seed=0)).folds)


def test_copies_that_would_empty_a_fold_of_included_records_are_drawn_again_in_fewer_folds(recwarn):
    # Five included records, two of them one paper: moving the copy into its twin's fold left a fold without an
    # included record, so copies were left in two folds, each scored by a model that learnt the other (a helper's
    # few-included review, its two copies the top OOF scores). Four papers: four folds, copies together.
    frame = _corpus(120, 5, seed=2).frame.copy()
    frame["abstract"] = [f"abstract {i}" for i in range(120)]
    included = np.flatnonzero(frame["label"] == 1)
    frame.loc[included[1], ["title", "abstract"]] = frame.loc[included[0], ["title", "abstract"]].to_numpy()
    with pytest.warns(UserWarning, match=r"only 4 included papers once copies under other ids count as one: using 4 "
                                         r"folds instead of 5"):
        plan = make_fold_plan(Corpus(frame), FoldConfig(n_folds=5, seed=0))
    assert plan.n_folds == 4 and plan.folds[included[0]] == plan.folds[included[1]]
    assert all(0 < plan.labels[plan.folds == k].sum() < np.sum(plan.folds == k) for k in range(4))
    assert np.array_equal(plan.folds, make_fold_plan(Corpus(frame), FoldConfig(n_folds=5, seed=0)).folds)  # seeded


def test_folds_are_stratified_and_partition_the_training_rows():
    corpus = _corpus()
    plan = make_fold_plan(corpus, FoldConfig(n_folds=5, seed=0))
    assert plan.n_folds == 5 and list(plan.ids) == list(corpus.train["id"])
    assert sorted(np.bincount(plan.folds)) == [20, 20, 21, 21, 21]
    assert sorted(np.bincount(plan.folds, weights=plan.labels).astype(int)) == [3, 3, 3, 4, 4]
    validated = np.concatenate([valid for _, _, valid in plan.splits()])
    assert sorted(validated) == list(range(103))
    for k, train, valid in plan.splits():
        assert not set(train) & set(valid) and len(train) + len(valid) == 103
        assert (plan.folds[valid] == k).all()


def test_same_seed_same_plan_other_seed_other_plan():
    corpus = _corpus()
    first = make_fold_plan(corpus, FoldConfig(5, seed=0))
    assert np.array_equal(first.folds, make_fold_plan(corpus, FoldConfig(5, seed=0)).folds)
    assert not np.array_equal(first.folds, make_fold_plan(corpus, FoldConfig(5, seed=1)).folds)


def test_fewer_included_records_than_folds_gives_one_fold_per_included_record():
    with pytest.warns(UserWarning, match="only 3 included records: using 3 folds instead of 5"):
        plan = make_fold_plan(_corpus(n=40, positives=3), FoldConfig(n_folds=5))
    assert plan.n_folds == 3 and plan.meta["requested_folds"] == 5
    assert np.bincount(plan.folds, weights=plan.labels).tolist() == [1, 1, 1]


@pytest.mark.parametrize("positives", [0, 1])
def test_fewer_than_two_included_records_is_refused(positives):
    with pytest.raises(ScreenstackError, match=f"{positives} included record"):
        make_fold_plan(_corpus(n=40, positives=positives))


def test_fewer_excluded_records_than_folds_gives_one_fold_per_excluded_record():
    with pytest.warns(UserWarning, match="only 3 excluded records: using 3 folds instead of 5"):
        plan = make_fold_plan(_corpus(n=13, positives=10), FoldConfig(n_folds=5))
    assert plan.n_folds == 3
    assert np.bincount(plan.folds, weights=1 - plan.labels).tolist() == [1, 1, 1]


def test_one_excluded_record_is_refused():
    with pytest.raises(ScreenstackError, match="1 excluded record"):
        make_fold_plan(_corpus(n=11, positives=10))


def test_fewer_than_two_folds_is_refused():
    with pytest.raises(ScreenstackError, match="--folds 1: need at least 2"):
        make_fold_plan(_corpus(), FoldConfig(n_folds=1))


def _fitted_plan(corpus: Corpus, out, config: FoldConfig):
    """The plan in `out`, with a learner's outputs made from it (what a refusal protects)."""
    plan = ensure_fold_plan(corpus, out, config)
    write_learner_output(out, "logreg", plan, np.zeros(len(plan.ids)), [], np.zeros(0), {})
    return plan


def test_ensure_writes_the_plan_once_and_reads_it_back(tmp_path):
    corpus = _corpus()
    plan = ensure_fold_plan(corpus, tmp_path, FoldConfig(5, seed=3))
    assert (tmp_path / FOLDS_FILE).is_file()
    again = ensure_fold_plan(corpus, tmp_path, FoldConfig(5, seed=3))
    assert np.array_equal(again.folds, plan.folds) and list(again.ids) == list(plan.ids)
    assert np.array_equal(again.labels, plan.labels) and again.meta == plan.meta


@pytest.mark.parametrize("other, message", [
    # Other records: no option makes them again, so no way on is offered but a new folder or starting over.
    (dict(corpus=_corpus(seed=1)), r"differs in: the training records: \d+ labelled otherwise \(first: id 'r\d+'\)\)\. "
                                   r"Use a new --out folder, or delete"),
    (dict(config=FoldConfig(4, seed=3)), r"differs in: --folds \(5 there, 4 now\)\)\. Use a new --out folder, give --folds 5 "
                                         r"to go on with it, or delete"),
    (dict(config=FoldConfig(5, seed=4)), r"differs in: --seed \(3 there, 4 now\)\)"),
    (dict(config=FoldConfig(4, seed=4)), r"differs in: --folds \(5 there, 4 now\); --seed \(3 there, 4 now\)\)\. Use a new "
                                         r"--out folder, give --folds 5 --seed 3 to go on with it"),
])
def test_ensure_refuses_a_plan_for_other_data_folds_or_seed(tmp_path, other, message):
    _fitted_plan(_corpus(), tmp_path, FoldConfig(5, seed=3))
    written = (tmp_path / FOLDS_FILE).read_bytes()
    with pytest.raises(ScreenstackError, match=message):
        ensure_fold_plan(other.get("corpus", _corpus()), tmp_path, other.get("config", FoldConfig(5, seed=3)))
    assert (tmp_path / FOLDS_FILE).read_bytes() == written


def test_a_plan_nothing_was_fitted_on_is_drawn_again_for_other_records(tmp_path, caplog):
    # A run that stopped before its first learner (too few texts for TF-IDF) left its plan: the corrected
    # command was refused, "holds artifacts of another configuration", for a folder holding nothing of value.
    import logging

    ensure_fold_plan(_corpus(), tmp_path, FoldConfig(5, seed=3))
    other = _corpus(n=120, seed=1)
    with caplog.at_level(logging.INFO, logger="screenstack"):
        plan = ensure_fold_plan(other, tmp_path, FoldConfig(5, seed=3))
    assert "its fold plan was drawn for other training records or options (the training records: 17 record(s) not in " \
           "the plan (first: id 'r103')" in caplog.text and "nothing was fitted on it (a run that stopped early): drawn again" in caplog.text
    assert list(load_fold_plan(tmp_path).ids) == list(plan.ids) == list(other.train["id"])
    # Once a learner is made from it, a plan is refused as before: its outputs would be mixed with others.
    write_learner_output(tmp_path, "logreg", plan, np.zeros(len(plan.ids)), [], np.zeros(0), {})
    with pytest.raises(ScreenstackError, match="holds artifacts of another configuration"):
        ensure_fold_plan(_corpus(), tmp_path, FoldConfig(5, seed=3))


def test_a_plan_for_other_text_columns_names_them(tmp_path):
    from dataclasses import replace

    corpus = _corpus()
    _fitted_plan(replace(corpus, text_columns=("title", "abstract")), tmp_path, FoldConfig(5, seed=3))
    other = replace(_corpus(seed=1), text_columns=("title",))  # other texts, as --text-cols title makes them
    with pytest.raises(ScreenstackError, match=r"differs in: --text-cols \(title,abstract there, title now\)\)"):
        ensure_fold_plan(other, tmp_path, FoldConfig(5, seed=3))


def test_changed_texts_in_a_folder_another_version_fitted_say_that_version_may_read_the_file_otherwise(tmp_path, monkeypatch):
    # 0.3.23 reads "[No abstract available]" as no abstract: the same file gives other texts than it gave 0.3.22.
    _fitted_plan(_corpus(), tmp_path, FoldConfig(5, seed=3))
    edited = _edited(_corpus(), lambda f: f.assign(abstract=np.where(f["id"] == "r3", "Erratum.", f["abstract"])))
    with pytest.raises(ScreenstackError) as refused:
        ensure_fold_plan(edited, tmp_path, FoldConfig(5, seed=3))
    assert "fitted by screenstack" not in str(refused.value)  # the same version: the file changed
    import screenstack

    made_by = screenstack.__version__
    monkeypatch.setattr(screenstack, "__version__", "9.9.9")
    with pytest.raises(ScreenstackError) as refused:
        ensure_fold_plan(edited, tmp_path, FoldConfig(5, seed=3))
    assert (f"texts: 1 changed (first: id 'r3'); its learners were fitted by screenstack {made_by}, which may have read "
            "the same file's texts otherwise (data/README.md))") in str(refused.value)
    with pytest.raises(ScreenstackError) as refused:  # other options than texts: not said
        ensure_fold_plan(_corpus(), tmp_path, FoldConfig(4, seed=3))
    assert "fitted by screenstack" not in str(refused.value)


def test_missing_plan_names_the_command_that_writes_it(tmp_path):
    with pytest.raises(ScreenstackError, match="no fold plan.*fit-learners"):
        load_fold_plan(tmp_path)


def _edited(corpus: Corpus, edit) -> Corpus:
    frame = corpus.frame.copy()
    return Corpus(edit(frame).reset_index(drop=True))


@pytest.mark.parametrize("edit, message", [
    # A reviewer sorted the file (Excel) and reran into the same folder: not "other records".
    (lambda f: f.iloc[::-1], "the training records: the same ids and labels in another row order "
                             "(the fold plan and the learners follow the file's rows)"),
    (lambda f: f.iloc[:-2], "the training records: 2 of the plan's no longer there (first: id 'r101')"),
    (lambda f: pd.concat([f, f.iloc[:1].assign(id="new")]), "the training records: 1 record(s) not in the plan (first: id 'new')"),
    (lambda f: f.assign(title=f["title"] + "!"), "the training records' texts (the file or --text-cols)"),
    # The plan keeps each record's text hashes (normalised as the copy check compares them: "!" above is no change).
    (lambda f: f.assign(abstract=np.where(f["id"].isin(["r3", "r7"]), f["abstract"] + " Erratum.", f["abstract"])),
     "the training records' texts: 2 changed (first: id 'r3')"),
    # Every kind at once, so fixing one does not meet a second refusal; ids as `id_key` compares them.
    (lambda f: pd.concat([f.assign(label=np.where(f["id"] == "r5", 1 - f["label"], f["label"])).iloc[1:],
                          f.iloc[:1].assign(id="new")]),
     "the training records: 1 record(s) not in the plan (first: id 'new'), 1 of the plan's no longer there "
     "(first: id 'r0'), 1 labelled otherwise (first: id 'r5')"),
    (lambda f: f.assign(id=f["id"].str.upper()), "the training records: the same ids spelt otherwise (first: 'R0', the plan's 'r0')"),
])
def test_a_refused_plan_says_how_the_training_records_differ(tmp_path, edit, message):
    _fitted_plan(_corpus(), tmp_path, FoldConfig(5, seed=3))
    with pytest.raises(ScreenstackError) as refused:
        ensure_fold_plan(_edited(_corpus(), edit), tmp_path, FoldConfig(5, seed=3))
    assert f"differs in: {message})" in str(refused.value)


def test_folds_drawn_again_over_papers_follow_the_seed(recwarn):
    # Where copies would empty a fold, the folds are drawn again over the papers (stratified group K-fold): that draw
    # takes --seed too, so another seed gives another plan, as it does without copies.
    frame = _corpus(120, 5, seed=2).frame.copy()
    frame["abstract"] = [f"abstract {i}" for i in range(120)]
    included = np.flatnonzero(frame["label"] == 1)
    frame.loc[included[1], ["title", "abstract"]] = frame.loc[included[0], ["title", "abstract"]].to_numpy()
    plans = [make_fold_plan(Corpus(frame), FoldConfig(n_folds=5, seed=seed)) for seed in (0, 1)]
    assert all(plan.n_folds == 4 for plan in plans)  # drawn again over the four included papers
    assert not np.array_equal(plans[0].folds, plans[1].folds)


def test_records_that_share_only_a_title_are_not_held_in_one_fold():
    # `copy_groups` keys a record by its title and abstract, by its title alone only where it has no abstract. Papers
    # that share a title but not an abstract (letters, errata, companion papers) are other inputs to the learners: the
    # fold plan should draw them as it draws any two records (about one pair in five in one fold, of five folds).
    n = 200
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "title": [f"Letter to the editor {i // 2}" for i in range(n)],
                          "abstract": [f"a wholly different abstract, number {i}" for i in range(n)],
                          "label": [float(i % 7 == 0) for i in range(n)], "split": "train"})
    plan = make_fold_plan(Corpus(frame), FoldConfig(n_folds=5, seed=0))
    together = float(np.mean(plan.folds[0::2] == plan.folds[1::2]))
    assert together < 0.5, f"{together:.0%} of 100 pairs sharing only a title are in one fold"
