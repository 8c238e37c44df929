"""`encode`, poolings and batching, on a tiny random BERT."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from screenstack.extract import pooling as pooling_module
from screenstack.extract.encode import Encoder, batch_widths, encode, plan_batches, resolve_batch_tokens
from screenstack.extract.model import load_encoder
from screenstack.extract.pooling import DEFAULT_LAYERS, POOLINGS, block_names, check_layers, parse_layers, register
from screenstack.features.records.corpus import texts
from screenstack.features.errors import ScreenstackError

from .conftest import corpus_of, make_random_bert

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def encoder(random_bert):
    return load_encoder(random_bert)


def _direct(encoder, text: str, max_length: int) -> dict[str, np.ndarray]:
    """Pooled vectors computed by hand from one unpadded forward pass."""
    batch = encoder.tokenizer([text], truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        states = encoder.model(**batch, output_hidden_states=True).hidden_states
    return {f"L{layer}:{name}": (states[layer][0, 0] if name == "cls" else states[layer][0].mean(0)).numpy()
            for layer in (-1, -2, -3) for name in ("cls", "mean")}


def test_pooling_equals_direct_computation(encoder, records):
    sample = texts(corpus_of(records, len(records)).frame)[:12]
    layers, poolings = (-1, -3, -2), ("mean", "cls")
    vectors = encode(sample, encoder=encoder, layers=layers, pooling=poolings, max_length=48, batch_tokens=200, device="cpu")
    assert vectors.dtype == np.float32 and vectors.shape == (12, 6 * 32)
    names = block_names(layers, poolings)
    for row, text in enumerate(sample):
        expected = _direct(encoder, text, 48)
        got = np.split(vectors[row], len(names))
        for name, block in zip(names, got):
            np.testing.assert_allclose(block, expected[name], atol=2e-5, err_msg=f"row {row} block {name}")


def test_vector_does_not_depend_on_batch_neighbours_or_padding(encoder, records):
    sample = texts(corpus_of(records, len(records)).frame)
    target = "Methylphenidate in adult ADHD: a randomised trial."
    alone = encode([target], encoder=encoder, max_length=64, pooling=("cls", "mean"), device="cpu")
    # Among long texts (padded to 64), among short ones, and with tiny and large budgets.
    for neighbours, budget in ((sample[:20], 4096), ([t[:30] for t in sample[:20]], 100), (sample[:7], 64)):
        batch = [*neighbours[:5], target, *neighbours[5:]]
        together = encode(batch, encoder=encoder, max_length=64, pooling=("cls", "mean"), batch_tokens=budget, device="cpu")
        # The same bytes, not merely close: each text is padded to its own width (`PADDING`), so --batch-tokens,
        # --chunk-size and what the vector cache already held cannot change a feature file.
        assert together[5].tobytes() == alone[0].tobytes()


def test_order_is_restored_and_every_text_encoded_once(encoder, records):
    sample = texts(corpus_of(records, len(records)).frame)
    forward = encode(sample, encoder=encoder, max_length=64, batch_tokens=300, device="cpu")
    backward = encode(sample[::-1], encoder=encoder, max_length=64, batch_tokens=900, device="cpu")
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-5)
    assert encode([], encoder=encoder, device="cpu").shape == (0, 32)


def test_bf16_stays_close_to_fp32_and_leaves_the_model_alone(encoder, records):
    sample = texts(corpus_of(records, len(records)).frame)[:16]
    fp32 = encode(sample, encoder=encoder, max_length=64, pooling=("mean",), device="cpu")
    bf16 = encode(sample, encoder=encoder, max_length=64, pooling=("mean",), device="cpu", precision="bf16")
    cosine = (fp32 * bf16).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    assert cosine.min() > 0.99
    # The bf16 pass ran on a copy: the loaded model is still fp32 and gives the same vectors.
    assert all(p.dtype == torch.float32 for p in encoder.model.parameters())
    again = encode(sample, encoder=encoder, max_length=64, pooling=("mean",), device="cpu")
    assert again.tobytes() == fp32.tobytes()


def test_plan_batches_respects_the_budget_and_covers_every_text():
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 300, size=500)
    batches = plan_batches(batch_widths(lengths), 1000)
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(500))
    for batch in batches:
        assert len(batch) * lengths[batch].max() <= 1000
    # Longest first: a batch never holds a text longer than the previous batch's longest.
    longest = [lengths[b].max() for b in batches]
    assert longest == sorted(longest, reverse=True)
    assert [b.tolist() for b in plan_batches(batch_widths([500, 3]), 100)] == [[0], [1]]  # over budget: a batch of its own
    # Padded to multiples of 16 (few tensor shapes), never past the model's limit.
    assert batch_widths([17, 500, 511], 510).tolist() == [32, 510, 511] and batch_widths([500], 512).tolist() == [512]
    widths = batch_widths(lengths, 300)
    for batch in plan_batches(widths, 1000):
        assert len(batch) * widths[batch].max() <= max(1000, widths[batch].max())
        # One padded width per batch: a text's padding is its own, never its neighbours'.
        assert len(set(widths[batch].tolist())) == 1


def test_default_layers_on_a_model_with_fewer_layers_name_the_fix(tmp_path):
    # The default pools the last four layers; a 3-layer model is refused in one line saying so, with what to give.
    three = load_encoder(make_random_bert(tmp_path / "three-layers", layers=3))
    with pytest.raises(ScreenstackError, match=r"^--layers last4: the model has 3 layers, so it has no layer -4 \(last4 is the "
                                               r"default: a model with fewer layers needs --layers\)\. Use -1 \(last\) to -3 \(or last3\)"):
        encode(["x"], encoder=three, layers=DEFAULT_LAYERS, device="cpu")
    with pytest.raises(ScreenstackError, match=r"^--layers last4: the model has 1 layer, so it has no layer -2 .* Use -1 \(its one "
                                               r"layer\), or 0 \(embeddings\) to 1\.$"):
        check_layers(DEFAULT_LAYERS, 1)


def test_bad_options_name_the_fix(encoder):
    with pytest.raises(ScreenstackError, match=r"--pooling max: unknown; available: cls, mean\."):
        encode(["x"], encoder=encoder, pooling=("max",), device="cpu")
    with pytest.raises(ScreenstackError, match="has 4 layers"):
        encode(["x"], encoder=encoder, layers=(-5,), device="cpu")
    with pytest.raises(ScreenstackError, match="reads 2 to 128 tokens"):
        encode(["x"], encoder=encoder, max_length=1000, device="cpu")
    with pytest.raises(ScreenstackError, match="--batch-tokens"):
        resolve_batch_tokens("many", "cpu")
    with pytest.raises(ScreenstackError, match="--dtype"):
        encode(["x"], encoder=encoder, precision="int4", device="cpu")
    assert parse_layers("last3") == (-1, -2, -3)
    assert parse_layers("-1,-2") == (-1, -2)
    with pytest.raises(ScreenstackError, match="listed twice"):
        parse_layers("-1,-1")
    assert check_layers((-1, 0, 2), 3) == (3, 0, 2)

    with pytest.raises(ScreenstackError, match="listed twice"):
        Encoder.build(encoder, pooling=("cls", "cls"), device="cpu")
    with pytest.raises(ScreenstackError, match="--pooling is empty"):
        Encoder.build(encoder, pooling=(), device="cpu")


def test_encoder_is_resolved_once_and_carries_its_settings(encoder, records):
    sample = texts(corpus_of(records, len(records)).frame)[:10]
    built = Encoder.build(encoder, layers=(-1, -2), pooling=("mean", "cls"), max_length=40)
    assert built.device == "cpu" and built.precision == "fp32", "auto resolved to concrete values on a CPU-only machine"
    assert built.layer_indices == (4, 3) and built.limit == 128 and built.width == 4 * 32
    assert built.block_names == ["L-1:mean", "L-1:cls", "L-2:mean", "L-2:cls"]
    direct = encode(sample, encoder=encoder, layers=(-1, -2), pooling=("mean", "cls"), max_length=40, device="cpu")
    assert encode(sample, encoder=built, batch_tokens=256).tobytes() == direct.tobytes()
    with pytest.raises(TypeError, match="come from the Encoder"):
        encode(sample, encoder=built, max_length=20)


def test_pooling_registry_rejects_duplicates():
    assert set(POOLINGS) >= {"cls", "mean"}

    class Again(pooling_module.Pooling):
        name = "cls"

    with pytest.raises(AssertionError, match="registered twice"):
        register(Again)


def test_one_layer_named_twice_by_two_spellings_is_refused():
    # -1,-1 was refused but 2,-1 of a 2-layer model (the same hidden state) gave the block twice.
    with pytest.raises(ScreenstackError, match=r"--layers 2,-1: 2 and -1 are the same layer of this 2-layer model"):
        check_layers((2, -1), 2)
    assert check_layers((2, -2, 0), 2) == (2, 1, 0)


def test_the_shipped_minilm_gives_the_same_bytes_however_texts_are_batched():
    """On the real model (the tiny random BERT hides it): a text padded to its batch's longest got vectors that moved
    by up to 1.4e-6 with its neighbours (most of these 30 rows did), so --batch-tokens, --chunk-size and what the vector
    cache held changed the bytes of a feature file, and the vector learners' scores with them."""
    import pandas as pd

    data = pd.read_csv(DATASETS / "cohen_adhd.csv", dtype=str, keep_default_na=False)
    sample = (data["title"] + ". " + data["abstract"]).tolist()[:30]
    minilm = load_encoder("minilm")
    alone = encode(sample, encoder=minilm, device="cpu", batch_tokens=1)  # one text per batch
    batched = encode(sample, encoder=minilm, device="cpu")
    subset = encode(sample[::3], encoder=minilm, device="cpu")
    assert alone.tobytes() == batched.tobytes()
    assert subset.tobytes() == batched[::3].tobytes()


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_without_native_bf16_says_it_is_slower_than_fp32(encoder, monkeypatch, native):
    """On a CPU without AVX-512 BF16 or AMX, `--dtype bf16` runs emulated, many times slower: say so and name the fix."""
    import warnings

    import screenstack.extract.model as model_module

    monkeypatch.setattr(model_module, "cpu_has_native_bf16", lambda: native)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Encoder.build(encoder, pooling=("mean",), device="cpu", precision="bf16")
    said = [str(w.message) for w in caught if "--dtype bf16" in str(w.message)]
    assert said == ([] if native else ["--dtype bf16: this CPU has no native bf16 (AVX-512 BF16 or AMX), so bf16 is emulated "
                                       "and slower than fp32 here; use --dtype fp32 (the default on a CPU)."])


