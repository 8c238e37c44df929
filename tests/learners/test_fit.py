"""`fit_learners`: vector learners on a feature file, reuse of matching outputs, refusal of mismatched ones."""
from __future__ import annotations

import re

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import screenstack.learners.fit as fit_module
from screenstack.features.records.corpus import load_corpus, texts
from screenstack.features.errors import ScreenstackError
from screenstack.features.artifacts.folds import FoldConfig, load_fold_plan
from screenstack.features.artifacts.store import VectorFiles, write_vectors
from screenstack.learners import make_learner, oof_predict
from screenstack.learners.fit import block_widths, fit_learners, refuse_refits

# The dataset slice holds records without text; the corpus tests cover that warning.
pytestmark = pytest.mark.filterwarnings("ignore:.*neither title nor abstract")
FAST_BOOSTING = {"lightgbm": {"fixed_rounds": 50, "n_jobs": 1}}


@pytest.fixture
def corpus(tiny_corpus_files):
    return load_corpus(*tiny_corpus_files)


def _write_features(path, corpus, order=None, drop=0):
    """A feature file whose vectors carry each training record's label in their first columns."""
    frame = corpus.frame
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(frame), 24)).astype(np.float32)
    vectors[:, :4] += 2.0 * frame["label"].fillna(0).to_numpy(dtype=np.float32)[:, None]
    rows = np.arange(len(frame)) if order is None else order
    rows = rows[: len(rows) - drop]
    return write_vectors(path, frame["id"].to_numpy()[rows], frame["split"].to_numpy()[rows], vectors[rows], {"model": "toy"})


def test_vector_learners_align_feature_rows_by_id(tmp_path, corpus):
    in_order = _write_features(tmp_path / "in_order.parquet", corpus)
    shuffled = _write_features(tmp_path / "shuffled.parquet", corpus, order=np.random.default_rng(1).permutation(len(corpus.frame)))
    runs = []
    for features, out in ((in_order, tmp_path / "a"), (shuffled, tmp_path / "b")):
        written = fit_learners(corpus, out, ("logreg", "lightgbm"), (str(features),), params=FAST_BOOSTING, progress=False)
        assert [p.name for p in written] == ["logreg", "lightgbm"]
        runs.append({name: (pd.read_parquet(out / "learners" / name / "oof.parquet"),
                            pd.read_parquet(out / "learners" / name / "test.parquet")) for name in ("logreg", "lightgbm")})
    for name in ("logreg", "lightgbm"):
        (oof_a, test_a), (oof_b, test_b) = runs[0][name], runs[1][name]
        pd.testing.assert_frame_equal(oof_a, oof_b)
        pd.testing.assert_frame_equal(test_a, test_b)
        assert list(oof_a["id"]) == list(corpus.train["id"]) and list(test_a["id"]) == list(corpus.test["id"])
        assert oof_a["score"].notna().all() and test_a["score"].notna().all()
        # The vectors carry the labels, so a high OOF AUC shows rows met their own labels.
        assert roc_auc_score(oof_a["label"], oof_a["score"]) > 0.95


def test_matching_outputs_are_reused_not_refitted(tmp_path, corpus, monkeypatch):
    features = _write_features(tmp_path / "features.parquet", corpus)
    out = tmp_path / "run"
    fit_learners(corpus, out, ("logreg",), (str(features),), progress=False)
    oof_file = out / "learners" / "logreg" / "oof.parquet"
    before = (oof_file.stat().st_mtime_ns, oof_file.read_bytes())

    def refit(*args, **kwargs):
        raise AssertionError("fit_learners refitted a learner whose outputs match")

    monkeypatch.setattr(fit_module, "oof_predict", refit)
    assert fit_learners(corpus, out, ("logreg",), (str(features),), progress=False) == [out / "learners" / "logreg"]
    assert (oof_file.stat().st_mtime_ns, oof_file.read_bytes()) == before


