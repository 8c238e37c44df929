"""Fixtures for the extract tests: tiny random BERTs saved to tmp folders, and a small corpus.

The BERTs are real `BertModel`s with a WordPiece vocabulary written here
(special tokens, letters, digits, word pieces and the commonest words of a
real abstract slice), so texts tokenise into realistic, varied lengths.
`make_random_encoder` builds RoBERTa, ELECTRA and DeBERTa-v2 the same way.
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


def make_random_bert(folder: Path, seed: int = 0, layers: int = 4, hidden: int = 32, max_positions: int = 128) -> str:
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


# Architectures other than BERT, built from a config the way `make_random_bert` builds a BERT. Each reads the
# same WordPiece tokenizer (all three load it offline); RoBERTa's pad token is id 1, as in the real one, so its
# position ids start at 2 and its max_position_embeddings - 2 tokens are the limit.
OTHER_ARCHITECTURES = {
    "roberta": ("RobertaConfig", "RobertaModel", {"pad_token_id": 1}),
    "electra": ("ElectraConfig", "ElectraModel", {"embedding_size": 16}),
    "deberta-v2": ("DebertaV2Config", "DebertaV2Model",  # DeBERTa-v3's settings: relative attention only, no SDPA
                   {"relative_attention": True, "position_biased_input": False, "pos_att_type": ["p2c", "c2p"]}),
}


def make_random_encoder(folder: Path, architecture: str, max_positions: int = 66) -> str:
    """Save a random 4-layer, width-32 encoder of `architecture` (a key of `OTHER_ARCHITECTURES`); return the folder."""
    import transformers
    from transformers import BertTokenizerFast

    config_class, model_class, settings = OTHER_ARCHITECTURES[architecture]
    folder.mkdir(parents=True, exist_ok=True)
    words = sorted(set(re.findall(r"[a-z]{3,}", " ".join(read_records(50)["title"]).lower())))
    vocab = ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz0123456789.,;:()-", *words]
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    BertTokenizerFast.from_pretrained(str(folder), do_lower_case=True).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = getattr(transformers, config_class)(
        vocab_size=len(dict.fromkeys(vocab)), hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=max_positions, **{"pad_token_id": 1, **settings})
    getattr(transformers, model_class)(config).eval().save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="session", params=sorted(OTHER_ARCHITECTURES))
def other_architecture(request, tmp_path_factory) -> tuple[str, str]:
    """(architecture, folder) of a tiny random RoBERTa, ELECTRA and DeBERTa-v2 in turn."""
    return request.param, make_random_encoder(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture(scope="session")
def random_bert(tmp_path_factory) -> str:
    """Folder of a 4-layer, width-32 random BERT (seed 0): the default --layers take the last four."""
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
