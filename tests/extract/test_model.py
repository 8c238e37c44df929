"""Loading encoders other than BERT (tiny random RoBERTa, ELECTRA, DeBERTa-v2), their token limits and load errors."""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from screenstack.extract.encode import encode
from screenstack.extract.finetune import FinetuneConfig, finetune
from screenstack.extract.heads import ScreeningModel, make_head
from screenstack.extract.model import load_encoder, max_positions
from screenstack.extract.stage import ExtractConfig, extract_features
from screenstack.features.errors import ScreenstackError
from screenstack.features.artifacts.folds import FoldConfig

from .conftest import corpus_of, read_records

LIMITS = {"roberta": 64, "electra": 66, "deberta-v2": 66}  # from 66 positions; RoBERTa's ids start after its padding index


def test_each_architecture_loads_with_the_attention_it_has(other_architecture, caplog):
    architecture, folder = other_architecture
    with caplog.at_level(logging.INFO, logger="screenstack"):
        loaded = load_encoder(folder)
    # DeBERTa-v2 has no SDPA attention: asking for it made loading fail ("not a complete model").
    expected = "eager" if architecture == "deberta-v2" else "sdpa"
    assert loaded.model.config._attn_implementation == expected
    assert ("using eager attention" in caplog.text) == (architecture == "deberta-v2")
    assert max_positions(loaded) == LIMITS[architecture]


def test_the_token_limit_is_the_longest_input_the_model_runs(other_architecture, one_thread):
    architecture, folder = other_architecture
    loaded = load_encoder(folder)
    limit = max_positions(loaded)
    model = ScreeningModel(loaded.model, make_head("cnn", 32, {"channels": 4, "kernel_size": 3})).eval()
    ids = torch.full((2, limit), 5)
    with torch.inference_mode():
        logits, cls = model(ids, torch.ones_like(ids))
        assert logits.shape == (2,) and cls.shape == (2, 32)
        if architecture != "deberta-v2":  # absolute positions: one token more runs past the table
            longer = torch.full((1, limit + 1), 5)
            with pytest.raises((IndexError, RuntimeError)):
                loaded.model(input_ids=longer, attention_mask=torch.ones_like(longer))


def test_fine_tuning_and_extraction_refuse_a_max_length_past_the_limit_before_work(other_architecture, tmp_path, one_thread):
    architecture, folder = other_architecture
    limit = LIMITS[architecture]
    corpus = corpus_of(read_records(24), n_train=18)
    config = FinetuneConfig(model=folder, max_length=limit + 1, epochs=1, batch_size=4, device="cpu", precision="fp32")
    with pytest.raises(ScreenstackError, match=rf"^--max-length {limit + 1}: .* reads 2 to {limit} tokens\. Use a value"):
        finetune(corpus, tmp_path / "ft", config, folds=FoldConfig(3, 0), progress=False, confirm=True)
    assert not (tmp_path / "ft" / "finetune").exists() and not (tmp_path / "ft" / "learners").exists()
    with pytest.raises(ScreenstackError, match=rf"^--max-length {limit + 1}: .* reads 2 to {limit} tokens"):
        extract_features(corpus, tmp_path / "ex", ExtractConfig(model=folder, max_length=limit + 1, device="cpu",
                                                                 cache_dir=str(tmp_path / "cache")), progress=False)
    assert not (tmp_path / "ex" / "features").exists()


def test_at_the_limit_every_architecture_fine_tunes_and_encodes(other_architecture, tmp_path, one_thread):
    architecture, folder = other_architecture
    limit = LIMITS[architecture]
    records = read_records(24)
    records = records.assign(abstract=records["abstract"] + " " + records["abstract"])  # past the limit: truncated to it
    corpus = corpus_of(records, n_train=18)
    config = FinetuneConfig(model=folder, max_length=limit, epochs=1, batch_size=6, eval_batch_size=8, valid_fraction=0.0,
                            device="cpu", precision="fp32", cnn_channels=8, head="cnn")
    learner, features = finetune(corpus, tmp_path / "ft", config, folds=FoldConfig(3, 0), progress=False, confirm=True)
    assert pd.read_parquet(learner / "oof.parquet")["score"].between(0, 1).all() and features.is_file()
    vectors = encode(list(records["title"] + " " + records["abstract"]), encoder=load_encoder(folder), device="cpu",
                     max_length=limit)
    assert vectors.shape == (24, 32) and np.isfinite(vectors).all()