def test_a_feature_file_outside_out_written_again_with_other_vectors_is_not_taken_for_the_one_fitted_on(tmp_path, corpus):
    # Same path, same metadata, other vectors: its learners were reused as if nothing had changed.
    features = _write_features(tmp_path / "features.parquet", corpus)
    out = tmp_path / "run"
    fit_learners(corpus, out, ("logreg",), (str(features),), progress=False)
    frame = corpus.frame
    write_vectors(features, frame["id"], frame["split"], np.zeros((len(frame), 24), np.float32), {"model": "toy"})
    with pytest.raises(ScreenstackError, match=r"'logreg' outputs of another configuration \(differs in: the contents of "
                                               r"the feature files outside OUT\)"):
        fit_learners(corpus, out, ("logreg",), (str(features),), progress=False)
    # The learner keeps the hash it was fitted with (outputs of 0.3.10 and before, without one, are reused as then).
    assert len(json.loads((out / "learners" / "logreg" / "meta.json").read_text())["feature_sha256"][0]) == 64


def test_same_learner_with_other_params_is_refused(tmp_path, corpus):
    features = _write_features(tmp_path / "features.parquet", corpus)
    out = tmp_path / "run"
    fit_learners(corpus, out, ("logreg",), (str(features),), progress=False)
    with pytest.raises(ScreenstackError, match=r"'logreg' outputs of another configuration \(differs in: parameters C \(1.0 there, 0.1 now\)\)"):
        fit_learners(corpus, out, ("logreg",), (str(features),), params={"logreg": {"C": 0.1}}, progress=False)


def test_outputs_of_an_older_version_with_other_defaults_are_refused_naming_that_version(tmp_path, corpus, monkeypatch):
    # 0.3.1's TF-IDF learners had no class_weight parameter; refitting them into its run folder says why it differs.
    import screenstack.features.artifacts.outputs as outputs

    current = outputs.package_versions()
    monkeypatch.setattr(outputs, "package_versions", lambda: {**current, "screenstack": "0.3.1"})
    fit_learners(corpus, tmp_path / "run", ("tfidf-svm",), progress=False, params={"tfidf-svm": {"class_weight": "balanced"}})
    monkeypatch.setattr(outputs, "package_versions", lambda: current)
    with pytest.raises(ScreenstackError, match=r"differs in: parameters class_weight \(balanced there, auto now\); made by screenstack 0\.3\.1, "
                       r"whose defaults may differ"):
        fit_learners(corpus, tmp_path / "run", ("tfidf-svm",), progress=False)


def test_an_unknown_class_weight_is_refused_in_one_line_and_outputs_already_written_are_kept(tmp_path, corpus):
    out = tmp_path / "run"
    fit_learners(corpus, out, ("tfidf-logreg",), progress=False)
    kept = (out / "learners" / "tfidf-logreg" / "oof.parquet").read_bytes()
    with pytest.raises(ScreenstackError, match=r"tfidf-svm: class_weight='equal' is not one of auto, balanced, sqrt-balanced\.$"):
        fit_learners(corpus, out, ("tfidf-svm",), progress=False, params={"tfidf-svm": {"class_weight": "equal"}})
    assert not (out / "learners" / "tfidf-svm").exists()
    assert fit_learners(corpus, out, ("tfidf-logreg",), progress=False) == [out / "learners" / "tfidf-logreg"]
    assert (out / "learners" / "tfidf-logreg" / "oof.parquet").read_bytes() == kept


def test_other_fold_settings_in_the_same_out_are_refused(tmp_path, corpus):
    features = _write_features(tmp_path / "features.parquet", corpus)
    fit_learners(corpus, tmp_path / "run", ("logreg",), (str(features),), progress=False)
    with pytest.raises(ScreenstackError, match="seed"):
        fit_learners(corpus, tmp_path / "run", ("logreg",), (str(features),), folds=FoldConfig(5, seed=1), progress=False)


