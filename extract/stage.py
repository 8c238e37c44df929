"""`extract`: a frozen encoder's pooled hidden-layer vectors of every record, to one Parquet file.

One feature file per (model, text recipe, layers, pooling, max length,
precision, store dtype, corpus), at ``OUT/features/<model>-<hash>.parquet``
where the hash is taken over all of those. Rerunning with the same inputs
finds the file and reuses it; any change gives a new name, so a stale file is
never read for other settings.

Vectors are made through the per-text cache (`extract.cache`): texts are
encoded in chunks, each chunk saved as soon as it is done, and the feature
file is assembled from the cache and renamed into place at the end. A run
stopped midway (Ctrl-C, kill -9) therefore resumes from its last complete
chunk, and the feature file appears only whole.

Under ``torchrun --nproc-per-node N -m screenstack extract ...`` rank r encodes
chunks r, r + N, ... of the texts missing from the cache, on its own GPU; after
a barrier rank 0 assembles the file (`extract.distributed`). The chunks are the
ones a single process makes, so on CPU the file has the same bytes; with fewer
chunks than ranks, a smaller ``--chunk-size`` gives every rank a share.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from tqdm.auto import tqdm

from ..features.artifacts.atomic import permission_denied, read_parquet_meta
from ..features.records.datasets import CACHE_ENV
from ..features.checks import check_choice, check_int, check_names
from ..features.errors import ScreenstackError
from ..features.artifacts.damage import DamagedArtifact
from ..features.artifacts.runfolder import RunFolder
from .distributed import Ranks, barrier, from_rank0, rank0_locked, rank_device
from .encode import PADDING, Encoder, encode, resolve_batch_tokens
from .model import BUNDLED, DEFAULT_MODEL, PRECISIONS, computed_on, encoder_fingerprint, load_encoder
from .pooling import DEFAULT_LAYERS, DEFAULT_POOLING, POOLINGS

if TYPE_CHECKING:
    from ..features.records.corpus import Corpus

log = logging.getLogger("screenstack")
FEATURES_DIR = "features"
STORE_DTYPES = ("float32", "float16")
# What a record's text is: `features.records.corpus.record_text`. Changing that
# function must change this string, so old caches and files are not reused.
RECIPE = "title. abstract (features.records.corpus.record_text v1)"


@dataclass(frozen=True)
class ExtractConfig:
    """How vectors are made and stored; saved in every feature file's metadata.

    ``layers`` and ``pooling`` are concatenated: for each layer, each pooling.
    The default, the mean of the tokens of each of the last four layers, ranked
    better than the last layer's CLS and mean vectors (the default up to
    0.3.24) for every vector learner and in every regime of the shared
    protocol (bench/README.md, "Four layers' mean vectors"), as the BERT
    paper found for features taken from a frozen encoder.
    ``dtype`` is the forward pass's precision (``auto``: bf16 on a CUDA GPU,
    fp32 elsewhere), ``store_dtype`` the file's.
    ``cache_dir`` None means ``$SCREENSTACK_CACHE``, else ``OUT/../.cache``.
    ``chunk_size`` texts are encoded between two saves to the cache.
    """

    model: str = DEFAULT_MODEL
    layers: tuple[int, ...] = DEFAULT_LAYERS
    pooling: tuple[str, ...] = DEFAULT_POOLING
    max_length: int = 512
    dtype: str = "auto"
    store_dtype: str = "float32"
    batch_tokens: int | str = "auto"
    device: str = "auto"
    cache_dir: str | None = None
    chunk_size: int = 256

    def __post_init__(self):
        """Everything checkable without loading the model; layers and max length against it in `extract_features`."""
        if not isinstance(self.model, str) or not self.model.strip():
            raise ScreenstackError(f"--model {self.model!r}: expected a Hugging Face name, a local folder or minilm.")
        if not isinstance(self.layers, tuple) or not self.layers or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in self.layers):
            raise ScreenstackError(f"--layers {self.layers!r}: expected comma-separated integers (e.g. -1,-2) or lastN.")
        if len(set(self.layers)) != len(self.layers):
            raise ScreenstackError(f"--layers {','.join(map(str, self.layers))}: a layer is listed twice.")
        check_names("pooling", self.pooling, POOLINGS)
        check_int("max-length", self.max_length, 2)
        check_choice("dtype", self.dtype, ("auto", *PRECISIONS))
        check_choice("store-dtype", self.store_dtype, STORE_DTYPES)
        batch = self.batch_tokens
        if batch != "auto" and (isinstance(batch, bool) or not str(batch).isdigit() or int(batch) < 1):
            raise ScreenstackError(f"--batch-tokens {batch!r}: expected auto or a positive integer (e.g. 8192).")
        if not isinstance(self.device, str) or not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise ScreenstackError(f"--device {self.device!r}: expected auto, cpu, cuda, cuda:N or mps.")
        check_int("chunk-size", self.chunk_size, 1)


def short_name(model: str) -> str:
    """A file-name-safe, readable model name: ``minilm``, ``biomednlp-pubmedbert-base-uncased-abstract``."""
    name = model if model in BUNDLED else Path(model.rstrip("/\\")).name
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "model"


def config_from_feature_meta(meta: dict, model: str, *, device: str = "auto", batch_tokens: int | str = "auto",
                             cache_dir: str | None = None) -> ExtractConfig:
    """The config that makes vectors like a feature file's, from its metadata `meta` (as `extract_features` writes
    it): its layers, pooling, max length, precision (as it was resolved: fp32 or bf16, not auto) and store dtype, with
    `model` (the encoder where it is now). `device`, `batch_tokens` and `cache_dir` are this machine's: they leave the
    vectors as they were.

    Examples
    --------
    >>> config_from_feature_meta(read_parquet_meta("run1/features/minilm-0123456789.parquet"), "minilm")  # doctest: +SKIP
    """
    return ExtractConfig(model=model, layers=tuple(meta["layers"]), pooling=tuple(meta["pooling"]),
                         max_length=meta["max_length"], dtype=meta["dtype"], store_dtype=meta["store_dtype"],
                         device=device, batch_tokens=batch_tokens, cache_dir=cache_dir)


def vector_identity(config: ExtractConfig) -> dict:
    """What tells the vectors `config` makes from others before the model is loaded, under the keys of a feature file's
    metadata (`learners.fit.refuse_refits` compares them with a vector learner's feature files): the file's name
    before its hash (the model by `short_name`, not as typed: ./bert and bert make the same file), the layers,
    pooling, max length, store dtype and padding (vectors of 0.3.2 and before, padded to their batch's longest, are
    made again, so learners fitted on them are refused). `extract_features`' ``before_encoding`` adds the rest."""
    return {"file": short_name(config.model), "layers": list(config.layers), "pooling": list(config.pooling),
            "max_length": config.max_length, "store_dtype": config.store_dtype, "padding": PADDING}


def check_model_layers(config: ExtractConfig) -> None:
    """Refuse `config`'s layers where its model lacks them (the default last4 on a 3-layer model), as `extract_features`
    would once it loads the model: for a caller with long work before the extraction (`run --finetune`). The model is
    loaded for it through `load_encoder`, so a model that cannot load is named as extraction names it."""
    from .pooling import check_layers

    check_layers(tuple(config.layers), int(load_encoder(config.model).model.config.num_hidden_layers))


def chunks_to_encode(keys: list[str], text_of: dict, chunk_size: int) -> list[list[str]]:
    """`keys` in chunks of `chunk_size`, longest text first, ties by key: the same missing set always gives the same
    chunks, so a resumed run encodes exactly what the interrupted one would have."""
    ordered = sorted(keys, key=lambda k: (-len(text_of[k]), k))
    return [ordered[start:start + chunk_size] for start in range(0, len(ordered), chunk_size)]


def encode_into_cache(cache, chunks: list[list[str]], text_of: dict, encoder, budget: int, config: ExtractConfig,
                      precision: str, name: str, progress: bool) -> None:
    """Encode the texts of `chunks` (cache keys), saving each chunk to `cache` as it is done, with a progress bar."""
    with tqdm(total=sum(map(len, chunks)), unit="doc", desc=f"extract {name}", disable=not progress or not chunks) as bar:
        for chunk in chunks:
            vectors = encode([text_of[k] for k in chunk], encoder=encoder, batch_tokens=budget, progress=bar)
            _refuse_non_finite(vectors, config, precision)  # before the cache keeps them for every later run
            cache.add(chunk, vectors)


def _refuse_non_finite(vectors: np.ndarray, config: ExtractConfig, precision: str) -> None:
    """Refuse the encoder's NaN or infinite vectors (an overflow at reduced precision, or broken weights) before they are
    cached or reach a learner."""
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        fix = ("--dtype fp32 avoids the overflow of reduced precision" if precision != "fp32"
               else f"check the weights of --model {config.model}")
        raise ScreenstackError(f"--model {config.model}: the encoder gave NaN or infinite vectors for {int(bad.sum())} of "
                               f"{len(vectors)} texts at {precision}; {fix}. Nothing was kept for them.")


def cache_root(config: ExtractConfig, out: str | Path) -> Path:
    """``--cache-dir``, else ``$SCREENSTACK_CACHE``, else ``.cache`` beside the run folder."""
    if config.cache_dir:
        return Path(config.cache_dir).expanduser()
    if os.environ.get(CACHE_ENV):  # `export SCREENSTACK_CACHE="~/cache"` (quoted) means the home folder's, as `datasets` reads it
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(out).resolve().parent / ".cache"


def cache_folder_for(root: Path, name: str, setting: dict) -> Path:
    """The vector cache's folder for `setting` under `root`: ``NAME-DIGEST``, the digest of the setting.

    The name is only for reading: an encoder folder renamed or moved, or given
    by another name, has the same fingerprint, so an existing folder with the
    setting's digest under another name is used rather than encoding every text
    again, if its setting.json says the same and it can be written to; else
    (edited, damaged, another user's) the run's own folder, as before.
    """
    digest = _digest(setting)[:16]
    own = root / f"{name}-{digest}"
    if own.is_dir():
        return own
    from .cache import usable_for

    return next((other for other in sorted(root.glob(f"*-{digest}")) if usable_for(other, setting)), own)


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


@rank0_locked()
def extract_features(corpus: Corpus, out: str | Path, config: ExtractConfig = ExtractConfig(), progress: bool = True,
                     before_encoding: Callable[[dict], None] | None = None) -> Path:
    """Write (or reuse) the feature file of `corpus` under ``OUT/features/`` and return its path.

    `before_encoding` is called with what is known only once the model is loaded (``encoder_fingerprint``:
    weights, config and tokenizer; ``dtype``: the precision resolved for the device), before any text is
    encoded: `run` refuses there the learner outputs its fit stage would refuse after the encoding.

    Examples
    --------
    >>> path = extract_features(load_corpus("train.csv", "test.csv"), "artifacts/run1", ExtractConfig(model="minilm"))  # doctest: +SKIP
    """
    # local: pandas and pyarrow, so that the CLI builds its parser from `ExtractConfig` and `STORE_DTYPES` quickly
    from ..features.artifacts.folds import refuse_other_plan
    from ..features.artifacts.outputs import package_versions, refuse_other_test
    from ..features.artifacts.store import write_run_vectors
    from ..features.records.corpus import texts
    from .cache import DamagedChunk, VectorCache, text_key

    def refuse_other_records() -> None:  # fit-learners would, once every text was encoded into OUT
        refuse_other_plan(corpus, out, None, say=False)  # the training records alone: the vectors take no fold options
        refuse_other_test(out, corpus)

    from_rank0(refuse_other_records)
    # Device, precision, layers, poolings and max length are resolved and checked against the model once, here.
    ranks = Ranks.from_env()
    encoder = Encoder.build(load_encoder(config.model), device=rank_device(config.device, ranks), precision=config.dtype,
                            layers=config.layers, pooling=config.pooling, max_length=config.max_length)
    device, precision = encoder.device, encoder.precision
    budget = resolve_batch_tokens(config.batch_tokens, device)

    frame = corpus.frame
    record_texts = texts(frame)
    keys = [text_key(t) for t in record_texts]
    setting = {  # everything that decides one text's vector
        "encoder": encoder_fingerprint(encoder.loaded), "recipe": RECIPE, "layers": list(config.layers),
        "pooling": list(config.pooling), "max_length": config.max_length, "dtype": precision,
        "padding": PADDING,  # vectors padded otherwise (0.3.2 and before: to the batch's longest) are not mixed in
    }
    if before_encoding is not None:
        before_encoding({"encoder_fingerprint": setting["encoder"], "dtype": precision})
    text_hash = _digest([frame["id"].astype(str).tolist(), frame["split"].tolist(), keys])
    identity = {**setting, "store_dtype": config.store_dtype, "text_hash": text_hash,
                "train_fingerprint": corpus.fingerprint("train"), "test_fingerprint": corpus.fingerprint("test")}
    config_hash = _digest(identity)
    name = short_name(config.model)
    run = RunFolder(out)
    path = run.features_dir / f"{name}-{config_hash[:10]}.parquet"
    # The cache also keeps apart vectors computed elsewhere (another CPU's instruction set, a GPU, another torch): a
    # feature file's vectors are those this machine computes, whoever filled the cache. Rank 0 decides: another rank
    # looking later would find the run's own folder that rank 0 made meanwhile.
    cached = {**setting, "computed_on": computed_on(device)}
    cache_folder = from_rank0(lambda: cache_folder_for(cache_root(config, out), name, cached))

    def reusable() -> bool:  # on rank 0: its answer, or its refusal, is every rank's
        if path.is_file():
            damaged = "is damaged (truncated or changed since it was written)"
            try:
                run.verify(f"{FEATURES_DIR}/{path.name}", "")  # damaged (truncated, changed): made again below
                made_otherwise = read_parquet_meta(path).get("config_hash") != config_hash
            except PermissionError as error:  # not damage: said as what it is, not replaced (a helper's chmod 000 file was)
                raise permission_denied(path, error) from None
            except Exception as error:  # unreadable: made again below
                made_otherwise = None
                if error.__class__ is DamagedArtifact and Path(error.path) != path:  # its record, not the file itself
                    damaged = f"its record {error.path} is damaged ({error.reason})"
            if made_otherwise is False:
                return True
            log.warning("extract: %s exists but %s; making it again", path, "was made otherwise" if made_otherwise else damaged)
        VectorCache(cache_folder, cached)  # first, so the other ranks find its setting.json written
        return False

    if from_rank0(reusable):
        log.info("extract: %s already holds these vectors (same model, settings and corpus); reusing it", path)
        return path

    cache = VectorCache(cache_folder, cached)
    text_of = dict(zip(keys, record_texts))
    todo = cache.missing(keys)
    if todo:
        cache.check_writable()  # a read-only cache is refused now, not after the first chunk is encoded
    from_rank0(lambda: run.check_places(FEATURES_DIR))  # and the folder the feature file moves into, not at its commit
    barrier()  # every rank has listed the missing texts before any writes a chunk, so all agree on the list
    n_unique = len(set(keys))
    log.info("extract: %d records, %d distinct texts: %d in the cache, %d to encode on %s (%s, batches of %d tokens)",
             len(keys), n_unique, n_unique - len(todo), len(todo), device, precision, budget)
    started = time.perf_counter()
    # With several ranks, rank r encodes chunks r, r + N, ...: the same chunks, so the same vectors, as one process.
    chunks = chunks_to_encode(todo, text_of, config.chunk_size)[ranks.rank::ranks.world]
    mine = sum(map(len, chunks))
    encode_into_cache(cache, chunks, text_of, encoder, budget, config, precision, name, progress)
    if mine:
        seconds = time.perf_counter() - started
        log.info("extract: encoded %d texts in %.1f s (%.1f docs/s)%s", mine, seconds, mine / max(seconds, 1e-9),
                 f" on {ranks}" if ranks.world > 1 else "")
    barrier()  # every shard is in the cache
    if not ranks.main:
        return path
    if ranks.world > 1:
        cache = VectorCache(cache_folder, cached)  # read again: its index holds only this rank's chunks

    try:
        matrix = cache.gather(keys, np.empty((len(keys), encoder.width), dtype=np.float32))
    except DamagedChunk as damaged:  # found reading it back: its texts encoded again now, not on a rerun
        log.warning("extract: %s; its texts are encoded again", damaged)
        encode_into_cache(cache, chunks_to_encode(cache.missing(keys), text_of, config.chunk_size), text_of, encoder, budget,
                          config, precision, name, progress)
        try:
            matrix = cache.gather(keys, np.empty((len(keys), encoder.width), dtype=np.float32))
        except DamagedChunk as again:  # twice in one command: not a chunk, the disk or another process
            raise ScreenstackError(f"{again}, once more after its texts were encoded again: check the disk under "
                                   f"{cache.folder} and that no other process writes there, then run the same command "
                                   "again.") from None
    if len(set(keys)) > 1 and not np.ptp(matrix, axis=0).any():  # e.g. --max-length 2: [CLS] [SEP] and no word
        log.warning("extract: every record got the same vector (--max-length %d leaves %d tokens of text), so vector "
                    "learners can rank nothing; raise --max-length", config.max_length, max(config.max_length - 2, 0))
    meta = {
        "stage": "extract", "config_hash": config_hash, "config": {k: v for k, v in asdict(config).items() if k != "cache_dir"},
        "model": config.model, "model_path": encoder.loaded.path, "weights_hash": encoder.loaded.weights_hash,
        "encoder_fingerprint": setting["encoder"], "recipe": RECIPE, "layers": list(config.layers),
        "pooling": list(config.pooling), "padding": PADDING, "blocks": encoder.block_names,
        "hidden_size": encoder.hidden_size, "max_length": config.max_length, "dtype": precision,
        "store_dtype": config.store_dtype, "device": device, "batch_tokens": budget, "text_hash": text_hash,
        "train_fingerprint": identity["train_fingerprint"], "test_fingerprint": identity["test_fingerprint"],
        "n_train": int((frame["split"] == "train").sum()), "n_test": int((frame["split"] == "test").sum()),
        "versions": package_versions(),
    }
    with np.errstate(over="ignore"):  # an overflow is refused below, in words
        stored = matrix.astype(config.store_dtype, copy=False)
    if not np.isfinite(stored).all():
        raise ScreenstackError(f"--store-dtype {config.store_dtype}: {int(np.sum(~np.isfinite(stored)))} vector values "
                               f"exceed its range (largest {float(np.abs(matrix).max()):.3g}), so nothing was written. "
                               "Use --store-dtype float32.")
    write_run_vectors(out, path, frame["id"].astype(str), frame["split"], stored, meta)
    log.info("extract: wrote %s (%d x %d, %s)", path, *matrix.shape, config.store_dtype)
    return path