def test_a_model_transformers_cannot_build_says_why(random_bert, tmp_path):
    folder = tmp_path / "odd"
    shutil.copytree(random_bert, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "no-such-architecture"}))
    with pytest.raises(ScreenstackError) as error:
        load_encoder(str(folder))
    message = str(error.value)
    assert "not a complete model" not in message and "cannot build a model from the folder" in message
    assert "no-such-architecture" in message and "\n" not in message


def test_a_folder_without_weights_is_named_incomplete(random_bert, tmp_path):
    folder = tmp_path / "no-weights"
    shutil.copytree(random_bert, folder, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    with pytest.raises(ScreenstackError, match=r"is not a complete model \(no weights files"):
        load_encoder(str(folder))


def test_a_folder_without_tokenizer_files_is_named_incomplete(random_bert, tmp_path):
    # transformers loads such a folder with an empty tokenizer (every word [UNK]): it must be refused, not encoded.
    folder = tmp_path / "no-tokenizer"
    shutil.copytree(random_bert, folder, ignore=shutil.ignore_patterns("tokenizer*", "vocab.txt", "special_tokens_map.json"))
    with pytest.raises(ScreenstackError, match=r"is not a complete model \(no tokenizer files") as error:
        load_encoder(str(folder))
    assert "\n" not in str(error.value)


def test_a_tokenizer_past_the_models_embeddings_is_refused(random_bert, tmp_path):
    # Another model's tokenizer files beside these weights: token ids beyond the embedding rows failed mid-encoding.
    folder = tmp_path / "other-tokenizer"
    shutil.copytree(random_bert, folder)
    vocab = (folder / "vocab.txt").read_text().splitlines()
    (folder / "vocab.txt").write_text("\n".join(vocab + [f"extra{i}" for i in range(50)]) + "\n")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ScreenstackError, match=r"tokenizer has \d+ tokens but the model's embeddings only \d+") as error:
        load_encoder(str(folder))
    assert "\n" not in str(error.value)


def test_a_folder_whose_tokenizer_config_is_its_only_tokenizer_file_is_named_incomplete(random_bert, tmp_path):
    # tokenizer_config.json alone makes a tokenizer of a few special tokens: every word [UNK], vectors of lengths only.
    folder = tmp_path / "config-only"
    shutil.copytree(random_bert, folder, ignore=shutil.ignore_patterns("tokenizer.json", "vocab.txt"))
    assert (folder / "tokenizer_config.json").is_file()
    with pytest.raises(ScreenstackError, match=r"is not a complete model \(no tokenizer files"):
        load_encoder(str(folder))


def test_a_tokenizer_far_smaller_than_the_models_embeddings_is_refused(random_bert, tmp_path):
    folder = tmp_path / "short-vocab"
    shutil.copytree(random_bert, folder)
    vocab = (folder / "vocab.txt").read_text().splitlines()
    (folder / "vocab.txt").write_text("\n".join(vocab[:5]) + "\n")  # the special tokens alone
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ScreenstackError, match=r"tokenizer has 5 tokens for a model with \d+ embedding rows, so its vocabulary"):
        load_encoder(str(folder))


@pytest.mark.parametrize("damage", ["tokenizer.json not JSON", "config.json a list", "weights truncated", "weights empty"])
def test_damaged_model_files_are_named_in_one_line_not_a_traceback(random_bert, tmp_path, damage):
    folder = tmp_path / "damaged"
    shutil.copytree(random_bert, folder)
    if damage == "tokenizer.json not JSON":
        (folder / "tokenizer.json").write_text('{"version":\n')
        expected = r"tokenizer.json is not valid JSON \(.*\): the model's files are damaged"
    elif damage == "config.json a list":
        (folder / "config.json").write_text("[1, 2]")
        expected = r"config.json holds a JSON list, not the object of a model's configuration"
    else:
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100] if damage == "weights truncated" else b"")
        expected = r"cannot load it: the files of .* are damaged or do not fit each other \(SafetensorError: .*Download the model again"
    with pytest.raises(ScreenstackError, match=expected) as error:
        load_encoder(str(folder))
    assert "\n" not in str(error.value)


def _tokenizer_only(folder: Path) -> Path:
    """A folder with a random BERT's tokenizer files and no model: another architecture's weights go in."""
    from .conftest import make_random_bert

    make_random_bert(folder)
    for path in folder.glob("*.safetensors"):
        path.unlink()
    (folder / "config.json").unlink()
    return folder


def test_a_decoder_only_model_is_refused(tmp_path):
    # GPT-2's tokens see only those before them: its first token's vector (cls pooling, the fine-tuning heads) read one token.
    from transformers import GPT2Config, GPT2Model

    folder = _tokenizer_only(tmp_path / "gpt2")
    GPT2Model(GPT2Config(vocab_size=600, n_embd=32, n_layer=2, n_head=2, n_positions=64)).save_pretrained(str(folder))
    with pytest.raises(ScreenstackError, match=r"a decoder-only model \(gpt2\).*Use an encoder"):
        load_encoder(str(folder))