def test_a_text_padded_to_its_width_gets_the_vectors_of_its_unpadded_forward_pass(encoder, records):
    # Each text is padded to a multiple of 16 tokens (`PADDING`); the padding must change neither its CLS nor its mean
    # vector. Texts cut to 48 tokens (test_pooling_equals_direct_computation) are never padded, so a mean over the pad
    # tokens, or an attention mask that covers them, went unseen.
    sample = texts(corpus_of(records, len(records)).frame)[:12]
    short = [text[: 40 + 9 * i] for i, text in enumerate(sample)]
    lengths = [len(encoder.tokenizer(text, truncation=True, max_length=128)["input_ids"]) for text in short]
    assert sum(n % 16 != 0 for n in lengths) >= 8, "most texts are padded"
    layers, poolings = (-1, -3, -2), ("mean", "cls")
    vectors = encode(short, encoder=encoder, layers=layers, pooling=poolings, max_length=128, device="cpu")
    names = block_names(layers, poolings)
    for row, text in enumerate(short):
        expected = _direct(encoder, text, 128)
        for name, block in zip(names, np.split(vectors[row], len(names))):
            np.testing.assert_allclose(block, expected[name], atol=2e-5, err_msg=f"row {row} ({lengths[row]} tokens) block {name}")


def test_texts_filling_whole_windows_are_all_encoded(encoder, records, monkeypatch):
    # A batch short of its width's budget waits for the next window, and all run after the last one. A corpus of exactly
    # k windows (any full extraction chunk: --chunk-size 256 = WINDOW) must still run them: `>` for `>=` in `last` left
    # their rows as np.empty's garbage.
    import screenstack.extract.encode as encode_module

    monkeypatch.setattr(encode_module, "WINDOW", 8)
    sample = texts(corpus_of(records, len(records)).frame)[:16]
    together = encode(sample, encoder=encoder, max_length=64, pooling=("mean",), batch_tokens=4096, device="cpu")
    alone = np.vstack([encode([text], encoder=encoder, max_length=64, pooling=("mean",), device="cpu") for text in sample])
    assert together.tobytes() == alone.tobytes()