@pytest.mark.parametrize("drop", [1, 0])
def test_feature_file_with_other_ids_is_refused(tmp_path, corpus, drop):
    features = _write_features(tmp_path / "features.parquet", corpus, drop=drop)
    if not drop:  # same count, one id renamed: extracted for other data
        frame = corpus.frame.assign(id=corpus.frame["id"].where(corpus.frame.index != 3, "not-in-corpus"))
        features = write_vectors(tmp_path / "features.parquet", frame["id"], frame["split"],
                                 np.zeros((len(frame), 4), np.float32), {"model": "toy"})
    with pytest.raises(ScreenstackError, match="does not match the corpus"):
        fit_learners(corpus, tmp_path / "run", ("logreg",), (str(features),), progress=False)
    assert not (tmp_path / "run" / "learners" / "logreg").exists()


def test_vector_learner_without_features_names_the_flag(tmp_path, corpus):
    with pytest.raises(ScreenstackError, match="xgboost read vectors: pass --features"):
        fit_learners(corpus, tmp_path / "run", ("tfidf-svm", "xgboost"), progress=False)


def test_test_scores_streamed_in_chunks_are_the_bytes_of_scoring_all_at_once(tmp_path, corpus, monkeypatch):
    # Small row groups and a shuffled file: chunks of 7 of the 100 test records straddle groups read out of order.
    monkeypatch.setattr("screenstack.features.artifacts.store.ROW_GROUP_ROWS", 16)
    order = np.random.default_rng(2).permutation(len(corpus.frame))
    features = _write_features(tmp_path / "features.parquet", corpus, order=order)
    names = ("tfidf-svm", "tfidf-logreg", "logreg", "lightgbm", "xgboost")
    params = {**FAST_BOOSTING, "xgboost": {"fixed_rounds": 30, "n_jobs": 1}}
    fit_learners(corpus, tmp_path / "chunked", names, (str(features),), params=params, progress=False, chunk_rows=7)
    files = VectorFiles([features], corpus)
    X, X_test = files.train(), files.test()
    train_texts, test_texts = texts(corpus.train), texts(corpus.test)
    plan = load_fold_plan(tmp_path / "chunked")
    for name in names:
        learner = make_learner(name, **params.get(name, {}))
        whole = (train_texts, test_texts) if learner.input == "text" else (X, X_test)
        _, unchunked = oof_predict(learner, whole[0], plan.labels, plan, whole[1], progress=False)  # every test row at once
        chunked = pd.read_parquet(tmp_path / "chunked" / "learners" / name / "test.parquet")
        assert chunked["score"].to_numpy().tobytes() == unchunked.tobytes(), name