def test_an_encoder_decoder_model_is_refused(tmp_path):
    from transformers import T5Config, T5Model

    folder = _tokenizer_only(tmp_path / "t5")
    T5Model(T5Config(vocab_size=600, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2, pad_token_id=0,
                     decoder_start_token_id=0)).save_pretrained(str(folder))
    with pytest.raises(ScreenstackError, match=r"an encoder-decoder model \(t5\).*Use an encoder"):
        load_encoder(str(folder))


def test_grad_checkpointing_on_a_model_without_it_is_refused_before_work(tmp_path):
    from transformers import AlbertConfig, AlbertModel

    folder = _tokenizer_only(tmp_path / "albert")
    AlbertModel(AlbertConfig(vocab_size=494, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=64, max_position_embeddings=66)).save_pretrained(str(folder))
    corpus = corpus_of(read_records(24), n_train=18)
    config = FinetuneConfig(model=str(folder), max_length=32, epochs=1, batch_size=4, device="cpu", precision="fp32",
                            grad_checkpointing=True)
    with pytest.raises(ScreenstackError, match=r"^--grad-checkpointing: .*\(albert\) does not support"):
        finetune(corpus, tmp_path / "ft", config, folds=FoldConfig(3, 0), progress=False, confirm=True)
    assert not (tmp_path / "ft" / "finetune").exists() and not (tmp_path / "ft" / "folds.parquet").exists()


@pytest.mark.parametrize("precision", [torch.bfloat16, torch.float16])
def test_weights_saved_in_half_precision_load_in_float32(random_bert, tmp_path, precision):
    # Loaded as saved, the vectors came out at another precision than the setting says, and fine-tuning stopped.
    from transformers import AutoModel

    folder = tmp_path / "half"
    shutil.copytree(random_bert, folder)
    AutoModel.from_pretrained(random_bert).to(precision).save_pretrained(str(folder))
    assert load_encoder(str(folder)).model.dtype == torch.float32


@pytest.mark.parametrize("damage", ["config of more layers", "a tensor dropped"])
def test_weights_lacking_tensors_the_config_asks_for_are_refused_not_filled_at_random(random_bert, tmp_path, damage):
    # transformers fills the missing tensors with random numbers: the vectors changed from run to run.
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "unfit"
    shutil.copytree(random_bert, folder)
    if damage == "config of more layers":
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": config["num_hidden_layers"] + 1}))
    else:
        tensors = load_file(folder / "model.safetensors")
        dropped = next(k for k in sorted(tensors) if "attention.self.query.weight" in k)
        save_file({k: v for k, v in tensors.items() if k != dropped}, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ScreenstackError, match=r"its weights lack \d+ of the tensors its config.json asks for .* Download the model again") as error:
        load_encoder(str(folder))
    assert "\n" not in str(error.value)


