"""Fixtures for the extract tests: tiny random BERTs saved to tmp folders, and a small corpus.

The BERTs are real `BertModel`s with a WordPiece vocabulary written here
(special tokens, letters, digits, word pieces and the commonest words of a
real abstract slice), so texts tokenise into realistic, varied lengths.
"""
from __future__ import annotations

import collections
import re
from pathlib import Path

import pandas as pd
import pytest
import torch

from screenstack.features.records.corpus import Corpus

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
SOURCE = "cohen_adhd.csv"


def read_records(n: int, start: int = 0) -> pd.DataFrame:
    data = pd.read_csv(DATASETS / SOURCE, dtype=str, keep_default_na=False)
    return data.iloc[start:start + n]


def make_random_bert(folder: Path, seed: int = 0, layers: int = 3, hidden: int = 32, max_positions: int = 128) -> str:
    """Save a random BERT and its WordPiece tokenizer to `folder`; return the folder."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    text = " ".join(read_records(300).pipe(lambda d: d["title"] + " " + d["abstract"])).lower()
    words = [w for w, _ in collections.Counter(re.findall(r"[a-z]{3,}", text)).most_common(400)]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *".,;:()%-/=<>+'\"[]", *chars, *[f"##{c}" for c in chars], *words]
    vocab = list(dict.fromkeys(vocab))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    # from_pretrained reads vocab.txt the same way in transformers 4 and 5 (the vocab_file= keyword does not in 5).
    BertTokenizerFast.from_pretrained(str(folder), do_lower_case=True).save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=max_positions)
    BertModel(config).eval().save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="session")
def random_bert(tmp_path_factory) -> str:
    """Folder of a 3-layer, width-32 random BERT (seed 0)."""
    return make_random_bert(tmp_path_factory.mktemp("random-bert"))


@pytest.fixture(scope="session")
def other_random_bert(tmp_path_factory) -> str:
    """Same architecture as `random_bert`, other weights (seed 1)."""
    return make_random_bert(tmp_path_factory.mktemp("random-bert-1"), seed=1)


def corpus_of(frame: pd.DataFrame, n_train: int) -> Corpus:
    """A `Corpus` from raw records: the first `n_train` are training rows (labels 0/1), the rest test rows."""
    out = pd.DataFrame({"id": frame["record_id"].astype(str).values, "title": frame["title"].values,
                        "abstract": frame["abstract"].values})
    out["label"] = [float(i % 2) if i < n_train else float("nan") for i in range(len(out))]
    out["split"] = ["train" if i < n_train else "test" for i in range(len(out))]
    return Corpus(out)


@pytest.fixture
def records() -> pd.DataFrame:
    """48 real records (title + abstract), some without an abstract."""
    return read_records(48)


@pytest.fixture
def one_thread():
    # A width-32 model gains nothing from threads, and OpenMP threads
    # competing with other processes for 2 cores slow every op down a lot.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
