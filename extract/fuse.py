"""The model `encode` runs: on a CPU, a copy with oneDNN linear layers; elsewhere, the model itself.

Profiling MiniLM on a 2-core AVX-512 CPU showed a quarter of the time outside
the matrix products of ``nn.Linear``: copying the bias into the output before
each product, and a separate pass for GELU. oneDNN's linear op adds the bias,
and applies an exact GELU, inside the product, which measured 15-45% faster per
layer in fp32 and bf16. So on a CPU `prepare_model` returns a copy whose
``nn.Linear`` layers call that op:

- fp32: the copy shares the original's parameters, except that linear
  weights are held pre-packed in oneDNN's layout (extra memory: the linear
  weights once more);
- bf16: the copy is cast to bf16 once (half the memory of fp32),
  which measured faster than autocast, whose casts around every linear layer
  cost more than they save on a CPU. bf16 keeps fp32's exponent range, so
  casting a whole BERT is safe; vectors stay within cosine 0.9999 of fp32.

The residual add of BERT's output blocks is fused the same way. oneDNN
compiles and keeps a kernel, with buffers, per input shape; `encode` pads
batches to multiples of 16 tokens so that a run meets a few dozen shapes. These ops
are private to torch (they are what torch.compile emits on CPUs), so they are
checked once against plain torch on a small input (left out where they
disagree), and the prepared model against the original on a tiny batch (the
original runs where it disagrees). On GPUs (and for fp16, which CPUs only
emulate) the model runs as loaded, under autocast.
"""
from __future__ import annotations

import copy
import inspect
import itertools
import weakref
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, ContextManager

import torch
from torch import nn

from .model import autocast

# One prepared copy per (original model, device, precision), dropped with the original.
_PREPARED: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Rows (tokens) per product that oneDNN picks the packed layout for: about one
# batch of the CPU's default token budget. Any row count still works.
PACK_ROWS = 8192


class OneDNNLinear(nn.Module):
    """``nn.Linear`` (optionally followed by exact GELU) as one oneDNN op, on a pre-packed copy of the weight.

    Packing lays the weight out in oneDNN's blocked format once, instead of
    on every call (5-25% faster per layer, identical results).
    """

    def __init__(self, linear: nn.Linear, activation: str = "none"):
        super().__init__()
        weight = linear.weight.detach()
        self.register_buffer("packed", torch.ops.mkldnn._reorder_linear_weight(weight, PACK_ROWS), persistent=False)
        self.bias = linear.bias
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.activation = activation
        self._algorithm = "none" if activation == "gelu" else ""  # "none": exact (erf) GELU, not the tanh form

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, self.activation, [], self._algorithm)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation}"


class DenseAddNorm(nn.Module):
    """``LayerNorm(dense(x) + residual)``, the residual added inside the oneDNN product.

    Replaces BERT-family ``*Output`` blocks (``dense``, ``dropout``,
    ``LayerNorm``, ``forward(hidden_states, input_tensor)``); dropout is a
    no-op at inference.
    """

    def __init__(self, block: nn.Module):
        super().__init__()
        self.dense = OneDNNLinear(block.dense)
        self.LayerNorm = block.LayerNorm

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        summed = torch.ops.mkldnn._linear_pointwise.binary(hidden_states, input_tensor, self.dense.packed, self.dense.bias, "add")
        return self.LayerNorm(summed)


@lru_cache(maxsize=None)
def onednn_linear_works(dtype: torch.dtype) -> bool:
    """Whether oneDNN's fused linear ops exist here and match plain torch in `dtype` on a small input."""
    if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        return False
    if dtype == torch.bfloat16 and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    generator = torch.Generator().manual_seed(0)
    x, w, b, r = (torch.randn(shape, generator=generator).to(dtype) for shape in ((2, 3, 16), (8, 16), (8,), (2, 3, 8)))
    linear = nn.Linear(16, 8).to(dtype).requires_grad_(False)
    linear.weight.copy_(w)
    linear.bias.copy_(b)
    x32, w32, b32 = x.float(), w.float(), b.float()
    try:
        with torch.inference_mode():
            got = [OneDNNLinear(linear, "gelu")(x).float(),
                   torch.ops.mkldnn._linear_pointwise.binary(x, r, OneDNNLinear(linear).packed, b, "add").float()]
            want = [nn.functional.gelu(nn.functional.linear(x32, w32, b32)), nn.functional.linear(x32, w32, b32) + r.float()]
    except Exception:  # the private ops changed or are missing: use the plain layers
        return False
    tolerance = {"atol": 0.05, "rtol": 0.02} if dtype == torch.bfloat16 else {"atol": 1e-4, "rtol": 1e-4}
    return all(g.shape == w_.shape and torch.allclose(g, w_, **tolerance) for g, w_ in zip(got, want))


