"""The one entry point from texts to pooled vectors: `encode`.

How it is fast, in order of effect on a CPU:

- texts are sorted by length and batched by a *token budget* (batch size x
  longest text <= ``batch_tokens``), each text padded only to a multiple of 16
  tokens (`PADDING`) in a batch of texts of its width, so short texts do not
  pay for 512 positions and attention (quadratic in length) runs on tight
  batches;
- on a CPU, linear layers run as oneDNN ops with bias and GELU fused in, and
  bf16 runs on a bf16 copy of the weights (`extract.fuse`); on a GPU one
  autocast context wraps the loop;
- one ``torch.inference_mode`` context; SDPA attention where the architecture has it (`load_encoder`);
- a background thread tokenises and pads the next batches while the model
  runs the current one.

Only the pooled vectors are kept: hidden states live for one batch.

What `encode` runs is an `Encoder`: the loaded model with its device,
precision, layers, poolings and maximum length resolved and checked once, by
`Encoder.build`; the `extract` stage builds one and reads its settings for the
feature file's metadata.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..features.errors import ScreenstackError
from ..features.checks import check_names
from .model import LoadedEncoder, Precision, check_max_length, max_positions, resolve_device, runtime_precision
from .pooling import POOLINGS, block_names, check_layers, pool

# Token budget per batch when --batch-tokens is auto. On a CPU a budget of a
# few thousand tokens keeps a layer's activations in cache-friendly sizes
# (bench/extract.py measured 4k-16k within noise); GPUs want large batches.
AUTO_BATCH_TOKENS = {"cpu": 8192, "mps": 8192, "cuda": 65536}
# Texts tokenised together by the background thread. Texts arrive sorted by
# character length, so a window holds texts of similar token length.
WINDOW = 256
PREFETCH = 4
# Batches are padded to a multiple of this many tokens, so a run meets a few
# dozen tensor shapes rather than hundreds: oneDNN keeps a compiled kernel
# (and its buffers) per shape, which grew memory with every new shape.
PAD_MULTIPLE = 16
# How texts are padded, part of the vector cache's setting (`extract.stage`): each text to its own
# width (`batch_widths`), batched only with texts of that same width. A text padded to its batch's longest
# got vectors that moved by up to 1.4e-6 with its neighbours, so --batch-tokens, --chunk-size and
# what the cache already held changed the bytes; with its own width, the vectors are the same bytes
# on CPU however texts are batched (tests/extract/test_encode.py).
PADDING = f"each text to a multiple of {PAD_MULTIPLE} tokens"


@dataclass(frozen=True)
class Encoder:
    """A loaded encoder and how it encodes, resolved once by `Encoder.build`.

    ``device`` is a concrete device (never ``auto``), ``precision`` the forward
    pass's precision, ``layers`` the hidden layers as given (-1 the last) and
    ``layer_indices`` the same as indices of ``hidden_states``; ``pooling``
    names from `extract.pooling.POOLINGS`; ``max_length`` the token limit texts
    are cut to, at most ``limit``, the longest input the model reads.
    """

    loaded: LoadedEncoder
    device: str
    precision: Precision
    layers: tuple[int, ...]
    layer_indices: tuple[int, ...]
    pooling: tuple[str, ...]
    max_length: int
    limit: int

    @classmethod
    def build(cls, loaded: LoadedEncoder, *, device: str = "auto", precision: Precision | str = "auto",
              layers: Sequence[int] = (-1,), pooling: Sequence[str] = ("cls",), max_length: int | None = None) -> "Encoder":
        """Resolve and check every setting against the model; bad values raise `ScreenstackError` naming the fix.

        Args:
            loaded: from `load_encoder`.
            device: ``auto`` (`resolve_device`), ``cpu``, ``cuda[:N]`` or ``mps``.
            precision: ``auto`` (`resolve_precision`: fp32 on CPU), ``fp32``, ``bf16`` or ``fp16``.
            layers: hidden layers to pool, -1 the last; 0 is the embedding output.
            pooling: names from `extract.pooling.POOLINGS`, concatenated in order.
            max_length: texts are cut to this many tokens; None: as many as the model reads.

        Example:
            >>> encoder = Encoder.build(load_encoder("minilm"), device="cpu", pooling=("mean",))  # doctest: +SKIP
        """
        device = resolve_device(device)
        precision = runtime_precision(precision, device)
        limit = max_positions(loaded)
        max_length = limit if max_length is None else max_length
        check_max_length(loaded, max_length)
        indices = check_layers(tuple(layers), int(loaded.model.config.num_hidden_layers))
        pooling = tuple(pooling)
        check_names("pooling", pooling, POOLINGS)
        return cls(loaded, device, precision, tuple(layers), indices, pooling, int(max_length), limit)

    @property
    def hidden_size(self) -> int:
        return int(self.loaded.model.config.hidden_size)

    @property
    def width(self) -> int:
        """Columns of a vector: one block of `hidden_size` per layer and pooling."""
        return len(self.layers) * len(self.pooling) * self.hidden_size

    @property
    def block_names(self) -> list[str]:
        """``["L-1:cls", "L-1:mean", ...]``: the blocks of a vector, in column order."""
        return block_names(self.layers, self.pooling)


def resolve_batch_tokens(batch_tokens: int | str, device: str) -> int:
    """``"auto"`` -> the device's default budget; an integer must be positive."""
    if batch_tokens == "auto":
        return AUTO_BATCH_TOKENS[device.split(":")[0]]
    try:
        value = int(batch_tokens)
    except (TypeError, ValueError):
        raise ScreenstackError(f"--batch-tokens {batch_tokens!r}: expected auto or a positive integer (e.g. 8192).") from None
    if value < 1:
        raise ScreenstackError(f"--batch-tokens {value}: must be at least 1 (auto picks one for the device).")
    return value


