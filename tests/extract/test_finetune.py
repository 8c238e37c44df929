"""Fine-tuning with K-fold cross-fitting, on a tiny random BERT built here (2 layers, width 32)."""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from screenstack.extract import finetune as ft
from screenstack.extract.finetune import FinetuneConfig, finetune, finetune_on_plan, learner_name
from screenstack.extract.heads import HEADS, make_head
from screenstack.features.artifacts.atomic import read_json
from screenstack.features.records.corpus import Corpus
from screenstack.features.errors import ScreenstackError
from screenstack.features.artifacts.folds import FoldConfig, FoldPlan, make_fold_plan
from screenstack.features.artifacts.outputs import read_learner_outputs
from screenstack.features.artifacts.store import VectorFiles, read_vectors

INCLUDE = ["randomized", "placebo", "trial", "blinded", "efficacy", "dose"]
EXCLUDE = ["survey", "opinion", "letter", "editorial", "commentary", "interview"]
NEUTRAL = ["patients", "study", "results", "the", "of", "with", "and", "in", "we", "data", "treatment", "outcome", "group", "care"]


def _tiny_bert(folder) -> str:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", *INCLUDE, *EXCLUDE, *NEUTRAL]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast.from_pretrained(str(folder)).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    return _tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(autouse=True)
def deterministic():
    # One thread: a width-32 model gains nothing from more, and OpenMP threads
    # competing with other processes for 2 cores made each op ~50x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)
    torch.set_num_threads(threads)