def test_one_layer_other_than_the_last_gives_that_layers_block(encoder, records):
    # Only --layers -1 may skip the tuple of every layer's states; --layers -2 alone is the second block of -1,-2.
    sample = texts(corpus_of(records, len(records)).frame)[:6]
    both = encode(sample, encoder=encoder, layers=(-1, -2), pooling=("mean",), max_length=64, device="cpu")
    second = encode(sample, encoder=encoder, layers=(-2,), pooling=("mean",), max_length=64, device="cpu")
    np.testing.assert_allclose(second, both[:, 32:], atol=1e-6)


def test_a_fused_cpu_model_that_disagrees_with_the_original_is_not_used(encoder, records, monkeypatch):
    # oneDNN's fused ops are private to torch: a version where one misbehaves must fall back to the model as loaded
    # (`fuse._agrees`), not write its vectors. Here the fused residual add drops the dense output.
    import weakref

    from screenstack.extract import fuse

    monkeypatch.setattr(fuse, "_PREPARED", weakref.WeakKeyDictionary())  # the module's encoder was prepared before
    monkeypatch.setattr(fuse.DenseAddNorm, "forward", lambda self, hidden, residual: self.LayerNorm(residual))
    sample = texts(corpus_of(records, len(records)).frame)[:4]
    vectors = encode(sample, encoder=encoder, layers=(-1,), pooling=("mean",), max_length=48, device="cpu")
    for row, text in enumerate(sample):
        np.testing.assert_allclose(vectors[row], _direct(encoder, text, 48)["L-1:mean"], atol=2e-5)
