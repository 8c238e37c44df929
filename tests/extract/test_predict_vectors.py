"""`screenstack predict` on a run whose vector learners read a tiny random BERT's vectors."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pandas as pd
import pytest

from screenstack.cli import main

from .conftest import make_random_bert

pytestmark = pytest.mark.filterwarnings("ignore:.*neither title nor abstract")
LEARNERS = "logreg,lightgbm,xgboost,tfidf-svm"


def _run(train, test, out, model):
    return main(["-q", "run", "--train", str(train), "--test", str(test), "--model", model, "--out", str(out),
                 "--learners", LEARNERS, "--folds", "3", "--max-length", "64", "--layers=-1,-2"])


def _predict(run, data, out, *extra):
    return main(["-q", "predict", "--run", str(run), "--data", str(data), "--out", str(out), *extra])


def test_predict_gives_the_run_test_scores_and_refuses_other_encoder_settings(tiny_corpus_files, tmp_path, random_bert,
                                                                             other_random_bert, one_thread, capsys, monkeypatch,
                                                                             caplog):
    import pickle

    import torch

    train, test = tiny_corpus_files
    run = tmp_path / "run"
    assert _run(train, test, run, random_bert) == 0
    with monkeypatch.context() as patched:  # nothing is unpickled: not the fold models, not the encoder
        for module, name in ((pickle, "load"), (pickle, "loads"), (torch, "load")):
            patched.setattr(module, name, lambda *args, **kwargs: pytest.fail("predict unpickled something"))
        assert _predict(run, test, tmp_path / "pred") == 0
    for ours, theirs in (("scores.csv", "test_scores.csv"), ("submission.csv", "submission.csv"), ("ranked.csv", "ranked.csv")):
        assert (tmp_path / "pred" / ours).read_bytes() == (run / theirs).read_bytes()
    assert json.loads((tmp_path / "pred" / "summary.json").read_text())["learners"] == sorted(LEARNERS.split(","))
    assert list((tmp_path / "pred" / "features").glob("*.parquet"))  # the new records' vectors, with the run's settings

    # Vectors encoded afresh (an empty cache, other batches) still give the run's decisions and scores to float precision.
    assert _predict(run, test, tmp_path / "fresh", "--cache-dir", str(tmp_path / "empty-cache")) == 0
    fresh = pd.read_csv(tmp_path / "fresh" / "scores.csv")["score"]
    assert (fresh - pd.read_csv(run / "test_scores.csv")["score"]).abs().max() < 1e-6
    assert (tmp_path / "fresh" / "submission.csv").read_bytes() == (run / "submission.csv").read_bytes()

    capsys.readouterr()
    for flags, says in ((["--max-length", "32"], "--max-length 32: the run's vectors"),
                        (["--layers", "-1"], "--layers -1: the run's vectors"),
                        (["--pooling", "cls"], "--pooling cls: the run's vectors")):
        assert _predict(run, test, tmp_path / "refused", *flags) == 2
        error = capsys.readouterr().err
        assert says in error and "were made with" in error, error
    # Another encoder: refused by its weights once loaded, before any text is encoded.
    assert _predict(run, test, tmp_path / "refused", "--model", other_random_bert) == 2
    error = capsys.readouterr().err
    assert f"--model {other_random_bert}: its weights, configuration, tokenizer or weight files differ" in error
    assert "Leave --model out, or give the run's encoder where it is now" in error
    assert not (tmp_path / "refused").exists()
    # Another encoder that reads fewer tokens than the run's --max-length: said to be another encoder, not told to
    # change a --max-length it was not given (which the run's settings then refused: a way round in a circle).
    short = make_random_bert(tmp_path / "short-bert", max_positions=32)
    assert _predict(run, test, tmp_path / "refused", "--model", short) == 2
    error = capsys.readouterr().err
    assert f"--model {short}: reads at most 32 tokens, where the run's encoder read 64" in error and "Leave --model out" in error
    assert not (tmp_path / "refused").exists()
    # A hub name that is not there (no hub here): said not to be the run's encoder, not how to download it (helper-172)
    assert _predict(run, test, tmp_path / "refused", "--model", "someone/other-encoder") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("screenstack: error: --model someone/other-encoder: cannot load it ('someone/other-encoder' is "
                            "neither a local folder nor in the Hugging Face cache")
    assert error.endswith(f"the run's vector learners read only the vectors of its own encoder ({random_bert}). Leave --model "
                          "out (the run's encoder is used), or give the folder the run's encoder is in now.")
    assert "Download" not in error and not (tmp_path / "refused").exists()
    assert _predict(run, test, tmp_path / "same", "--model", random_bert, "--layers", "-1,-2", "--max-length", "64") == 0

    # Restacked on the TF-IDF learner alone, the run needs no vectors: predicting into the same folder again removes
    # the earlier predictions' feature file, which no longer belongs to them, and says so.
    assert main(["-q", "stack", "--out", str(run), "--learners", "tfidf-svm"]) == 0
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred")]) == 0
    assert [m for m in caplog.messages if m.startswith(f"predict: removed {tmp_path / 'pred'}/features/")]
    assert not list((tmp_path / "pred" / "features").glob("*.parquet"))
    assert not [m for m in (tmp_path / "pred" / ".manifests").glob("*.json") if "features" in m.name]


def test_an_encoder_folder_whose_weights_changed_is_refused(tiny_corpus_files, tmp_path, random_bert, other_random_bert,
                                                            one_thread, capsys, monkeypatch):
    train, test = tiny_corpus_files
    model = tmp_path / "model"
    shutil.copytree(random_bert, model)
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--model", str(model), "--out", str(tmp_path / "run"),
                 "--learners", "logreg", "--folds", "3", "--max-length", "64"]) == 0
    for weights in model.glob("*.safetensors"):  # same name, other weights
        shutil.copy(Path(other_random_bert) / weights.name, weights)
    encoded = []
    monkeypatch.setattr("screenstack.extract.stage.encode", lambda *a, **k: encoded.append(1) or pytest.fail("encoded"))
    assert _predict(tmp_path / "run", test, tmp_path / "pred") == 2
    assert f"encoder {model}: its weights, configuration or tokenizer differ from those the run's vectors" in capsys.readouterr().err
    # Known once the model is loaded: refused before any text is encoded, and nothing written (it was after both).
    assert not encoded and not (tmp_path / "pred").exists()


def test_a_run_made_with_a_relative_model_folder_and_its_own_cache_predicts_from_any_folder(
        tiny_corpus_files, tmp_path, random_bert, one_thread, monkeypatch, capsys):
    train, test = tiny_corpus_files
    shutil.copytree(random_bert, tmp_path / "models" / "bert")
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--model", "models/bert", "--out", "run",
                 "--learners", "logreg", "--folds", "3", "--max-length", "64", "--cache-dir", "vectors"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # "models/bert" names no folder here: the run's folder is loaded by its absolute path
    monkeypatch.setattr("screenstack.extract.stage.encode", lambda *a, **k: pytest.fail("the run's cache holds these texts"))
    assert _predict(tmp_path / "run", test, tmp_path / "pred") == 0
    assert (tmp_path / "pred" / "scores.csv").read_bytes() == (tmp_path / "run" / "test_scores.csv").read_bytes()
    # The same folder however it is spelled is the run's --model, not another one.
    assert _predict(tmp_path / "run", test, tmp_path / "pred2", "--model", str(tmp_path / "models" / "bert")) == 0
    # The folder moved away: the run's own spelling is told where the folder was, not to load another model; another
    # name is told the run's encoder by its absolute path, not "models/bert", another folder from here (helper-175)
    shutil.move(tmp_path / "models", tmp_path / "moved")
    capsys.readouterr()
    assert _predict(tmp_path / "run", test, tmp_path / "pred3", "--model", "models/bert") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"screenstack: error: the run's encoder folder {tmp_path / 'models' / 'bert'} is gone") and "minilm" not in error
    assert _predict(tmp_path / "run", test, tmp_path / "pred3", "--model", "other/bert") == 2
    assert f"own encoder ({tmp_path / 'models' / 'bert'}). Leave --model out" in capsys.readouterr().err


def test_boosted_trees_the_few_included_blend_leaves_out_are_not_loaded_and_scores_are_the_run_test_scores(
        tiny_corpus_files, tmp_path, random_bert, one_thread, monkeypatch):
    import screenstack.stacking.fitted_run as fitted_run_module

    train, test = tiny_corpus_files
    frame = pd.read_csv(train, dtype=str, keep_default_na=False)
    frame.loc[frame["label_included"].eq("1").cumsum().gt(6), "label_included"] = "0"  # 6 included: too few for trees
    frame.to_csv(train, index=False)
    run = tmp_path / "run"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--model", random_bert, "--out", str(run),
                 "--learners", "logreg,lightgbm,xgboost", "--folds", "3", "--max-length", "64"]) == 0
    state = json.loads((run / "blend.json").read_text())
    # the trees left out, logreg is the one learner weighed: its own scores (0.3.37; a rank average of it before)
    assert state["method"] == "single" and state["state"]["weights"] == [0.0, 1.0, 0.0]  # lightgbm, logreg, xgboost
    loaded = []
    real = fitted_run_module.load_fold_models
    monkeypatch.setattr(fitted_run_module, "load_fold_models", lambda folder, fix: loaded.append(Path(folder).name) or real(folder, fix))
    assert _predict(run, test, tmp_path / "pred") == 0
    assert loaded == ["logreg"]
    for ours, theirs in (("scores.csv", "test_scores.csv"), ("submission.csv", "submission.csv"), ("ranked.csv", "ranked.csv")):
        assert (tmp_path / "pred" / ours).read_bytes() == (run / theirs).read_bytes()
    assert json.loads((tmp_path / "pred" / "summary.json").read_text())["learners"] == ["logreg"]


def test_a_run_whose_encoder_folder_moved_predicts_with_its_new_place(tiny_corpus_files, tmp_path, random_bert,
                                                                      other_random_bert, one_thread, capsys, monkeypatch, caplog):
    train, test = tiny_corpus_files
    model = tmp_path / "model"
    shutil.copytree(random_bert, model)
    run = tmp_path / "run"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--model", str(model), "--out", str(run),
                 "--learners", "logreg", "--folds", "3", "--max-length", "64", "--cache-dir", str(tmp_path / "cache")]) == 0
    model.rename(tmp_path / "moved")
    capsys.readouterr()
    caplog.clear()
    # Refused before the records are read: no line about them (here: they are the run's records to screen) comes first.
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred")]) == 2
    assert not [m for m in caplog.messages if "the ids of the run's records to screen" in m], caplog.messages
    error = capsys.readouterr().err
    assert f"the run's encoder folder {model} is gone" in error and "--model NEW/PATH" in error
    assert len(error.strip().splitlines()) == 1 and not (tmp_path / "pred").exists()
    # Another encoder in its place is refused, and the fix does not say "leave --model out" (the folder is gone).
    assert _predict(run, test, tmp_path / "pred", "--model", other_random_bert) == 2
    error = capsys.readouterr().err
    assert f"Its folder {model} is gone: give the run's encoder where it is now" in error and not (tmp_path / "pred").exists()
    # Its new place (the same weights: checked by fingerprint) scores the records as the run did.
    assert _predict(run, test, tmp_path / "pred", "--model", str(tmp_path / "moved")) == 0
    assert (tmp_path / "pred" / "scores.csv").read_bytes() == (run / "test_scores.csv").read_bytes()
    # A copy whose tokenizer caps texts below the run's --max-length: the fix named is the cap, not a --max-length
    # that predict would refuse (the run's models read 64-token vectors only); with the cap raised, the run's scores.
    capped = tmp_path / "capped"
    shutil.copytree(tmp_path / "moved", capped)
    config_file = capped / "tokenizer_config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "model_max_length": 32}))
    capsys.readouterr()
    assert _predict(run, test, tmp_path / "pred-capped", "--model", str(capped)) == 2
    error = capsys.readouterr().err
    assert error.strip().endswith(f"encoder {capped}: its tokenizer caps texts at 32 tokens (model_max_length in "
                                  f"{config_file}), below the run's --max-length 64, the only length its vector learners "
                                  f"read. Set model_max_length there to 64 or more.")  # not a --max-length it would refuse
    assert len(error.strip().splitlines()) == 1 and not (tmp_path / "pred-capped").exists()
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "model_max_length": 64}))
    assert _predict(run, test, tmp_path / "pred-capped", "--model", str(capped)) == 0
    assert (tmp_path / "pred-capped" / "scores.csv").read_bytes() == (run / "test_scores.csv").read_bytes()