def test_a_fit_stopped_short_is_not_blended_as_if_whole(tmp_path, corpus, monkeypatch, caplog):
    out = tmp_path / "run"
    """Ctrl-C during fit-learners keeps the learners it finished; `stack` must not pass their blend off as the run."""
    from screenstack.stacking.stack import StackConfig, stack

    calls, real = [], fit_module.oof_predict

    def stopped_at_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "oof_predict", stopped_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        fit_learners(corpus, out, ("tfidf-svm", "tfidf-logreg"), progress=False)
    with pytest.raises(ScreenstackError) as info:
        stack(out)
    assert (f"{out}: fit-learners was asked for tfidf-svm, tfidf-logreg, but tfidf-logreg has no outputs there"
            in str(info.value)) and "--learners tfidf-svm" in str(info.value)
    assert not (out / "submission.csv").exists() and not (out / "summary.json").exists()  # refused before writing
    # Its note cut short: the guard was silently off, and the one learner was blended as the run.
    note = out / ".fit-learners.json"
    kept = note.read_bytes()
    note.write_bytes(kept[:15])
    with pytest.raises(ScreenstackError, match=rf"^{re.escape(str(note))}: damaged \(.*\): it names the learners the last "
                                               r"fit-learners was asked for"):
        stack(out)
    note.write_bytes(kept)
    assert (out / "records.parquet").is_file(), "the finished learner's records to screen are kept with it"
    assert stack(out, StackConfig(learners=("tfidf-svm",)))["blend"]["weights"].keys() == {"tfidf-svm"}  # as chosen
    ranked = pd.read_csv(out / "ranked.csv", dtype=str, keep_default_na=False)
    assert sorted(ranked["title"]) == sorted(corpus.test["title"]) and "abstract" in ranked.columns, \
        "titles and input columns, as after a whole fit"
    # Killed outright (SIGKILL) before the records were written: the stack says what it lacks and how to mend it.
    from screenstack.features.artifacts.records import RECORDS_SET
    from screenstack.features.artifacts.runfolder import RunFolder

    RunFolder(out).manifest_path(RECORDS_SET).unlink()
    (out / "records.parquet").unlink()
    with caplog.at_level("WARNING", logger="screenstack"):
        summary = stack(out, StackConfig(learners=("tfidf-svm",)))
    said = [w for w in summary["warnings"] if "has no records.parquet (fit-learners was killed before writing it" in w]
    # In the summary, so that the report says it too (it said nothing), and said once on the console.
    assert len(said) == 1 and "else the same fit-learners command again (it reuses the learners fitted) writes it" in said[0]
    assert "A `screenstack run` folder: `screenstack run --config` on its config.toml writes it" in said[0]
    assert sum("no records.parquet" in m for m in caplog.messages) == 1
    from screenstack.stacking.report import write_report

    assert "no records.parquet" in write_report(out).read_text()
    from screenstack.stacking.fitted_run import read_run

    with pytest.warns(UserWarning, match=r"no records.parquet .* records of this file that the run listed to screen are "
                                         r"not recognised"):
        fitted = read_run(out)
    from screenstack.stacking.new_records import load_new_records
    from screenstack.stacking.predict import predict

    update = tmp_path / "update.csv"
    corpus.test[["id", "title", "abstract"]].to_csv(update, index=False)
    written = predict(fitted, load_new_records(fitted, update)[0], tmp_path / "update1")  # kept, not only said
    assert sum("no records.parquet" in w for w in written["warnings"]) == 1
    monkeypatch.setattr(fit_module, "oof_predict", real)
    fit_learners(corpus, out, ("tfidf-svm", "tfidf-logreg"), progress=False)  # the same command again finishes it
    assert (out / "records.parquet").is_file()
    assert stack(out)["blend"]["weights"].keys() == {"tfidf-svm", "tfidf-logreg"}
    fit_learners(corpus, out, ("tfidf-svm",), progress=False)  # asked for fewer: a choice, the others still blended
    assert stack(out)["blend"]["weights"].keys() == {"tfidf-svm", "tfidf-logreg"}


def test_run_names_every_learner_made_otherwise_in_one_line(tmp_path, corpus, tiny_corpus_files):
    """A new --test over a run folder: one refusal naming both learners, not one per attempt."""
    from screenstack.learners.fit import refuse_refits

    out = tmp_path / "run"
    fit_learners(corpus, out, ("tfidf-svm", "tfidf-logreg"), progress=False)
    train, test = tiny_corpus_files
    fewer = tmp_path / "fewer.csv"
    pd.read_csv(test, dtype=str, keep_default_na=False).iloc[:20].to_csv(fewer, index=False)
    with pytest.raises(ScreenstackError) as info:
        refuse_refits(load_corpus(train, fewer), out, ("tfidf-svm", "tfidf-logreg"))
    assert (f"{out / 'learners' / 'tfidf-svm'}, {out / 'learners' / 'tfidf-logreg'}: hold the outputs of tfidf-svm, "
            "tfidf-logreg of another configuration (differs in: the records to screen (--test, or --data's unlabelled "
            "ones, or the columns read: --text-cols), here 80 scored before no longer there (first: id ") in str(info.value)
    assert str(info.value).endswith(")). Use a new --out folder, or delete those folders to refit them.")
    refuse_refits(corpus, out, ("tfidf-svm", "tfidf-logreg"))  # the same files: nothing to refuse