def plan_batches(widths: np.ndarray, batch_tokens: int) -> list[np.ndarray]:
    """Cut texts of padded `widths` (`batch_widths`) into batches, widest first, each of texts of one width,
    count x width <= `batch_tokens`.

    A text's width is its own, never its neighbours', so its vector does not
    depend on them (`PADDING`). A text wider than the budget gets a batch of
    its own. Ties keep input order, so the plan is deterministic.

    Examples
    --------
    >>> [b.tolist() for b in plan_batches(batch_widths([3, 5, 2, 5]), 10)]
    [[1, 3], [0], [2]]
    """
    order = np.argsort(-widths, kind="stable")
    descending = -widths[order]  # ascending, for searchsorted
    batches, start = [], 0
    while start < len(order):
        width = int(widths[order[start]])
        same = int(np.searchsorted(descending, -width, side="right"))  # the end of this width's run
        count = max(1, batch_tokens // width)
        batches.append(order[start:min(start + count, same)])
        start += len(batches[-1])
    return batches


def batch_widths(lengths: Sequence[int], limit: int | None = None) -> np.ndarray:
    """Each text's padded width: its token count rounded up to a multiple of `PAD_MULTIPLE` but not past `limit`,
    or without `limit` the count itself (at least 1)."""
    lengths = np.maximum(np.asarray(lengths, dtype=np.int64), 1)
    if not limit:
        return lengths
    return np.maximum(lengths, np.minimum(-(-lengths // PAD_MULTIPLE) * PAD_MULTIPLE, limit))


def pad_token_ids(sequences: Sequence[Sequence[int]], width: int, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad (or cut) each token id sequence to `width`: int64 ``(input_ids, attention_mask)`` arrays."""
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        n = min(len(seq), width)
        ids[row, :n] = seq[:n]
        mask[row, :n] = 1
    return ids, mask


def _batches(texts: Sequence[str], tokenizer, max_length: int, limit: int, batch_tokens: int, pin: bool) -> Iterator:
    """Yield ``(indices, input_ids, attention_mask)`` batches covering every text once.

    Texts go through in order of character length, WINDOW at a time; each
    window is tokenised, joined with the texts left over from the previous
    window, and cut as `plan_batches` cuts. The last, partly filled batch of a
    window waits for the next one, so only the final batch runs under-full.
    """
    import torch

    order = np.argsort(-np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)), kind="stable")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    pending_index: list[int] = []
    pending_ids: list[list[int]] = []
    for start in range(0, len(order), WINDOW):
        window = order[start:start + WINDOW]
        ids = tokenizer([texts[i] for i in window], truncation=True, max_length=max_length,
                        return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        pending_index += window.tolist()
        pending_ids += ids
        last = start + WINDOW >= len(order)
        widths = batch_widths([len(s) for s in pending_ids], limit)
        plan = plan_batches(widths, batch_tokens)
        # A batch short of its width's budget waits for the next window's texts of that width (all run at the end).
        full = [last or len(batch) >= max(1, batch_tokens // int(widths[batch[0]])) for batch in plan]
        for batch in (b for b, done in zip(plan, full) if done):
            sequences = [pending_ids[j] for j in batch]
            input_ids, mask = map(torch.from_numpy, pad_token_ids(sequences, int(widths[batch[0]]), pad_id))
            if pin:
                input_ids, mask = input_ids.pin_memory(), mask.pin_memory()
            yield np.asarray([pending_index[j] for j in batch]), input_ids, mask
        rest = [j for b, done in zip(plan, full) if not done for j in b.tolist()]
        pending_index = [pending_index[j] for j in rest]
        pending_ids = [pending_ids[j] for j in rest]


class _Prefetch:
    """Run an iterator in a daemon thread, `PREFETCH` items ahead; errors re-raise in the caller.

    Daemon, and stopped through an event when the caller leaves early, so
    Ctrl-C or an error in the model never waits on the tokeniser.
    """

    _DONE = object()

    def __init__(self, iterable: Iterable):
        self._queue: queue.Queue = queue.Queue(maxsize=PREFETCH)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iter(iterable),), daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, iterator: Iterator) -> None:
        try:
            for item in iterator:
                if not self._put(item):
                    return
            self._put(self._DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            self._put(error)

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()


def encode(
    texts: Sequence[str],
    *,
    encoder: Encoder | LoadedEncoder,
    batch_tokens: int | str = "auto",
    device: str | None = None,
    precision: Precision | str | None = None,
    layers: Sequence[int] | None = None,
    pooling: Sequence[str] | None = None,
    max_length: int | None = None,
    progress: bool | tqdm = False,
) -> np.ndarray:
    """Pooled hidden-layer vectors of `texts`, in input order.

    Texts run longest first, in batches of one padded width (each text padded to
    a multiple of 16 tokens, `PADDING`), under inference mode; each batch's
    vectors go to the CPU at once.

    Args:
        texts: record texts (e.g. ``features.records.corpus.texts(frame)``).
        encoder: an `Encoder`, or a `LoadedEncoder` with the settings below,
            which `Encoder.build` resolves (unset ones take its defaults).
        batch_tokens: token budget per batch (count x longest text), or ``"auto"``.
        device, precision, layers, pooling, max_length: see `Encoder.build`;
            only with a `LoadedEncoder`, since an `Encoder` carries its own.
        progress: show a bar, or a tqdm bar to advance.

    Returns:
        float32 array ``(len(texts), len(layers) * len(pooling) * hidden)``:
        for each layer, for each pooling, one block.

    Example:
        >>> vectors = encode(["ACE inhibitors in heart failure."], encoder=load_encoder("minilm"), device="cpu")  # doctest: +SKIP
    """
    import torch  # here, not at the top: the command line imports this module and must start fast

    from .fuse import prepare_model

    settings = {"device": device, "precision": precision, "layers": layers, "pooling": pooling, "max_length": max_length}
    settings = {key: value for key, value in settings.items() if value is not None}
    if isinstance(encoder, LoadedEncoder):
        encoder = Encoder.build(encoder, **settings)
    elif settings:
        raise TypeError(f"encode: {', '.join(settings)} come from the Encoder; build another Encoder to change them.")
    device = encoder.device
    budget = resolve_batch_tokens(batch_tokens, device)
    poolings = tuple(POOLINGS[name] for name in encoder.pooling)
    n_layers = int(encoder.loaded.model.config.num_hidden_layers)
    indices = encoder.layer_indices
    all_states = indices != (n_layers,)  # the last layer alone needs no tuple of every layer's states
    vectors = np.empty((len(texts), encoder.width), dtype=np.float32)
    if not len(texts):
        return vectors
    prepared = prepare_model(encoder.loaded.model, device, encoder.precision)
    model = prepared.module
    bar = progress if isinstance(progress, tqdm) else tqdm(total=len(texts), unit="doc", desc="encode", disable=not progress)
    batches = _Prefetch(_batches(texts, encoder.loaded.tokenizer, encoder.max_length, encoder.limit, budget,
                                 pin=device.startswith("cuda")))
    try:
        with torch.inference_mode(), prepared.context():
            for index, input_ids, mask in batches:
                input_ids = input_ids.to(device, non_blocking=True)
                mask = mask.to(device, non_blocking=True)
                model_mask = mask[:, None, None, :].bool() if prepared.mask_4d else mask
                output = model(input_ids=input_ids, attention_mask=model_mask, output_hidden_states=all_states)
                states = output.hidden_states if all_states else {n_layers: output.last_hidden_state}
                vectors[index] = pool(states, mask, indices, poolings).cpu().numpy()
                bar.update(len(index))
    finally:
        batches.close()
        if bar is not progress:
            bar.close()
    return vectors