def test_a_config_of_fewer_layers_than_the_weights_or_a_cut_short_vocabulary_is_refused(random_bert, tmp_path):
    # Both loaded without a word before: the extra layers' tensors dropped (a cut-down model), and words the
    # missing half of vocab.txt held split into pieces the model never learned them as.
    folder = tmp_path / "fewer"
    shutil.copytree(random_bert, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": config["num_hidden_layers"] - 1}))
    with pytest.raises(ScreenstackError, match=rf"its weights hold layers past the {config['num_hidden_layers'] - 1} its "
                                               r"config.json names \(the first: .*layer\.\d+\..*Download the model again"):
        load_encoder(str(folder))
    folder = tmp_path / "cut"
    shutil.copytree(random_bert, folder, ignore=shutil.ignore_patterns("tokenizer.json"))
    words = (folder / "vocab.txt").read_text().splitlines()
    (folder / "vocab.txt").write_text("\n".join(words[: len(words) // 2]) + "\n")
    with pytest.raises(ScreenstackError, match=rf"its tokenizer has {len(words) // 2} tokens for a model with {len(words)} "
                                               r"embedding rows.*missing, cut short"):
        load_encoder(str(folder))
    load_encoder(str(random_bert))  # the model as saved still loads
    with pytest.raises(ScreenstackError, match=r"config.json: is a file; pass the folder .* \(here: --model "):
        load_encoder(str(Path(random_bert) / "config.json"))  # "damaged ... UnpicklingError" before


def test_a_stray_file_is_not_taken_for_weights_and_a_config_with_a_byte_order_mark_is_named(random_bert, tmp_path):
    folder = tmp_path / "stray"
    shutil.copytree(random_bert, folder, ignore=shutil.ignore_patterns("*.safetensors"))
    (folder / "notes.pt").write_bytes(b"not weights")
    (folder / "model.safetensors").mkdir()  # a folder of that name is no weights file either
    with pytest.raises(ScreenstackError, match=r"is not a complete model \(no weights files"):
        load_encoder(str(folder))
    folder = tmp_path / "bom"
    shutil.copytree(random_bert, folder)
    (folder / "config.json").write_bytes(b"\xef\xbb\xbf" + (folder / "config.json").read_bytes())
    with pytest.raises(ScreenstackError, match=r"config.json starts with a byte-order mark, which transformers cannot read"):
        load_encoder(str(folder))


@pytest.mark.parametrize("damage", ["vocabulary missing", "a tensor missing"])
def test_extract_refuses_such_a_folder_in_one_line_before_writing_anything(random_bert, tmp_path, tiny_corpus_files, capsys, damage):
    from safetensors.torch import load_file, save_file

    from screenstack.cli import main

    folder = tmp_path / "damaged"
    shutil.copytree(random_bert, folder, ignore=shutil.ignore_patterns("tokenizer.json", "vocab.txt")
                    if damage == "vocabulary missing" else None)
    if damage == "a tensor missing":
        tensors = load_file(folder / "model.safetensors")
        save_file({k: v for k, v in tensors.items() if "layer.0.output.dense.weight" not in k}, folder / "model.safetensors",
                  metadata={"format": "pt"})
    train, test = tiny_corpus_files
    out = tmp_path / "out"
    assert main(["-q", "extract", "--train", str(train), "--test", str(test), "--model", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("screenstack: error: ")]
    assert len(errors) == 1 and "Traceback" not in err and str(folder) in errors[0]
    assert not out.exists()


@pytest.mark.parametrize("name", ["./models/nosuch", "../nosuch-model", "~/no-such-model-folder", "models/nosuch"])
def test_a_model_path_that_does_not_exist_is_named_as_a_missing_folder_not_a_hub_problem(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()  # models/nosuch is a path where models/ exists, not a hub id
    with pytest.raises(ScreenstackError) as error:
        load_encoder(name)
    message = str(error.value)
    assert f"there is no folder {os.path.abspath(os.path.expanduser(name))}" in message and "Check the path" in message
    assert "Hugging Face" not in message and "\n" not in message


def test_a_hub_name_not_in_the_cache_says_the_hub_cannot_be_reached():
    with pytest.raises(ScreenstackError, match="neither a local folder nor in the Hugging Face cache"):
        load_encoder("no-such-org/no-such-encoder")


def test_a_tokenizer_that_cuts_long_texts_from_the_left_is_another_encoder(random_bert, tmp_path):
    # Texts past --max-length lose their start instead of their end: other vectors, so a cache or run made with
    # the folder as it was must not be taken for this one. Writing the default side out changes nothing.
    from screenstack.extract.model import encoder_fingerprint

    copies = {}
    for side in ("left", "right"):
        folder = tmp_path / side
        shutil.copytree(random_bert, folder)
        config_file = folder / "tokenizer_config.json"
        config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "truncation_side": side}))
        copies[side] = load_encoder(str(folder))
    original = encoder_fingerprint(load_encoder(random_bert))
    assert copies["left"].tokenizer.truncation_side == "left"
    assert encoder_fingerprint(copies["left"]) != original
    assert encoder_fingerprint(copies["right"]) == original


def test_a_max_length_past_the_tokenizers_cap_names_the_cap_to_raise(random_bert, tmp_path):
    # The model reads 128 positions; a tokenizer_config.json capping texts at 32 is what stands in the way.
    from screenstack.extract.model import TokenizerCapError, check_max_length

    folder = tmp_path / "capped"
    shutil.copytree(random_bert, folder)
    config_file = folder / "tokenizer_config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "model_max_length": 32}))
    loaded = load_encoder(str(folder))
    check_max_length(loaded, 32)
    with pytest.raises(TokenizerCapError, match=rf"^--max-length 64: {folder}'s tokenizer caps texts at 32 tokens \(model_max_length "
                                                rf"in {config_file}\), though the model reads 128\. Set model_max_length there to 64 "
                                                r"or more, or use a --max-length from 2 to 32\.$"):
        check_max_length(loaded, 64)
    with pytest.raises(ScreenstackError, match=r"^--max-length 129: .* reads 2 to 32 tokens\. Use a value") as past:
        check_max_length(loaded, 129)  # past the model's positions too: raising the cap would not do
    assert not isinstance(past.value, TokenizerCapError)