def _is_exact_gelu(module) -> bool:
    if isinstance(module, nn.GELU):
        return module.approximate == "none"
    return getattr(module, "act", None) is nn.functional.gelu  # transformers' GELUActivation


def _is_output_block(module: nn.Module) -> bool:
    """A BERT-family ``*Output`` block: dense, dropout, LayerNorm, ``forward(hidden_states, input_tensor)``."""
    if not (isinstance(getattr(module, "dense", None), nn.Linear) and isinstance(getattr(module, "LayerNorm", None), nn.LayerNorm)):
        return False
    try:
        return list(inspect.signature(module.forward).parameters) == ["hidden_states", "input_tensor"]
    except (TypeError, ValueError):
        return False


def _swap_linears(model: nn.Module) -> None:
    """Replace every ``nn.Linear`` by a oneDNN op, with what follows it fused in where the model allows.

    BERT-family blocks are recognised by their attribute names: a feed-forward
    block holds ``dense`` and ``intermediate_act_fn`` (an exact GELU is folded
    into the product), an output block `_is_output_block` (the residual add is).
    """
    for module in list(model.modules()):
        dense, act = getattr(module, "dense", None), getattr(module, "intermediate_act_fn", None)
        if isinstance(dense, nn.Linear) and act is not None and _is_exact_gelu(act):
            module.dense = OneDNNLinear(dense, "gelu")
            module.intermediate_act_fn = nn.Identity()
        for name, child in module.named_children():
            if _is_output_block(child):
                setattr(module, name, DenseAddNorm(child))
            elif type(child) is nn.Linear:
                setattr(module, name, OneDNNLinear(child))


@dataclass(frozen=True)
class Prepared:
    """What `encode` runs: the module, its forward-pass context, and the attention-mask form it takes.

    ``mask_4d``: pass the padding mask as ``(batch, 1, 1, tokens)`` booleans,
    which transformers hands to SDPA as it is; from a 2-D mask it builds a
    ``(batch, 1, tokens, tokens)`` one that SDPA converts again in every layer
    (about 4% of a CPU forward pass).
    """

    module: nn.Module
    context: Callable[[], ContextManager]
    mask_4d: bool = False


def _agrees(prepared: nn.Module, model: nn.Module, mask_4d: bool, precision: str) -> bool:
    """Whether `prepared` gives the original model's token states on a tiny padded batch."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, int(model.config.vocab_size), (2, 9), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    try:
        with torch.inference_mode():
            want = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
            got = prepared(input_ids=ids, attention_mask=mask[:, None, None, :].bool() if mask_4d else mask)
            got = got.last_hidden_state.float()
    except Exception:  # an architecture the surgery or the 4-D mask does not fit
        return False
    real = mask.bool()
    cosine = nn.functional.cosine_similarity(got[real], want[real], dim=-1)
    return got.shape == want.shape and bool(cosine.min() > (0.99 if precision != "fp32" else 0.99999))


def prepare_model(model: nn.Module, device: str, precision: str) -> Prepared:
    """The module `encode` runs for `model` on `device` in `precision`, prepared once and kept.

    On a CPU (bf16 or fp32) that is a copy with `OneDNNLinear` layers, checked
    against the original on a tiny batch; if it disagrees, or elsewhere, the
    original model under autocast.

    Examples
    --------
    >>> prepared = prepare_model(encoder.model, "cpu", "bf16")  # doctest: +SKIP
    >>> with torch.inference_mode(), prepared.context():  # doctest: +SKIP
    ...     output = prepared.module(input_ids=ids, attention_mask=mask)
    """
    model = model.eval().to(device)
    plain = Prepared(model, lambda: autocast(device, precision))
    if device != "cpu" or precision == "fp16":  # fp16 on a CPU: autocast keeps overflow-prone ops in fp32
        return plain
    per_model = _PREPARED.setdefault(model, {})
    if precision not in per_model:
        dtype = _DTYPES[precision]
        if dtype == torch.float32:
            # Map every parameter and buffer to itself: the copy shares them.
            memo = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
            copied = copy.deepcopy(model, memo)
        else:
            copied = copy.deepcopy(model).to(dtype)
        if onednn_linear_works(dtype):
            _swap_linears(copied)
        per_model[precision] = next(
            (Prepared(copied, nullcontext, mask_4d) for mask_4d in (True, False) if _agrees(copied, model, mask_4d, precision)),
            plain,
        )
    return per_model[precision]