def test_learners_of_another_test_file_are_never_blended_with_these(tmp_path, corpus, tiny_corpus_files):
    """The same test ids with other texts: fitting a second learner into the folder is refused before anything is
    written, and a folder that holds such a mix anyway (copied in) is refused by `stack` rather than blended."""
    from screenstack.stacking.stack import stack

    out = tmp_path / "run"
    fit_learners(corpus, out, ("tfidf-logreg",), progress=False)
    train, test = tiny_corpus_files
    shuffled = pd.read_csv(test, dtype=str, keep_default_na=False)
    shuffled["abstract"] = shuffled["abstract"].to_numpy()[::-1]
    other_file = tmp_path / "test_other.csv"
    shuffled.to_csv(other_file, index=False)
    other = load_corpus(train, other_file)
    records = (out / "records.parquet").read_bytes()
    with pytest.raises(ScreenstackError) as info:
        fit_learners(other, out, ("tfidf-svm",), progress=False)
    assert str(info.value).startswith(f"{out / 'learners' / 'tfidf-logreg'}: scored other records to screen (--test, or "
                                      "--data's unlabelled ones, or the columns read: --text-cols) than these") and "Use a new --out folder" in str(info.value)
    assert not (out / "learners" / "tfidf-svm").exists() and (out / "records.parquet").read_bytes() == records
    with pytest.raises(ScreenstackError, match="scored other records to screen"):  # `run`'s check before extraction
        fit_module.refuse_refits(other, out, ("tfidf-svm",))

    elsewhere = tmp_path / "other"  # the same fold plan, the other file's scores: copied in, the mix stack must refuse
    fit_learners(other, elsewhere, ("tfidf-svm",), progress=False)
    import shutil
    shutil.copytree(elsewhere / "learners" / "tfidf-svm", out / "learners" / "tfidf-svm")
    shutil.copy(elsewhere / ".manifests" / "learners%tfidf-svm.json", out / ".manifests")
    with pytest.raises(ScreenstackError, match=r"the learners scored different --test files \(tfidf-logreg; tfidf-svm\)"):
        stack(out)
    assert not (out / "submission.csv").exists()


def test_a_folder_given_as_features_names_the_feature_files_it_holds(tmp_path, corpus):
    features = _write_features(tmp_path / "run" / "features" / "toy.parquet", corpus)
    for given in (tmp_path / "run", tmp_path / "run" / "features"):
        with pytest.raises(ScreenstackError) as info:
            fit_learners(corpus, tmp_path / "out", ("logreg",), (str(given),), progress=False)
        shown = "features/toy.parquet" if given.name == "run" else "toy.parquet"
        assert str(info.value) == (f"{given}: is a folder; --features takes a feature file `screenstack extract` wrote "
                                   f"(there: {shown}).")
    assert features.is_file() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_feature_file_holding_nan_is_refused_naming_it_before_any_learner_is_fitted(tmp_path, corpus, monkeypatch, split):
    import screenstack.features.artifacts.store as store

    monkeypatch.setattr(store, "ROW_GROUP_ROWS", 16)  # a large file's row groups: the NaN's group is not the first
    frame = corpus.frame
    vectors = np.random.default_rng(0).normal(size=(len(frame), 8)).astype(np.float32)
    row = int(np.flatnonzero(frame["split"].to_numpy() == split)[-1])
    assert row >= 16
    vectors[row, 5] = np.nan
    path = write_vectors(tmp_path / "nan.parquet", frame["id"].to_numpy(), frame["split"].to_numpy(), vectors, {"model": "toy"})
    with pytest.raises(ScreenstackError, match=rf"{path}: row {row} holds NaN or infinite vector values.*Extract the vectors again"):
        fit_learners(corpus, tmp_path / "run", ("tfidf-svm", "logreg"), (str(path),), progress=False, chunk_rows=10)
    assert not (tmp_path / "run").exists(), "refused before the fold plan or any learner is written"


def test_a_fit_stopped_before_its_first_learner_sends_report_and_predict_back_to_fit_learners(tmp_path, corpus, monkeypatch):
    from screenstack.stacking.fitted_run import read_run
    from screenstack.stacking.report import write_report

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "run"
    monkeypatch.setattr(fit_module, "oof_predict", stopped)
    with pytest.raises(KeyboardInterrupt):
        fit_learners(corpus, out, ("tfidf-svm",), progress=False)
    assert (out / "folds.parquet").is_file() and not (out / "records.parquet").exists()
    for call in (write_report, read_run):
        with pytest.raises(ScreenstackError, match=rf"No learner has outputs there either: run `screenstack fit-learners --out "
                                                   rf"{out}` with the run's --data \(or --train/--test\), then `screenstack stack"):
            call(out)