def _corpus(n_train: int = 72, n_test: int = 12, seed: int = 0) -> Corpus:
    """Separable records of varied length: included ones hold two INCLUDE words, excluded ones two EXCLUDE words."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_train + n_test):
        label = int(i % 3 == 0)
        words = list(rng.choice(NEUTRAL, size=int(rng.integers(3, 14)))) + list(rng.choice(INCLUDE if label else EXCLUDE, size=2))
        rng.shuffle(words)
        split = "train" if i < n_train else "test"
        rows.append({"id": f"r{i}", "title": " ".join(words[:3]), "abstract": " ".join(words[3:]),
                     "label": float(label) if split == "train" else np.nan, "split": split})
    return Corpus(pd.DataFrame(rows))


def _config(model: str, **changes) -> FinetuneConfig:
    # The loss unweighted and the epoch picked by it: these tests are about the machinery, on a corpus a third included.
    base = dict(model=model, epochs=2, lr=3e-3, batch_size=8, max_length=32, warmup_ratio=0.1, valid_fraction=0.2,
                device="cpu", precision="fp32", eval_batch_size=16, cnn_channels=16, pos_weight=1.0, select="loss")
    return FinetuneConfig(**{**base, **changes})


def _outputs(out, name):
    oof, test, _ = read_learner_outputs(out)[name]
    frame, vectors, meta = read_vectors(out / "features" / f"{name}.parquet")
    return oof, test, frame, vectors, meta


def test_learns_separable_corpus_and_writes_stackable_outputs(tiny_bert, tmp_path):
    corpus = _corpus()
    config = _config(tiny_bert, epochs=6, lr=5e-3)
    folder, features = finetune(corpus, tmp_path, config, folds=FoldConfig(3, 0), progress=False)
    name = learner_name(config)
    assert name == f"finetune-{Path(tiny_bert).name}-linear" and folder == tmp_path / "learners" / name
    oof, test, frame, vectors, meta = _outputs(tmp_path, name)
    assert roc_auc_score(oof["label"], oof["score"]) > 0.95
    assert oof["score"].between(0, 1).all() and test["score"].between(0, 1).all() and len(test) == 12
    for k in range(3):
        epochs = read_json(tmp_path / "finetune" / name / f"fold{k}" / "history.json")["epochs"]
        assert epochs[-1]["train_loss"] < 0.5 * epochs[0]["train_loss"]
        assert not list((tmp_path / "finetune" / name / f"fold{k}").glob("*.pt")), "finished folds drop their checkpoints"
    assert meta["kind"] == "crossfit" and meta["finetune"]["lr"] == 5e-3
    # Described as extract describes its vectors, so the report says what a vector learner on them read.
    assert (meta["pooling"], meta["dtype"], meta["store_dtype"]) == (["cls"], "fp32", "float32")
    from screenstack.stacking.report import _learner_input

    assert ", cls pooling, up to " in _learner_input({"input": "vectors", "feature_meta": [meta]})
    files = VectorFiles([features], corpus)
    X_train, X_test = files.train(), files.test()
    assert X_train.shape == (72, 32) and X_test.shape == (12, 32) and np.isfinite(X_train).all()
    # A rerun with the same configuration reuses the outputs; another configuration is refused.
    assert finetune(corpus, tmp_path, config, folds=FoldConfig(3, 0), progress=False) == (folder, features)
    with pytest.raises(ScreenstackError) as info:
        finetune(corpus, tmp_path, _config(tiny_bert, epochs=6, lr=1e-3), folds=FoldConfig(3, 0), progress=False)
    state = tmp_path / "finetune" / name
    assert "(differs in: --lr (0.005 there, 0.001 now))" in str(info.value), "the option, as extract's --help names it"
    assert "give --lr 0.005 to go on with it" in str(info.value), "the value there, to be given again"
    assert f"delete it and {state} to refit it" in str(info.value), "its fold models' state must go too, or the rerun stops"
    with pytest.raises(ScreenstackError) as info:  # an option unset there: the way on is to leave it out
        finetune(corpus, tmp_path, _config(tiny_bert, epochs=6, lr=5e-3, patience=1), folds=FoldConfig(3, 0), progress=False)
    assert ("(differs in: --patience (None there, 1 now)). Use a new --out folder, leave out --patience (or its line in a "
            "--config file) to go on with it") in str(info.value)
    shutil.rmtree(tmp_path / "learners" / name)  # only the learner's folder: the state's own refusal names the option
    with pytest.raises(ScreenstackError, match=rf"{state}: holds the fold models' state of a fine-tuning run of another "
                                               r"configuration \(differs in: --lr \(0.005 there, 0.001 now\)\)\. Use a new "
                                               r"--out folder, give --lr 0.005 to go on with it"):
        finetune(corpus, tmp_path, _config(tiny_bert, epochs=6, lr=1e-3), folds=FoldConfig(3, 0), progress=False)


def _flip_fold_1(tiny_bert, tmp_path, select: str) -> dict:
    """Fine-tune on the corpus and on a copy with fold 1's labels flipped; what fold 1's model gave in each.

    Four epochs at lr 5e-3, so the model separates the classes: had the epoch been
    chosen on fold 1 (a leak), then with the labels flipped its loss would rise
    where the true labels' falls, and another epoch would win under either
    rule. With two epochs both labellings' loss fell as the scores calibrated
    (near ln 2), both runs kept the last epoch, and a leak under ``select="loss"``
    went unseen; AUC, which a flip turns into 1 - AUC, caught it.
    """
    corpus = _corpus()
    plan = make_fold_plan(corpus, FoldConfig(3, 0))
    in_fold = plan.folds == 1
    flipped_labels = np.where(in_fold, 1 - plan.labels, plan.labels)
    frame = corpus.frame.copy()
    frame.loc[frame["split"] == "train", "label"] = flipped_labels.astype(float)
    flipped_plan = FoldPlan(plan.ids, flipped_labels, plan.folds, plan.meta)
    config = _config(tiny_bert, epochs=4, lr=5e-3, select=select)
    name = learner_name(config)
    runs = {"plans": [plan, flipped_plan]}
    for run, (data, fold_plan) in {"a": (corpus, plan), "b": (Corpus(frame), flipped_plan)}.items():
        finetune_on_plan(data, fold_plan, tmp_path / run, config, progress=False)
        oof, _, _, vectors, _ = _outputs(tmp_path / run, name)
        history = read_json(tmp_path / run / "finetune" / name / "fold1" / "history.json")
        runs[run] = {"scores": oof["score"][in_fold].to_numpy(), "vectors": vectors[:len(plan.ids)][in_fold],
                     "other_scores": oof["score"][~in_fold].to_numpy(),
                     # the whole of fold 1's training record but its timings: losses, selection scores, chosen epoch
                     "history": [{k: v for k, v in e.items() if k != "seconds"} for e in history["epochs"]] + [history["best_epoch"]]}
    return runs


def _same(runs: dict, key: str) -> bool:
    a, b = runs["a"][key], runs["b"][key]
    return a == b if key == "history" else np.array_equal(a, b)


@pytest.mark.parametrize("select", ["loss", "auc"])
def test_flipping_fold_k_labels_leaves_fold_k_scores_and_vectors_unchanged(tiny_bert, tmp_path, monkeypatch, select):
    from screenstack.features.artifacts import crossfit

    loops = []  # the fold loop is the one the learners use
    monkeypatch.setattr(ft, "cross_fit", lambda plan, *a, **kw: loops.append(plan) or crossfit.cross_fit(plan, *a, **kw))
    runs = _flip_fold_1(tiny_bert, tmp_path, select)
    assert _same(runs, "scores") and _same(runs, "vectors") and _same(runs, "history")
    assert loops == runs["plans"]
    # The flip did reach the other folds' models: the check above is not vacuous.
    assert not _same(runs, "other_scores")


@pytest.mark.parametrize("select", ["loss", "auc"])
def test_the_flip_test_catches_an_epoch_chosen_on_the_predicted_fold(tiny_bert, tmp_path, monkeypatch, select):
    real_fit = ft._fit_fold

    def leaky(k, loaded, token_ids, labels, fit_index, select_index, valid_index, *rest, **kw):
        return real_fit(k, loaded, token_ids, labels, fit_index, valid_index, valid_index, *rest, **kw)

    monkeypatch.setattr(ft, "_fit_fold", leaky)
    runs = _flip_fold_1(tiny_bert, tmp_path, select)
    assert not _same(runs, "scores"), "the chosen epoch, hence fold 1's scores, moved with fold 1's labels"
    assert not _same(runs, "history")


@pytest.mark.parametrize("fraction", [0.0, 0.2])
def test_epoch_selection_rows_come_from_the_training_folds(fraction):
    plan = make_fold_plan(_corpus(), FoldConfig(3, 0))
    for k, train_index, valid_index in plan.splits():
        fit, select = ft._inner_split(plan.labels, train_index, FinetuneConfig(valid_fraction=fraction))
        assert np.array_equal(np.sort(np.concatenate([fit, select])), train_index) and not set(fit) & set(select)
        assert len(select) == (0 if fraction == 0 else round(fraction * len(train_index)))
        assert fraction == 0 or 0 < plan.labels[select].sum() < len(select), "stratified: both classes to choose on"


def test_select_auc_says_before_training_which_folds_choose_their_epochs_by_loss(caplog):
    # A helper's small review: every epoch logged "select_loss ..., score -..." under --select auc, without a word.
    labels = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    splits = [(0, None, None, (np.arange(6), np.array([6, 7]))),  # selection rows all excluded
              (1, None, None, (np.arange(6), np.array([0, 7]))),  # both classes: AUC
              (2, None, None, (np.arange(10), np.array([], dtype=int)))]  # --valid-fraction 0: the last epoch
    caplog.clear()
    with caplog.at_level("WARNING", logger="screenstack"):
        ft._say_selection_by_loss(labels, splits, FinetuneConfig(select="auc", valid_fraction=0.2))
        ft._say_selection_by_loss(labels, splits, FinetuneConfig(select="loss", valid_fraction=0.2))
        ft._say_selection_by_loss(labels, splits, FinetuneConfig(select="auc", valid_fraction=0.2, epochs=1))  # no choice
    assert caplog.messages == ["--select auc: the epoch-selection rows of fold(s) 0 hold no included record (20% of a "
                               "fold's training part, --valid-fraction 0.2), so their epochs are chosen by the loss "
                               "instead; a larger --valid-fraction gives them some"]


def _stopped_after_fold1_epoch1(corpus, config, out, monkeypatch) -> None:
    """Fine-tune into `out`, stopped (as by Ctrl-C) once fold 1 has saved its first epoch: fold 0 finished, fold 2 not begun."""
    real_save = ft._save

    def killed_after_fold1_epoch1(obj, path):
        real_save(obj, path)
        if path.name == "state.pt" and path.parent.name == "fold1" and obj["epoch"] == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(ft, "_save", killed_after_fold1_epoch1)
    with pytest.raises(KeyboardInterrupt):
        finetune(corpus, out, config, folds=FoldConfig(3, 0), progress=False)
    monkeypatch.undo()


def test_resume_after_interruption_gives_the_same_outputs(tiny_bert, tmp_path, monkeypatch):
    corpus, config = _corpus(), _config(tiny_bert, head="cnn")
    name = learner_name(config)
    finetune(corpus, tmp_path / "whole", config, folds=FoldConfig(3, 0), progress=False)
    _stopped_after_fold1_epoch1(corpus, config, tmp_path / "resumed", monkeypatch)
    fold0 = tmp_path / "resumed" / "finetune" / name / "fold0" / "result.npz"
    stamp = fold0.stat().st_mtime_ns
    started = []
    real_fit, real_load = ft._fit_fold, torch.load
    monkeypatch.setattr(ft, "_fit_fold", lambda k, *a, **kw: started.append(k) or real_fit(k, *a, **kw))

    def load_as_on_a_gpu(path, *args, **kwargs):
        # torch.load(map_location="cuda") puts every tensor of state.pt on the GPU, the RNG states' too ("meta" here):
        # torch.set_rng_state then raised. The weights stay usable on this CPU.
        state = real_load(path, *args, **kwargs)
        if isinstance(state, dict) and "rng" in state:
            state["rng"] = {key: value.to("meta") if torch.is_tensor(value) else value for key, value in state["rng"].items()}
        return state

    monkeypatch.setattr(torch, "load", load_as_on_a_gpu)
    finetune(corpus, tmp_path / "resumed", config, folds=FoldConfig(3, 0), progress=False)
    assert started == [1, 2] and fold0.stat().st_mtime_ns == stamp, "a finished fold is never retrained"
    history = read_json(tmp_path / "resumed" / "finetune" / name / "fold1" / "history.json")
    assert [e["epoch"] for e in history["epochs"]] == [0, 1]
    whole, resumed = _outputs(tmp_path / "whole", name), _outputs(tmp_path / "resumed", name)
    for a, b in zip(whole[:2], resumed[:2]):
        pd.testing.assert_frame_equal(a, b)
    assert np.array_equal(whole[3], resumed[3])


def test_a_model_config_edited_in_place_is_another_encoder_not_reused(tiny_bert, tmp_path):
    # Only the weights were compared: an edited config.json (or tokenizer) reused, or resumed, folds trained before.
    folder = tmp_path / "model"
    shutil.copytree(tiny_bert, folder)
    corpus, config = _corpus(n_train=36, n_test=6), _config(str(folder), epochs=1)
    finetune(corpus, tmp_path / "ft", config, folds=FoldConfig(3, 0), progress=False)
    settings = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**settings, "hidden_act": "relu"}))
    with pytest.raises(ScreenstackError, match=r"differs in: the encoder \(its weights, config or tokenizer\)"):
        finetune(corpus, tmp_path / "ft", config, folds=FoldConfig(3, 0), progress=False)


def test_accumulation_checkpointing_bf16_and_no_test_records(tiny_bert, tmp_path):
    corpus = Corpus(_corpus(n_train=36, n_test=0).frame)
    config = _config(tiny_bert, epochs=2, grad_accum=2, grad_checkpointing=True, precision="bf16", valid_fraction=0.0,
                     max_length=16)
    folder, features = finetune(corpus, tmp_path, config, folds=FoldConfig(2, 0), progress=False)
    history = read_json(tmp_path / "finetune" / learner_name(config) / "fold0" / "history.json")
    assert history["best_epoch"] == 1 and history["n_select"] == 0, "with no selection split the last epoch is kept"
    oof, test, frame, vectors, meta = _outputs(tmp_path, learner_name(config))
    assert len(test) == 0 and vectors.shape == (36, 32) and oof["score"].notna().all() and meta["precision"] == "bf16"


def test_cnn_head_shape_and_padding_never_wins_the_max_pool():
    torch.manual_seed(0)
    head = make_head("cnn", 16, {"channels": 8, "kernel_size": 5, "dropout": 0.1}).eval()
    hidden = torch.randn(3, 10, 16)
    mask = torch.zeros(3, 10, dtype=torch.long)
    for row, n in enumerate([10, 6, 1]):
        mask[row, :n] = 1
    logits = head(hidden, mask)
    assert logits.shape == (3,)
    # Huge values at padded positions change nothing...
    poisoned = hidden.masked_fill(~mask.bool().unsqueeze(-1), 1e4)
    torch.testing.assert_close(head(poisoned, mask), logits)
    # ...and a record scores the same alone, unpadded, as in a padded batch.
    for row, n in enumerate([10, 6, 1]):
        torch.testing.assert_close(head(hidden[row:row + 1, :n], mask[row:row + 1, :n]), logits[row:row + 1])


def test_heads_are_found_by_name():
    assert {"linear", "cnn"} <= set(HEADS) and all(cls.name == key for key, cls in HEADS.items())
    assert make_head("linear", 8, {"channels": 4})(torch.zeros(2, 3, 8), torch.ones(2, 3)).shape == (2,)
    with pytest.raises(ScreenstackError, match="Available: cnn, linear"):
        make_head("lstm", 8)
    with pytest.raises(ScreenstackError, match="--head 'lstm'"):
        FinetuneConfig(head="lstm")


def test_long_cpu_run_needs_confirmation(tiny_bert, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(ft, "CONFIRM_OVER_S", 0.0)
    corpus, config = _corpus(), _config(tiny_bert)
    with caplog.at_level("INFO", logger="screenstack"), pytest.raises(ScreenstackError, match=r"would take about .* pass --yes"):
        finetune(corpus, tmp_path, config, folds=FoldConfig(3, 0), progress=False)
    assert not any("would take about" in message for message in caplog.messages), "said in the refusal, not twice"
    asked = []
    with pytest.raises(ScreenstackError, match="stopped"):
        finetune(corpus, tmp_path, config, folds=FoldConfig(3, 0), progress=False, confirm=lambda m: asked.append(m) and False)
    assert "tokens/s" in asked[0] and not (tmp_path / "learners").exists()
    # Declined before any work: OUT holds nothing, not even a fold plan that a later `fit-learners --folds 5` would refuse.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_cpu_estimate_shares_the_folds_to_go_among_ranks(tiny_bert, tmp_path, monkeypatch):
    clock = iter(range(1000))
    monkeypatch.setattr(ft.time, "perf_counter", lambda: 0.6 * next(clock))  # every timed step takes 0.6 s: ~80 s on one rank
    monkeypatch.setattr(ft, "CONFIRM_OVER_S", 0.0)
    config = _config(tiny_bert)
    token_ids = [[1] * 20] * 40
    splits = [(k, None, np.arange(10 * k, 10 * k + 10), (np.arange(30), np.arange(30, 35))) for k in range(4)]
    estimates = {}
    for world in (1, 2, 8):
        asked = []
        ft._confirm_cpu_run(ft.load_encoder(tiny_bert), token_ids, splits, np.arange(0), tmp_path, config, "cpu", "fp32",
                            lambda message: asked.append(message) or True, world)
        estimates[world] = int(re.search(r"about (\d+) s", asked[0]).group(1))
    assert "with 8 ranks (4 folds at a time)" in asked[0] and "per rank" in asked[0]
    # Four folds to go: two ranks halve the wall time; eight ranks can use only four.
    assert estimates[2] == pytest.approx(estimates[1] / 2, abs=1) and estimates[8] == pytest.approx(estimates[1] / 4, abs=1)


def test_resume_restores_an_rng_state_that_torch_load_put_on_another_device(tmp_path):
    torch.manual_seed(5)
    ft._save({"rng": ft._rng_state("cpu")}, tmp_path / "state.pt")
    expected = torch.rand(4)
    # A resume on a GPU reads state.pt with map_location="cuda"; "meta" stands for any device but the CPU here.
    # A tensor state came back there, and torch.set_rng_state raised.
    state = torch.load(tmp_path / "state.pt", map_location="meta", weights_only=True)
    torch.manual_seed(99)
    ft._restore_rng(state["rng"], "cpu")
    assert torch.equal(torch.rand(4), expected)
    torch.manual_seed(5)
    old_format = {"cpu": torch.get_rng_state()}  # state.pt written before: the tensor itself
    torch.manual_seed(99)
    ft._restore_rng(old_format, "cpu")
    assert torch.equal(torch.rand(4), expected)


def test_a_fold_state_that_does_not_fit_on_the_disk_is_one_line_and_no_partial_file(tmp_path):
    """A full disk (here the file-size limit, `ulimit -f`) while a fold's weights are saved: torch's zip writer raised a
    RuntimeError, a traceback, and left a half-written file; now the one-line error of every other write."""
    import subprocess
    import sys

    script = (
        "import resource, torch\n"
        "from pathlib import Path\n"
        "from screenstack.extract import finetune as ft\n"
        "from screenstack.features.errors import ScreenstackError\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))\n"
        "try:\n"
        f"    ft._save({{'w': torch.zeros(100_000)}}, Path({str(tmp_path / 'weights-e0.pt')!r}))\n"
        "except ScreenstackError as error:\n"
        "    print('refused:', error)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("refused:") and "weights-e0.pt: cannot write" in done.stdout
    assert "file-size limit (ulimit -f)" in done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("field, value, flag", [
    ("lr", math.inf, "--lr inf"), ("lr", math.nan, "--lr nan"), ("lr", 0.0, "--lr 0.0"),
    ("pos_weight", -1.0, "--pos-weight -1.0"), ("pos_weight", math.inf, "--pos-weight inf"),
    ("max_grad_norm", math.nan, "--max-grad-norm nan"), ("weight_decay", -0.01, "--weight-decay -0.01"),
    ("weight_decay", math.inf, "--weight-decay inf"), ("warmup_ratio", math.nan, "--warmup-ratio nan"),
    ("dropout", 1.0, "--dropout 1.0"), ("valid_fraction", math.nan, "--valid-fraction nan"),
    ("cnn_kernel", 4, "--cnn-kernel 4"), ("cnn_channels", 0, "--cnn-channels 0"), ("eval_batch_size", 0, "--eval-batch-size 0"),
    ("patience", 0, "--patience 0"), ("epochs", 2.5, "--epochs 2.5"),
])
def test_bad_settings_are_refused_naming_the_flag(field, value, flag):
    with pytest.raises(ScreenstackError, match="^" + re.escape(flag + ": needs")):
        FinetuneConfig(**{field: value})


@pytest.mark.parametrize("changes, flag", [({"patience": 2}, "--patience 2"), ({"select": "auc"}, "--select 'auc'")])
def test_epoch_selection_options_without_selection_rows_are_refused_not_ignored(changes, flag):
    with pytest.raises(ScreenstackError, match="^" + re.escape(flag + ": needs --valid-fraction above 0")):
        FinetuneConfig(valid_fraction=0.0, **changes)
    FinetuneConfig(valid_fraction=0.1, **changes)


def test_epochs_are_picked_by_auc_unless_no_rows_judge_them():
    # --select auc is the default; with --valid-fraction 0 (the last epoch kept) it is not a setting the user gave,
    # so it gives way to loss rather than refusing a plain --valid-fraction 0.
    assert (FinetuneConfig().select, FinetuneConfig(valid_fraction=0.0).select) == ("auc", "loss")
    assert FinetuneConfig(select="loss").select == "loss"
    assert FinetuneConfig().identity()["select"] == "auc", "the value used, not None, is what artifacts record"


SETTINGS = {"pos_weight": 4.0, "patience": 2, "dropout": 0.2, "weight_decay": 0.05, "eval_batch_size": 8, "head": "cnn",
            "cnn_channels": 32, "cnn_kernel": 3, "max_grad_norm": 0.5}  # the cnn head's options are used with it alone


def test_every_setting_comes_from_flags_and_from_a_config_file(tmp_path):
    import tomli_w

    from screenstack.cli import parse_args
    from screenstack.commands.extract import finetune_config
    from screenstack.commands.run import config_toml

    flags = [part for key, value in SETTINGS.items() for part in (f"--{key.replace('_', '-')}", str(value))]
    base = {"train": "t.csv", "test": "s.csv", "out": "o", "finetune": True}
    for command in ("extract", "run"):
        from_flags = parse_args([command, "--train", "t.csv", "--test", "s.csv", "--out", "o", "--finetune", *flags])
        (tmp_path / "c.toml").write_text(tomli_w.dumps({**base, **SETTINGS}))
        from_file = parse_args([command, "--config", str(tmp_path / "c.toml")])
        config = finetune_config(from_flags)
        assert config == finetune_config(from_file) and {key: getattr(config, key) for key in SETTINGS} == SETTINGS
    (tmp_path / "again.toml").write_text(config_toml(from_flags))  # what `run` writes to OUT/config.toml
    assert finetune_config(parse_args(["run", "--config", str(tmp_path / "again.toml")])) == config


def test_a_non_finite_value_on_the_command_line_is_one_line_and_exit_2(tmp_path, capsys):
    from screenstack.cli import main

    code = main(["extract", "--finetune", "--train", "t.csv", "--test", "s.csv", "--out", str(tmp_path / "o"), "--lr", "inf"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "--lr inf: needs a number > 0" in error and "\n" not in error and not (tmp_path / "o").exists()


@pytest.mark.parametrize("valid_fraction", [0.2, 0.0])
def test_a_diverging_fine_tuning_stops_in_one_line_naming_the_fold_and_the_fix(tiny_bert, tmp_path, valid_fraction):
    # With --lr 1e9 the weights went to NaN: a ValueError from the AUC of the epoch-selection rows, or, without them,
    # an AssertionError about fold coverage from the NaN scores.
    config = _config(tiny_bert, epochs=1, lr=1e9, valid_fraction=valid_fraction)
    with pytest.raises(ScreenstackError, match=r"^fold 0 epoch 1: the .* NaN or infinite: the fine-tuning diverged\. "
                                               r"Use a lower --lr \(now 1e\+09\), in a new --out folder"):
        finetune(_corpus(), tmp_path, config, folds=FoldConfig(3, 0), progress=False)
    assert not (tmp_path / "learners").exists()


def test_finetuning_beside_learners_of_another_test_file_is_refused_before_training(tiny_bert, tmp_path, monkeypatch):
    from screenstack.learners.fit import fit_learners

    corpus = _corpus()
    fit_learners(corpus, tmp_path, ("tfidf-logreg",), folds=FoldConfig(3, 0), progress=False)
    frame = corpus.frame.copy()
    test = frame["split"] == "test"
    frame.loc[test, "abstract"] = frame.loc[test, "abstract"].to_numpy()[::-1]  # the same ids, other texts
    monkeypatch.setattr(ft, "_fit_fold", lambda *a, **k: pytest.fail("refused only after training"))
    with pytest.raises(ScreenstackError, match=r"learners/tfidf-logreg: scored other records to screen \(--test, or --data\'s unlabelled ones, or the columns read: --text-cols\) than these"):
        finetune(Corpus(frame), tmp_path, _config(tiny_bert), folds=FoldConfig(3, 0), progress=False)


def test_an_unwritable_features_folder_is_refused_before_any_fold_is_trained(tiny_bert, tmp_path, monkeypatch):
    # The fine-tuned learner and its cross-fitted vectors move into OUT/learners/NAME and OUT/features once every
    # fold is trained (hours on a GPU): a folder they cannot move into is refused first.
    from screenstack.features.artifacts import runfolder

    from screenstack.learners.fit import fit_learners

    out = tmp_path / "run"
    fit_learners(_corpus(), out, ("tfidf-logreg",), folds=FoldConfig(3, 0), progress=False)
    (out / "features").mkdir()
    access = runfolder.os.access
    monkeypatch.setattr(runfolder.os, "access", lambda path, mode: Path(path).name != "features" and access(path, mode))
    monkeypatch.setattr(ft, "_fit_fold", lambda *a, **k: pytest.fail("refused only after training"))
    with pytest.raises(ScreenstackError, match=re.escape(f"{out / 'features'}: cannot write") + ".*Nothing was written"):
        finetune(_corpus(), out, _config(tiny_bert), folds=FoldConfig(3, 0), progress=False)
    assert not (out / "learners" / learner_name(_config(tiny_bert))).exists()


def test_fp16_on_a_cpu_is_said_to_be_emulated_as_extraction_says(tiny_bert, tmp_path):
    corpus = Corpus(_corpus(n_train=24, n_test=0).frame)
    config = _config(tiny_bert, epochs=1, precision="fp16", valid_fraction=0.0, max_length=16)
    with pytest.warns(UserWarning, match=r"--dtype fp16 on a CPU is emulated and slow"):
        finetune(corpus, tmp_path, config, folds=FoldConfig(2, 0), progress=False)


def test_bf16_on_a_cpu_without_native_bf16_is_said_to_be_slower_as_extraction_says(tiny_bert, tmp_path, monkeypatch):
    # Extraction said it; fine-tuning, which resolved the precision in a copy of its own, did not (helper-177).
    import screenstack.extract.model as model_module

    monkeypatch.setattr(model_module, "cpu_has_native_bf16", lambda: False)
    corpus = Corpus(_corpus(n_train=24, n_test=0).frame)
    config = _config(tiny_bert, epochs=1, precision="bf16", valid_fraction=0.0, max_length=16)
    with pytest.warns(UserWarning, match=r"--dtype bf16: this CPU has no native bf16"):
        finetune(corpus, tmp_path, config, folds=FoldConfig(2, 0), progress=False)


def test_checkpoints_left_beside_a_finished_folds_result_are_removed(tmp_path):
    # A stop between result.npz and the cleanup left the fold's last weights (hundreds of MB on a real model) for good.
    folder = tmp_path / "fold0"
    folder.mkdir()
    with open(folder / "result.npz", "wb") as handle:
        np.savez(handle, **{key: np.zeros(2) for key in ft.RESULT_KEYS})
    ft._save({"w": torch.zeros(2)}, folder / "weights-e2.pt")
    ft._save({"epoch": 2}, folder / "state.pt")
    ft._drop_damaged_folds(tmp_path, [0])
    assert sorted(p.name for p in folder.iterdir()) == ["result.npz"]


def test_a_damaged_run_json_of_a_stopped_fine_tuning_is_named_with_the_fix(tiny_bert, tmp_path, monkeypatch):
    # A cut run.json gave a JSONDecodeError traceback, exit 1.
    corpus, config = _corpus(), _config(tiny_bert)
    _stopped_after_fold1_epoch1(corpus, config, tmp_path, monkeypatch)
    state = tmp_path / "finetune" / learner_name(config)
    (state / "run.json").write_bytes((state / "run.json").read_bytes()[:40])
    with pytest.raises(ScreenstackError, match=rf"^{re.escape(str(state / 'run.json'))}: damaged \(.*\), and it says which "
                                               rf"configuration .* Delete {re.escape(str(state))} to start the fine-tuning over"):
        finetune(corpus, tmp_path, config, folds=FoldConfig(3, 0), progress=False)


@pytest.mark.parametrize("damaged,how", [("result.npz", "cut"), ("state.pt", "cut"), ("weights", "cut"),
                                         ("state.pt", "flipped"), ("weights", "flipped")])
def test_a_damaged_fold_file_is_named_and_that_fold_trained_again(tiny_bert, tmp_path, monkeypatch, damaged, how):
    """A cut result.npz, state.pt or best-epoch weights file: a warning naming it, the fold trained again (from its
    first epoch), the same outputs as an uninterrupted run, never a traceback where the file is read. One changed byte
    in the middle of state.pt or the weights loads (torch.load checks no checksum): it was resumed from, and the scores
    changed without a word; its SHA-256 saved beside it tells it now."""
    corpus, config = _corpus(), _config(tiny_bert)
    name = learner_name(config)
    finetune(corpus, tmp_path / "whole", config, folds=FoldConfig(3, 0), progress=False)
    _stopped_after_fold1_epoch1(corpus, config, tmp_path / "cut", monkeypatch)
    folds = tmp_path / "cut" / "finetune" / name
    path = {"result.npz": folds / "fold0" / "result.npz", "state.pt": folds / "fold1" / "state.pt",
            "weights": next((folds / "fold1").glob("weights-e*.pt"))}[damaged]
    data = bytearray(path.read_bytes())
    if how == "cut":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 4
    path.write_bytes(bytes(data))
    said = r"\(its bytes differ from the checksum saved with it\)" if how == "flipped" else r"\(.*\)"
    with pytest.warns(UserWarning, match=rf"{path.name}: damaged {said}: fold {0 if damaged == 'result.npz' else 1} "):
        finetune(corpus, tmp_path / "cut", config, folds=FoldConfig(3, 0), progress=False)
    whole, cut = _outputs(tmp_path / "whole", name), _outputs(tmp_path / "cut", name)
    for a, b in zip(whole[:2], cut[:2]):
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("head", ["linear", "cnn"])
def test_fine_tuned_scores_and_vectors_are_the_same_bytes_under_any_eval_batch_size(random_bert, head):
    # Each record padded to its batch's longest moved by up to 1e-6 with its neighbours (helper-177), while a
    # finished fine-tuning is reused, or resumed, under another --eval-batch-size.
    import copy

    from screenstack.extract.finetune_loop import predict, tokenize
    from screenstack.extract.heads import ScreeningModel
    from screenstack.extract.model import load_encoder
    from .conftest import read_records

    loaded = load_encoder(random_bert)
    torch.manual_seed(0)
    model = ScreeningModel(copy.deepcopy(loaded.model), make_head(head, loaded.model.config.hidden_size, {"channels": 16}))
    token_ids = tokenize(loaded.tokenizer, read_records(40)["title"].tolist(), 128)  # titles: 10-60 tokens
    assert len({len(t) for t in token_ids}) > 10  # records of many lengths share the batches
    index = np.arange(40)[::-1]
    runs = {size: predict(model, token_ids, index, size, 0, "cpu", "fp32", 128) for size in (64, 7, 1)}
    for size in (7, 1):
        assert runs[size][0].tobytes() == runs[64][0].tobytes() and runs[size][1].tobytes() == runs[64][1].tobytes()


@pytest.mark.parametrize("head_name", ["linear", "cnn"])
def test_a_heads_scoring_logit_is_its_training_logit_without_dropout(head_name):
    # Scoring sums each row's products (`heads.logit`) where training takes the matrix product: the two must agree, bias
    # included, or epochs picked by --select loss and the fine-tuned learner's scores follow another logit than training.
    torch.manual_seed(0)
    head = make_head(head_name, 16, {"dropout": 0.0, "channels": 8, "kernel_size": 3})
    with torch.no_grad():
        head.out.bias.fill_(0.7)
    hidden, mask = torch.randn(3, 7, 16), torch.ones(3, 7, dtype=torch.long)
    mask[1, 4:] = 0
    with torch.no_grad():
        trained, scored = head.train()(hidden, mask), head.eval()(hidden, mask)
    torch.testing.assert_close(scored, trained, atol=1e-5, rtol=1e-5)