def test_logreg_scales_each_pooled_block_the_feature_file_names(tmp_path, corpus):
    frame = corpus.frame
    vectors = np.random.default_rng(0).normal(size=(len(frame), 24)).astype(np.float32)
    vectors[:, :4] += 2.0 * frame["label"].fillna(0).to_numpy(dtype=np.float32)[:, None]
    features = write_vectors(tmp_path / "features.parquet", frame["id"].to_numpy(), frame["split"].to_numpy(), vectors,
                             {"model": "toy", "blocks": ["L-1:cls", "L-1:mean"]})
    out = tmp_path / "run"
    fit_learners(corpus, out, ("logreg",), (str(features),), progress=False)
    assert json.loads((out / "learners" / "logreg" / "meta.json").read_text())["params"]["blocks"] == [12, 12]
    # Its blocks follow from the feature file: a rerun reuses the outputs, and `run`'s early check passes them.
    refuse_refits(corpus, out, ("logreg",), None)
    assert fit_learners(corpus, out, ("logreg",), (str(features),), progress=False) == [out / "learners" / "logreg"]


@pytest.mark.parametrize("meta, width, expected", [
    ({"hidden_size": 384, "blocks": ["L-1:cls", "L-1:mean"], "dim": 768}, 768, [384, 384]),
    ({"layers": [-1, -2], "pooling": ["cls", "mean"]}, 1536, [384] * 4),  # no hidden size: layers x poolings
    ({"hidden_size": 384, "blocks": ["L-1:cls", "L-1:mean"], "dim": 768}, 384, [384]),  # cut down, metadata kept
    ({"blocks": ["a", "b", "c", "d", "e"], "dim": "abc"}, 768, [768]),  # edited: five blocks do not divide 768
    ({"hidden_size": True, "blocks": 5, "layers": None}, 768, [768]),
    ({}, 24, [24]),  # a file made by hand, without screenstack's metadata
])
def test_logreg_blocks_follow_the_vectors_width_and_only_metadata_that_fits_it(meta, width, expected):
    assert block_widths([meta], [width]) == expected
    assert block_widths([meta, {}], [width, 10]) == expected + [10]


def test_too_few_texts_are_judged_on_the_plan_that_is_fitted_not_a_second_draw(tmp_path):
    # The check drew its own stratified folds, without the copies moved together or the plan already in OUT
    # (helper-177: it judged 4 folds with 25 training records where the plan fitted had 3 with 22).
    from dataclasses import replace

    from screenstack.features.artifacts.folds import make_fold_plan
    from screenstack.learners.fit import refuse_too_few_texts

    words = ["adhd", "stimulant", "trial", "children", "guanfacine", "placebo", "dose", "survey"]
    rows = [(f"r{i}", " ".join(words[i % 8:i % 8 + 3]), " ".join(words[(i + 3) % 8:(i + 3) % 8 + 3]), int(i % 3 == 0))
            for i in range(12)]
    (tmp_path / "train.csv").write_text("id,title,abstract,label\n" + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in rows))
    (tmp_path / "test.csv").write_text("id,title,abstract\nt1,adhd trial,stimulant dose\n")
    corpus = load_corpus(tmp_path / "train.csv", tmp_path / "test.csv")
    plan = make_fold_plan(corpus, FoldConfig(3))
    refuse_too_few_texts(corpus, ("tfidf-svm",), FoldConfig(3))  # its own plan: 8 training records a fold
    refuse_too_few_texts(corpus, ("tfidf-svm",), FoldConfig(3), plan=plan)
    lopsided = replace(plan, folds=np.where(np.arange(12) < 10, 0, 1))  # fold 0's training part: 2 records
    with pytest.raises(ScreenstackError, match="tfidf-svm: 2 training texts in a fold are too few"):
        refuse_too_few_texts(corpus, ("tfidf-svm",), FoldConfig(3), plan=lopsided)
